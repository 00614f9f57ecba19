"""Link codes at the real edges (issue 13, items 6 and 10): signed webhooks into /callback, the worker
threads, replies out to the fake LINE platform; both backends.

The service runs on a FixedClock, so the hourly windows of the limits never roll over during a test.
A race is made real by holding every redeemer at the claim until all of them have found the code
usable (`models.linking._claim_code` wrapped with a barrier): without the conditional UPDATE both would
be told they are linked.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select
from support import make_settings, running_service, seed_office

from bot import intake
from models import AuditLog, ChatBinding, LinkCode, LinkThrottleTrip, Office, Person, WebhookEvent, linking
from models.linking import CODE_TTL, create_link_code, link_throttle_overview, linked_person
from models.types import EventStatus
from scheduler.clock import FixedClock

pytestmark = pytest.mark.usefixtures("fake_line")

T0 = datetime(2025, 11, 20, 3, 10, tzinfo=UTC)  # 10:10 in Bangkok; the hour's window is 03:00-04:00 UTC
WAIT = 20.0
LINKED = "ลงทะเบียนสำเร็จ"
BUSY = "พักการตรวจรหัสไว้ชั่วคราว"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def seeded(engine):
    return seed_office(engine, today=T0.date())


@contextmanager
def _service(db_url: str, fake: Any, tmp_path: Any, clock: FixedClock, **overrides: Any) -> Iterator[None]:
    settings = make_settings(db_url, fake, tmp_path, **overrides)
    with running_service(settings, clock=clock) as base_url:
        fake.webhook_url = f"{base_url}/callback"
        yield


def _code(engine, *, now: datetime, person: Person | None = None, office: Office | None = None) -> str:
    with Session(engine) as s:
        code = create_link_code(s, now=now, created_by="test", person=person, office=office)
        s.commit()
    return code


def _answers(fake: Any, chats: list[str], before: dict[str, int] | None = None) -> dict[str, str]:
    """The one new text each chat (a user or a group) gets, once every one of them has it."""
    before = before or {}

    def ready() -> dict[str, str] | None:
        found = {c: fake.texts_to(c)[before.get(c, 0) :] for c in chats}
        return {c: t[0] for c, t in found.items()} if all(found.values()) else None

    return fake.wait_for(ready, timeout=WAIT)  # type: ignore[no-any-return]


def _say(fake: Any, user: str, text: str) -> str:
    before = len(fake.texts_to(user))
    assert fake.send_sync(fake.text_event(user, text)).status_code == 200
    return _answers(fake, [user], {user: before})[user]


def _race_at_the_claim(monkeypatch: pytest.MonkeyPatch, parties: int = 2) -> None:
    barrier = threading.Barrier(parties, timeout=WAIT)
    real = linking._claim_code
    # One source per worker thread, so the redeemers run at once (the intake would otherwise hand a
    # pass's few sources to one thread, one after another, and there would be no race to see).
    monkeypatch.setattr(intake, "SPREAD_FROM", 1)

    def claim(*args: Any, **kwargs: Any) -> bool:
        barrier.wait()  # every redeemer has read the code as usable; now they all try to take it
        return real(*args, **kwargs)

    monkeypatch.setattr(linking, "_claim_code", claim)


def _all_done(engine) -> bool:
    with Session(engine) as s:
        return all(r.status == EventStatus.DONE for r in s.exec(select(WebhookEvent)))


# --- item 6: one code, two LINE accounts, one delivery -----------------------------------------------


def test_one_code_sent_by_two_accounts_in_one_delivery_links_exactly_one(
    engine, db_url, seeded, clock, fake_line, tmp_path, monkeypatch
) -> None:
    code = _code(engine, now=clock.now(), person=seeded.teacher)
    first, second, stranger = "U" + "1" * 32, "U" + "2" * 32, "U" + "3" * 32
    _race_at_the_claim(monkeypatch)
    with _service(db_url, fake_line, tmp_path, clock):
        events = [fake_line.text_event(first, code), fake_line.text_event(second, code)]
        assert fake_line.send_sync(events).status_code == 200
        answers = _answers(fake_line, [first, second])
        monkeypatch.undo()  # no race for the stranger: nobody to wait for
        never_issued = _say(fake_line, stranger, "ZZZZ-9999")
        fake_line.wait_for(lambda: _all_done(engine), timeout=WAIT)
    winners = [user for user, answer in answers.items() if LINKED in answer]
    assert len(winners) == 1, answers
    [winner] = winners
    loser = second if winner == first else first
    # Told word for word what a code that never existed is told: nothing about who took it.
    assert answers[loser] == never_issued
    with Session(engine) as s:
        assert s.get(Person, seeded.teacher.id).line_user_id == winner
        assert linked_person(s, loser) is None
        assert s.exec(select(LinkCode)).one().used_by == winner
        assert len(s.exec(select(AuditLog).where(AuditLog.action == "linked")).all()) == 1
    assert fake_line.violations == []


def test_one_planning_group_code_sent_in_two_groups_at_once_binds_exactly_one(
    engine, db_url, seeded, clock, fake_line, tmp_path, monkeypatch
) -> None:
    code = _code(engine, now=clock.now(), office=seeded.planning)
    groups = ["C" + "a" * 32, "C" + "b" * 32]
    third = "C" + "c" * 32
    _race_at_the_claim(monkeypatch)
    with _service(db_url, fake_line, tmp_path, clock):
        events = [
            fake_line.group_text_event(groups[0], "U" + "4" * 32, code),
            fake_line.group_text_event(groups[1], "U" + "5" * 32, code),
        ]
        assert fake_line.send_sync(events).status_code == 200
        answers = _answers(fake_line, groups)
        monkeypatch.undo()
        assert (
            fake_line.send_sync(fake_line.group_text_event(third, "U" + "6" * 32, "ZZZZ-9999")).status_code
            == 200
        )
        never_issued = _answers(fake_line, [third])[third]
    bound = [g for g, answer in answers.items() if "ผูกกลุ่มนี้" in answer]
    assert len(bound) == 1, answers
    other = groups[1] if bound[0] == groups[0] else groups[0]
    assert answers[other] == never_issued
    with Session(engine) as s:
        assert [(b.chat_id, b.office_id) for b in s.exec(select(ChatBinding))] == [
            (bound[0], seeded.planning.id)
        ]
    assert fake_line.violations == []


# --- item 10: one answer for every unusable code; limits per office and overall ---------------------


def test_revoked_expired_and_used_codes_answer_exactly_like_a_wrong_one(
    engine, db_url, seeded, clock, fake_line, tmp_path
) -> None:
    used = _code(engine, now=clock.now(), person=seeded.teacher)
    revoked = _code(engine, now=clock.now(), person=seeded.teacher)  # revoked when `used` links
    expired = _code(engine, now=clock.now() - CODE_TTL - timedelta(seconds=1), person=seeded.director)
    with _service(db_url, fake_line, tmp_path, clock):
        assert LINKED in _say(fake_line, "U" + "a" * 32, used)
        answers = {
            typed: _say(fake_line, f"U{n:032x}", typed)
            for n, typed in enumerate([used, revoked, expired, "ZZZZ-9999"], start=1)
        }
    assert len(set(answers.values())) == 1, answers  # one answer, whatever the code was
    assert "ไม่ถูกต้อง" in answers["ZZZZ-9999"]
    with Session(engine) as s:
        assert s.get(Person, seeded.teacher.id).line_user_id == "U" + "a" * 32
        assert s.get(Person, seeded.director.id).line_user_id is None
    assert fake_line.violations == []


def test_wrong_tries_from_many_accounts_trip_the_overall_limit(
    engine, db_url, seeded, clock, fake_line, tmp_path, caplog
) -> None:
    good = _code(engine, now=clock.now(), person=seeded.teacher)
    accounts = [f"U{n:032x}" for n in range(1, 5)]
    caplog.set_level(logging.INFO)
    with _service(db_url, fake_line, tmp_path, clock, TIDTAM_LINK_TRIES_PER_HOUR=3):
        for account in accounts[:3]:  # one wrong try each: no account is anywhere near its lockout
            assert "ไม่ถูกต้อง" in _say(fake_line, account, "ZZZZ-9999")
        busy = _say(fake_line, accounts[3], good)
        assert BUSY in busy and "รอ 50 นาที" in busy  # until 04:00 UTC
        with Session(engine) as s:
            assert s.get(Person, seeded.teacher.id).line_user_id is None
        clock.advance(timedelta(minutes=50))  # the next hour: answered again
        assert LINKED in _say(fake_line, accounts[3], good)
    with Session(engine) as s:
        [trip] = s.exec(select(LinkThrottleTrip)).all()
        assert (trip.scope, trip.office_id, trip.tries, trip.max_tries) == ("overall", None, 3, 3)
        assert trip.at == T0 and trip.until == datetime(2025, 11, 20, 4, 0, tzinfo=UTC)
        assert trip.account_hash is None
        overview = link_throttle_overview(s, now=T0, trips_since=T0 - timedelta(days=1))
        assert [t.id for t in overview.trips] == [trip.id]
    assert "link-code limit reached: scope overall" in caplog.text
    for private in [*accounts, good, "ZZZZ-9999"]:  # the logs name no LINE account and no code
        assert private not in caplog.text
    assert fake_line.violations == []


def test_tries_on_one_offices_codes_trip_that_offices_limit_only(
    engine, db_url, seeded, clock, fake_line, tmp_path
) -> None:
    stale = _code(engine, now=clock.now() - CODE_TTL, person=seeded.director)  # expired: a wrong try
    teacher_code = _code(engine, now=clock.now(), person=seeded.teacher)
    director_code = _code(engine, now=clock.now(), person=seeded.director)
    planner_code = _code(engine, now=clock.now(), person=seeded.planner)  # the planning group's office
    with _service(db_url, fake_line, tmp_path, clock, TIDTAM_LINK_TRIES_PER_OFFICE_PER_HOUR=2):
        assert "ไม่ถูกต้อง" in _say(fake_line, "U" + "1" * 32, stale)  # the school's 1st try this hour
        assert LINKED in _say(fake_line, "U" + "2" * 32, teacher_code)  # its 2nd
        assert BUSY in _say(fake_line, "U" + "3" * 32, director_code)  # its 3rd: held until the next hour
        assert LINKED in _say(fake_line, "U" + "4" * 32, planner_code)  # another office goes on
        clock.advance(timedelta(hours=1))
        assert LINKED in _say(fake_line, "U" + "3" * 32, director_code)
    with Session(engine) as s:
        [trip] = s.exec(select(LinkThrottleTrip)).all()
        assert (trip.scope, trip.office_id, trip.tries, trip.max_tries) == ("office", seeded.school.id, 2, 2)
        assert trip.account_hash is None
        assert s.get(Person, seeded.director.id).line_user_id == "U" + "3" * 32
    assert fake_line.violations == []
