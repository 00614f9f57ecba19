"""models/linking.py on both backends: code normalisation, expiry, single use, lockout, relinking and
binding a LINE group to a planning group. The clock is a FixedClock; nothing sleeps."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlmodel import Session, select
from support import seed_office

from models import (
    AuditLog,
    ChatBinding,
    LinkCode,
    LinkRateWindow,
    LinkThrottle,
    LinkThrottleTrip,
    Person,
    linking,
)
from models.linking import (
    ALPHABET,
    CODE_TTL,
    LOCKOUT,
    MAX_FAILURES,
    RATE_WINDOW,
    WINDOW_RETENTION,
    LinkLimits,
    LinkResult,
    ThrottleScope,
    account_hash,
    create_link_code,
    format_code,
    link_throttle_overview,
    linked_person,
    looks_like_code,
    normalize_code,
    redeem_link_code,
    sender_of,
    throttle_trips,
)
from models.types import ChatType, Reachability
from scheduler.clock import FixedClock

U1 = "U" + "a" * 32
U2 = "U" + "b" * 32
GROUP = "C" + "c" * 32


# --- pure parts ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "ABCD-2345",
        "abcd-2345",
        "AbCd2345",
        " abcd 2345 ",
        "ABCD_2345",
        "ABCD.2345",
        "AB CD-23 45",
        "abcd-๒๓๔๕",  # Thai digits
        "ABCD\u200b2345",  # a zero-width space pasted from a chat
        "ABCD\t2345\n",
    ],
)
def test_normalize_code_accepts_what_people_type(typed: str) -> None:
    assert normalize_code(typed) == "ABCD2345"
    assert looks_like_code(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "ABCD-234",  # too short
        "ABCD-23456",  # too long
        "ABCD-2340",  # 0 is not in the alphabet
        "ABCD-O345",  # nor O
        "ABCD-1345",  # nor 1, I, L
        "ABCI-2345",
        "ABCL-2345",
        "ลงทะเบียน",
        "ABCD-๒๓๔๐",  # Thai zero maps to 0, which is not in the alphabet
    ],
)
def test_normalize_code_refuses_non_codes(typed: str) -> None:
    assert normalize_code(typed) is None
    assert not looks_like_code(typed)


def test_format_code_and_alphabet_have_no_look_alikes() -> None:
    assert format_code("ABCD2345") == "ABCD-2345"
    assert not set("0O1IL") & set(ALPHABET)


# --- with a database -------------------------------------------------------------------------------

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def seeded(engine):
    return seed_office(engine, today=date(2026, 11, 2))


def _code(engine, clock, *, person=None, office=None) -> str:
    with Session(engine) as s:
        code = create_link_code(s, now=clock.now(), created_by="test", person=person, office=office)
        s.commit()
    return code


def _redeem(engine, clock, text, user=U1, **kw):
    with Session(engine, expire_on_commit=False) as s:
        outcome = redeem_link_code(s, text=text, line_user_id=user, now=clock.now(), **kw)
        s.commit()
    return outcome


def test_create_stores_only_a_hash_and_audits(engine, seeded, clock) -> None:
    code = _code(engine, clock, person=seeded.teacher)
    assert len(code) == 9 and code[4] == "-" and normalize_code(code) == code.replace("-", "")
    with Session(engine) as s:
        row = s.exec(select(LinkCode)).one()
        assert normalize_code(code) not in row.code_hash and len(row.code_hash) == 64
        assert row.person_id == seeded.teacher.id and row.office_id is None
        assert row.expires_at == T0 + CODE_TTL
        audit = s.exec(select(AuditLog).where(AuditLog.action == "link_code_created")).one()
        assert audit.entity_type == "person" and audit.entity_id == str(seeded.teacher.id)
        assert audit.actor == "test"


def test_create_needs_exactly_one_target(engine, seeded, clock) -> None:
    with Session(engine) as s, pytest.raises(ValueError):
        create_link_code(s, now=clock.now(), created_by="t", person=seeded.teacher, office=seeded.office)
    with Session(engine) as s, pytest.raises(ValueError):
        create_link_code(s, now=clock.now(), created_by="t")


def test_redeem_links_the_person_in_any_typed_form(engine, seeded, clock) -> None:
    code = _code(engine, clock, person=seeded.teacher)
    typed = " " + code.lower().replace("-", " ") + " "
    outcome = _redeem(engine, clock, typed)
    assert outcome.result is LinkResult.LINKED
    assert outcome.person is not None and outcome.person.id == seeded.teacher.id
    assert outcome.office is not None and outcome.office.id == seeded.school.id
    with Session(engine) as s:
        teacher = s.get(Person, seeded.teacher.id)
        assert teacher.line_user_id == U1
        assert teacher.reachability == Reachability.FOLLOWING
        assert teacher.linked_at == T0
        assert linked_person(s, U1).id == seeded.teacher.id
        row = s.exec(select(LinkCode)).one()
        assert row.used_at == T0 and row.used_by == U1
        assert s.exec(select(AuditLog).where(AuditLog.action == "linked")).one().actor_person_id == teacher.id


def test_code_expires_after_fourteen_days(engine, seeded, clock) -> None:
    code = _code(engine, clock, person=seeded.teacher)
    clock.advance(CODE_TTL)  # expires_at > now is required: at the very instant it is gone
    outcome = _redeem(engine, clock, code)
    assert outcome.result is LinkResult.WRONG
    assert outcome.tries_left == MAX_FAILURES - 1

    fresh = _code(engine, clock, person=seeded.teacher)
    clock.advance(CODE_TTL - timedelta(seconds=1))
    assert _redeem(engine, clock, fresh).result is LinkResult.LINKED


def test_code_is_single_use(engine, seeded, clock) -> None:
    code = _code(engine, clock, person=seeded.teacher)
    assert _redeem(engine, clock, code, user=U1).result is LinkResult.LINKED
    second = _redeem(engine, clock, code, user=U2)
    assert second.result is LinkResult.WRONG
    with Session(engine) as s:
        assert s.get(Person, seeded.teacher.id).line_user_id == U1


def test_five_wrong_tries_lock_out_for_fifteen_minutes(engine, seeded, clock) -> None:
    good = _code(engine, clock, person=seeded.teacher)
    tries_left = [_redeem(engine, clock, "ZZZZ-9999").tries_left for _ in range(MAX_FAILURES - 1)]
    assert tries_left == [4, 3, 2, 1]
    locked = _redeem(engine, clock, "ZZZZ-9998")
    assert locked.result is LinkResult.LOCKED
    assert locked.locked_minutes == 15

    # Even the right code is refused while locked, and another user is not affected.
    clock.advance(LOCKOUT - timedelta(minutes=1))
    still = _redeem(engine, clock, good)
    assert still.result is LinkResult.LOCKED and still.locked_minutes == 1
    other = _code(engine, clock, person=seeded.director)
    assert _redeem(engine, clock, other, user=U2).result is LinkResult.LINKED

    clock.advance(timedelta(minutes=1))
    assert _redeem(engine, clock, good).result is LinkResult.LINKED
    with Session(engine) as s:
        throttle = s.get(LinkThrottle, U1)
        assert throttle.failures == 0 and throttle.locked_until is None


def test_wrong_tries_spread_over_more_than_the_window_do_not_lock(engine, seeded, clock) -> None:
    for _ in range(MAX_FAILURES - 1):
        _redeem(engine, clock, "ZZZZ-9999")
    clock.advance(LOCKOUT + timedelta(seconds=1))
    outcome = _redeem(engine, clock, "ZZZZ-9999")
    assert outcome.result is LinkResult.WRONG
    assert outcome.tries_left == MAX_FAILURES - 1


def test_text_that_is_not_a_code_counts_as_a_wrong_try(engine, seeded, clock) -> None:
    outcome = _redeem(engine, clock, "สวัสดีค่ะ")
    assert outcome.result is LinkResult.WRONG and outcome.tries_left == MAX_FAILURES - 1


def test_linking_revokes_the_persons_other_codes(engine, seeded, clock) -> None:
    first = _code(engine, clock, person=seeded.teacher)
    second = _code(engine, clock, person=seeded.teacher)
    assert _redeem(engine, clock, first, user=U1).result is LinkResult.LINKED
    outcome = _redeem(engine, clock, second, user=U2)
    # A revoked code answers exactly like a wrong one (issue 13 item 10): it tells a guesser nothing.
    assert outcome == _redeem(engine, clock, "ZZZZ-9999", user=U1 + "x")
    assert outcome.result is LinkResult.WRONG and outcome.tries_left == MAX_FAILURES - 1
    with Session(engine) as s:
        assert s.get(Person, seeded.teacher.id).line_user_id == U1
        revoked = s.exec(select(LinkCode).where(LinkCode.revoked_at.is_not(None))).all()  # type: ignore[union-attr]
        assert len(revoked) == 1


def test_a_new_code_moves_a_linked_person_to_another_account(engine, seeded, clock) -> None:
    assert (
        _redeem(engine, clock, _code(engine, clock, person=seeded.teacher), user=U1).result
        is LinkResult.LINKED
    )
    clock.advance(timedelta(days=1))
    outcome = _redeem(engine, clock, _code(engine, clock, person=seeded.teacher), user=U2)
    assert outcome.result is LinkResult.LINKED
    with Session(engine) as s:
        teacher = s.get(Person, seeded.teacher.id)
        assert teacher.line_user_id == U2
        assert linked_person(s, U1) is None
        assert s.exec(select(AuditLog).where(AuditLog.action == "relinked")).one().entity_id == str(
            teacher.id
        )


def test_one_line_account_links_one_person(engine, seeded, clock) -> None:
    assert (
        _redeem(engine, clock, _code(engine, clock, person=seeded.teacher), user=U1).result
        is LinkResult.LINKED
    )
    director_code = _code(engine, clock, person=seeded.director)
    outcome = _redeem(engine, clock, director_code, user=U1)
    assert outcome.result is LinkResult.ACCOUNT_ALREADY_LINKED
    assert outcome.person is not None and outcome.person.id == seeded.teacher.id
    with Session(engine) as s:
        assert s.get(Person, seeded.director.id).line_user_id is None
    # The refused code was not consumed: the director can still use it from their own account.
    assert _redeem(engine, clock, director_code, user=U2).result is LinkResult.LINKED


def test_person_code_typed_in_a_group_is_refused_and_kept(engine, seeded, clock) -> None:
    code = _code(engine, clock, person=seeded.teacher)
    outcome = _redeem(engine, clock, code, chat_id=GROUP, chat_type=ChatType.GROUP)
    assert outcome.result is LinkResult.PERSON_CODE_IN_GROUP
    assert _redeem(engine, clock, code).result is LinkResult.LINKED


def test_group_code_binds_the_group_to_the_planning_group(engine, seeded, clock) -> None:
    code = _code(engine, clock, office=seeded.planning)
    assert _redeem(engine, clock, code).result is LinkResult.GROUP_CODE_IN_PRIVATE_CHAT
    outcome = _redeem(engine, clock, code, chat_id=GROUP, chat_type=ChatType.GROUP)
    assert outcome.result is LinkResult.GROUP_BOUND
    assert outcome.office is not None and outcome.office.id == seeded.planning.id
    with Session(engine) as s:
        binding = s.exec(select(ChatBinding)).one()
        assert (binding.chat_id, binding.office_id, binding.active) == (GROUP, seeded.planning.id, True)
        assert binding.chat_type == ChatType.GROUP
        assert s.exec(select(AuditLog).where(AuditLog.action == "group_bound")).one().entity_id == str(
            seeded.planning.id
        )
        # binding a group links nobody
        assert linked_person(s, U1) is None
    # single use for groups too
    again = _redeem(engine, clock, code, chat_id=GROUP, chat_type=ChatType.GROUP)
    assert again.result is LinkResult.WRONG


def test_group_already_bound_and_rebinding_after_leaving(engine, seeded, clock) -> None:
    first = _code(engine, clock, office=seeded.planning)
    assert _redeem(engine, clock, first, chat_id=GROUP).result is LinkResult.GROUP_BOUND
    second = _code(engine, clock, office=seeded.planning)
    assert _redeem(engine, clock, second, chat_id=GROUP).result is LinkResult.GROUP_ALREADY_BOUND

    with Session(engine) as s:  # the bot was removed from the group
        binding = s.exec(select(ChatBinding)).one()
        binding.active = False
        binding.left_at = clock.now()
        s.add(binding)
        s.commit()
    clock.advance(timedelta(hours=1))
    other = _code(engine, clock, office=seeded.office)
    outcome = _redeem(engine, clock, other, chat_id=GROUP, chat_type=ChatType.ROOM)
    assert outcome.result is LinkResult.GROUP_BOUND
    with Session(engine) as s:
        binding = s.exec(select(ChatBinding)).one()  # the same row, re-pointed
        assert binding.active and binding.left_at is None
        assert binding.office_id == seeded.office.id
        assert binding.bound_at == clock.now()


def test_a_right_code_clears_earlier_wrong_tries(engine, seeded, clock) -> None:
    for _ in range(MAX_FAILURES - 1):
        _redeem(engine, clock, "ZZZZ-9999")
    assert _redeem(engine, clock, _code(engine, clock, office=seeded.planning), chat_id=GROUP).result is (
        LinkResult.GROUP_BOUND
    )
    assert _redeem(engine, clock, "ZZZZ-9999").tries_left == MAX_FAILURES - 1


# --- two redeemers at once (issue 13 item 6) --------------------------------------------------------


def _at_once(engine, clock, monkeypatch, attempts):
    """Run each (text, user, kwargs) redemption in its own thread and session, all of them having
    read their code before any tries to take it; returns the outcomes in the same order."""
    barrier = threading.Barrier(len(attempts), timeout=20)
    real = linking._claim_code

    def claim(*args, **kwargs):
        barrier.wait()  # every redeemer has found its code usable; now they all try to take it
        return real(*args, **kwargs)

    monkeypatch.setattr(linking, "_claim_code", claim)
    outcomes: list[object] = [None] * len(attempts)

    def run(index: int, text: str, user: str, kwargs: dict) -> None:
        try:
            outcomes[index] = _redeem(engine, clock, text, user=user, **kwargs)
        except BaseException as error:  # reported below, in the test's thread
            outcomes[index] = error

    threads = [
        threading.Thread(target=run, args=(i, text, user, kw)) for i, (text, user, kw) in enumerate(attempts)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return outcomes


def test_one_code_redeemed_by_two_accounts_at_once_links_exactly_one(
    engine, seeded, clock, monkeypatch
) -> None:
    code = _code(engine, clock, person=seeded.teacher)
    outcomes = _at_once(engine, clock, monkeypatch, [(code, U1, {}), (code, U2, {})])
    results = sorted(o.result for o in outcomes)
    assert results == [LinkResult.LINKED, LinkResult.WRONG]
    winner = (U1, U2)[[o.result for o in outcomes].index(LinkResult.LINKED)]
    loser = outcomes[[o.result for o in outcomes].index(LinkResult.WRONG)]
    # The loser is answered like anyone sending a used code, and the try counts like one.
    assert loser.tries_left == MAX_FAILURES - 1
    with Session(engine) as s:
        assert s.get(Person, seeded.teacher.id).line_user_id == winner
        assert s.exec(select(LinkCode)).one().used_by == winner
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "linked")).all()) == 1


def test_two_codes_of_one_person_redeemed_at_once_link_exactly_one(
    engine, seeded, clock, monkeypatch
) -> None:
    first = _code(engine, clock, person=seeded.teacher)
    second = _code(engine, clock, person=seeded.teacher)
    outcomes = _at_once(engine, clock, monkeypatch, [(first, U1, {}), (second, U2, {})])
    assert sorted(o.result for o in outcomes) == [LinkResult.LINKED, LinkResult.WRONG]
    winner = (U1, U2)[[o.result for o in outcomes].index(LinkResult.LINKED)]
    with Session(engine) as s:
        assert s.get(Person, seeded.teacher.id).line_user_id == winner
        rows = s.exec(select(LinkCode).order_by(LinkCode.id)).all()
        assert sorted((r.used_by is not None, r.revoked_at is not None) for r in rows) == [
            (False, True),  # the loser's code: revoked by the winner's link
            (True, False),
        ]
        assert linked_person(s, U1 if winner == U2 else U2) is None


def test_one_group_code_sent_in_two_groups_at_once_binds_exactly_one(
    engine, seeded, clock, monkeypatch
) -> None:
    code = _code(engine, clock, office=seeded.planning)
    other_group = "C" + "d" * 32
    outcomes = _at_once(
        engine,
        clock,
        monkeypatch,
        [(code, U1, {"chat_id": GROUP}), (code, U2, {"chat_id": other_group})],
    )
    assert sorted(o.result for o in outcomes) == [LinkResult.GROUP_BOUND, LinkResult.WRONG]
    bound = (GROUP, other_group)[[o.result for o in outcomes].index(LinkResult.GROUP_BOUND)]
    with Session(engine) as s:
        assert [b.chat_id for b in s.exec(select(ChatBinding)).all()] == [bound]
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "group_bound")).all()) == 1


# --- one answer for every unusable code; hourly limits and their audit (issue 13 item 10) ------------


def test_revoked_expired_used_and_wrong_codes_answer_alike(engine, seeded, clock) -> None:
    used = _code(engine, clock, person=seeded.teacher)
    revoked = _code(engine, clock, person=seeded.teacher)
    with Session(engine) as s:
        expired = create_link_code(
            s, now=clock.now() - CODE_TTL, created_by="test", person=s.get(Person, seeded.director.id)
        )
        s.commit()
    assert _redeem(engine, clock, used, user=U1).result is LinkResult.LINKED
    answers = [
        _redeem(engine, clock, typed, user=f"U{n:032x}")
        for n, typed in enumerate([used, revoked, expired, "ZZZZ-9999", "not a code"], start=100)
    ]
    assert all(a == answers[-1] for a in answers), answers
    assert answers[0].result is LinkResult.WRONG and answers[0].tries_left == MAX_FAILURES - 1


def _trips(engine) -> list[LinkThrottleTrip]:
    with Session(engine) as s:
        return list(s.exec(select(LinkThrottleTrip).order_by(LinkThrottleTrip.id)))


def test_wrong_tries_from_all_accounts_together_are_limited_per_hour(engine, seeded, clock) -> None:
    limits = LinkLimits(wrong_tries_per_hour=3)
    good = _code(engine, clock, person=seeded.teacher)
    clock.advance(timedelta(minutes=20))  # 03:20: the window is 03:00-04:00
    for n in range(3):  # three different accounts, one wrong try each: no account is locked
        assert (
            _redeem(engine, clock, "ZZZZ-9999", user=f"U{n:032x}", limits=limits).result is LinkResult.WRONG
        )
    throttled = _redeem(engine, clock, good, user=U1, limits=limits)
    assert throttled.result is LinkResult.THROTTLED and throttled.locked_minutes == 40
    [trip] = _trips(engine)
    assert (trip.scope, trip.office_id, trip.tries, trip.max_tries) == ("overall", None, 3, 3)
    assert trip.window_start == T0 and trip.until == T0 + RATE_WINDOW and trip.account_hash is None
    with Session(engine) as s:
        overview = link_throttle_overview(s, now=clock.now(), limits=limits)
        assert overview.overall.tries == 3 and overview.overall.throttled
        assert [t.id for t in overview.trips] == [trip.id]
        assert s.get(Person, seeded.teacher.id).line_user_id is None
    assert _redeem(engine, clock, "ZZZZ-9999", user=U2, limits=limits).result is LinkResult.THROTTLED
    assert len(_trips(engine)) == 1  # one trip per window, however many are turned away

    clock.advance(timedelta(minutes=40))  # the next hour
    assert _redeem(engine, clock, good, user=U1, limits=limits).result is LinkResult.LINKED
    with Session(engine) as s:
        assert not link_throttle_overview(s, now=clock.now(), limits=limits).overall.throttled


def test_tries_on_one_offices_codes_are_limited_per_hour(engine, seeded, clock) -> None:
    limits = LinkLimits(tries_per_office_per_hour=2)
    with Session(engine) as s:
        stale = create_link_code(
            s, now=clock.now() - CODE_TTL, created_by="test", person=s.get(Person, seeded.director.id)
        )
        s.commit()
    teacher_code = _code(engine, clock, person=seeded.teacher)
    director_code = _code(engine, clock, person=seeded.director)
    planner_code = _code(engine, clock, person=seeded.planner)  # another office
    assert _redeem(engine, clock, stale, user=U1, limits=limits).result is LinkResult.WRONG  # 1 on the school
    assert _redeem(engine, clock, teacher_code, user=U2, limits=limits).result is LinkResult.LINKED  # 2
    busy = _redeem(engine, clock, director_code, user="U" + "e" * 32, limits=limits)
    assert busy.result is LinkResult.THROTTLED and busy.locked_minutes == 60
    # Other offices are not held up, and a wrong code still answers "wrong", not "busy".
    assert (
        _redeem(engine, clock, planner_code, user="U" + "f" * 32, limits=limits).result is LinkResult.LINKED
    )
    assert _redeem(engine, clock, stale, user="U" + "9" * 32, limits=limits).result is LinkResult.WRONG
    [trip] = _trips(engine)
    assert (trip.scope, trip.office_id, trip.tries, trip.max_tries) == ("office", seeded.school.id, 2, 2)
    with Session(engine) as s:
        overview = link_throttle_overview(s, now=clock.now(), limits=limits)
        school = next(o for o in overview.offices if o.office_id == seeded.school.id)
        assert school.throttled and school.window_end == T0 + RATE_WINDOW
        assert [o.office_id for o in overview.offices if o.throttled] == [seeded.school.id]
        only_planning = link_throttle_overview(
            s, now=clock.now(), limits=limits, office_ids=[seeded.planning.id]
        )
        assert [o.office_id for o in only_planning.offices] == [
            seeded.planning.id
        ] and only_planning.trips == ()
        assert [t.id for t in throttle_trips(s, office_ids=[seeded.school.id])] == [trip.id]
    clock.advance(RATE_WINDOW)
    assert (
        _redeem(engine, clock, director_code, user="U" + "e" * 32, limits=limits).result is LinkResult.LINKED
    )


def test_a_locked_out_account_is_audited_by_hash_only(engine, seeded, clock) -> None:
    for _ in range(MAX_FAILURES):
        outcome = _redeem(engine, clock, "ZZZZ-9999")
    assert outcome.result is LinkResult.LOCKED
    [trip] = _trips(engine)
    assert trip.scope == ThrottleScope.ACCOUNT and trip.account_hash == account_hash(U1) != U1
    assert (trip.tries, trip.max_tries, trip.until) == (MAX_FAILURES, MAX_FAILURES, T0 + LOCKOUT)
    assert U1 not in repr(trip.model_dump())
    with Session(engine) as s:
        assert link_throttle_overview(s, now=clock.now()).locked_accounts == 1


def test_a_limit_of_zero_is_no_limit(engine, seeded, clock) -> None:
    limits = LinkLimits(wrong_tries_per_hour=0, tries_per_office_per_hour=0)
    for n in range(10):
        assert (
            _redeem(engine, clock, "ZZZZ-9999", user=f"U{n:032x}", limits=limits).result is LinkResult.WRONG
        )
    assert _redeem(engine, clock, _code(engine, clock, person=seeded.teacher), limits=limits).result is (
        LinkResult.LINKED
    )
    assert _trips(engine) == []


def test_old_hourly_counts_are_dropped(engine, seeded, clock) -> None:
    _redeem(engine, clock, "ZZZZ-9999", user=U1)
    clock.advance(WINDOW_RETENTION + RATE_WINDOW)
    _redeem(engine, clock, "ZZZZ-9999", user=U2)  # the first wrong try of a new hour tidies up
    with Session(engine) as s:
        assert [w.window_start for w in s.exec(select(LinkRateWindow))] == [linking.window_start(clock.now())]


def test_the_sender_is_read_with_their_office_and_the_open_period_of_the_day(engine, seeded) -> None:
    """`sender_of` reads, in its one round trip, what handlers would otherwise ask again: the office's
    name and kind, and the open period of the day (as `open_period` finds it, none included)."""
    from models.projects import open_period
    from scheduler.fiscal import fiscal_year_of

    with Session(engine) as s:
        teacher = s.get(Person, seeded.teacher.id)
        assert teacher is not None
        teacher.line_user_id = U1
        s.add(teacher)
        s.commit()
    # Inside a quarter, the days after its end before its deadline, the last day of the year, and
    # days before and after the fiscal year (no period at all).
    days = [date(2026, 11, 2), date(2027, 1, 5), date(2027, 1, 11), date(2027, 9, 30)]
    days += [date(2026, 9, 1), date(2027, 10, 20)]
    found = []
    with Session(engine) as s:
        for day in days:
            person, _ = sender_of(s, U1, day, fiscal_year_of(day))
            assert person is not None and person.period_read
            assert person.period == open_period(s, day)
            assert (person.office_name, person.office_kind) == ("โรงเรียนทดสอบวิทยา", "school")
            found.append(person.period.quarter if person.period else None)
        assert sender_of(s, U2, days[0], fiscal_year_of(days[0])) == (None, None)
    assert found == [1, 1, 2, 4, None, None]
