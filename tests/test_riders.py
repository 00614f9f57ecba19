"""Held approval requests and notices: folded into the next daily message (cards as a carousel),
riding on a free reply at most once a day, released by the dispatcher if nothing took them; and the
tick reading LINE's own count of the month."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from approval_office import link, make_office, submit
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.approvals import request_decision
from bot.riders import hold_until
from messages.riders import RIDER_HEADING, is_rider, one_push, rider_message
from models import OutboxMessage
from models.outbox import rode_today, take_riders
from models.types import OutboxStatus
from scheduler.clock import FixedClock
from scheduler.process_steps import load_process_steps
from scheduler.quota import QuotaReading, spendable
from scheduler.rules import load_rules
from scheduler.tick import TickSetup, run_tick
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
MONDAY = date(2027, 2, 15)  # an ordinary week: no reports due, nothing else planned
DIRECTOR = "U" + "d" * 32
_outbox: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).astimezone(UTC)


def _two_cards_held(engine: Engine):  # type: ignore[no-untyped-def]
    office = make_office(engine, today=MONDAY)
    link(engine, office.director, DIRECTOR)
    now = _at(MONDAY, 10)
    with Session(engine) as s:
        for project in office.projects[:2]:
            report, version = submit(s, office.teacher.id, project.id, office.period_id, now)
            assert request_decision(s, report, version, 1, now, MONDAY, TZ, hold=True) == 1
        s.commit()
    return office


def _rows(engine: Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(_outbox).order_by(_outbox.c.id)))


def test_a_days_approval_requests_go_in_one_push_the_next_working_day(engine: Engine) -> None:
    _two_cards_held(engine)
    held = _rows(engine)
    assert [r.status for r in held] == [OutboxStatus.HELD.value] * 2
    assert all(r.not_before == hold_until(_at(MONDAY, 10), TZ) for r in held)
    setup = TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()))
    result = run_tick(engine, FixedClock(_at(MONDAY + timedelta(days=1), 8, 30)), setup)
    assert result.ran
    rows = _rows(engine)
    assert [r.status for r in rows[:2]] == [OutboxStatus.MERGED.value] * 2
    pushes = [r for r in rows[2:] if r.recipients == [DIRECTOR]]
    assert len(pushes) == 1, "one push for the day's cards"
    (message,) = pushes[0].messages
    assert message["contents"]["type"] == "carousel" and len(message["contents"]["contents"]) == 2
    assert "approval_request" in pushes[0].subject


def test_what_waits_rides_on_a_reply_once_a_day(engine: Engine) -> None:
    _two_cards_held(engine)
    now = _at(MONDAY, 14)
    with Session(engine) as s:
        taken = take_riders(s, DIRECTOR, now)
        s.commit()
    assert len(taken) == 2 and all("รอท่านอนุมัติ" in rider for _id, rider in taken)
    with Session(engine) as s:
        assert rode_today(s, DIRECTOR, _at(MONDAY, 0))
        assert not rode_today(s, DIRECTOR, _at(MONDAY + timedelta(days=1), 0))
        assert take_riders(s, DIRECTOR, now) == []  # nothing left to take
    assert {r.status for r in _rows(engine)} == {OutboxStatus.MERGED.value}
    message = rider_message([rider for _id, rider in taken])
    assert is_rider(message) and message["text"].startswith(RIDER_HEADING)
    assert "รออนุมัติ" in message["text"], "it says what to type to see the cards"


def test_a_held_row_nothing_took_is_released_at_its_time(engine: Engine) -> None:
    from models.outbox import release_held

    _two_cards_held(engine)
    until = hold_until(_at(MONDAY, 10), TZ)
    with engine.begin() as conn:
        assert release_held(conn, until - timedelta(minutes=1)) == 0
        assert release_held(conn, until) == 2
    assert {r.status for r in _rows(engine)} == {OutboxStatus.PENDING.value}


def test_one_push_keeps_within_five_messages() -> None:
    bubble = {"type": "flex", "altText": "a", "contents": {"type": "bubble", "size": "giga", "body": {}}}
    texts = [{"type": "text", "text": f"notice {i}"} for i in range(7)]
    daily = [{"type": "flex", "altText": "d", "contents": {"type": "bubble", "body": {}}}]
    messages = one_push(daily, [bubble, bubble, *texts])
    assert len(messages) == 5
    assert messages[1]["contents"]["type"] == "carousel"
    assert all(b["size"] == "mega" for b in messages[1]["contents"]["contents"])
    assert "notice 6" in messages[-1]["text"] and "notice 2" in messages[-1]["text"]


def test_the_larger_of_lines_count_and_ours_is_spent_against() -> None:
    assert spendable(300, 120, None) == (300, 120)
    assert spendable(300, 120, QuotaReading(500, 180)) == (500, 180)  # LINE's limit and count win
    assert spendable(300, 200, QuotaReading(None, 150)) == (300, 200)  # no limit stated: ours


def test_held_rows_are_released_after_the_configured_tick_time_not_the_packaged_one(
    engine: Engine, tmp_path
) -> None:
    """TIDTAM_TICK_TIME=13:00: a card held on Monday waits for Tuesday's 13:00 tick (it folds into the
    director's message there), not for 10:30, when the packaged 08:30 tick would have released it."""
    from models.outbox import release_held
    from scheduler.service import configured_rules
    from tidtam.settings import Settings

    settings = Settings(_env_file=None, TIDTAM_DATABASE_URL="sqlite://", TIDTAM_TICK_TIME="13:00")  # type: ignore[call-arg]
    rules = configured_rules(settings)
    assert rules.delivery.tick == time(13, 0)
    office = make_office(engine, today=MONDAY)
    link(engine, office.director, DIRECTOR)
    with Session(engine) as s:
        for project in office.projects[:2]:
            report, version = submit(s, office.teacher.id, project.id, office.period_id, _at(MONDAY, 10))
            request_decision(
                s, report, version, 1, _at(MONDAY, 10), MONDAY, TZ, hold=True, delivery=rules.delivery
            )
        s.commit()
    tuesday = MONDAY + timedelta(days=1)
    assert {r.not_before for r in _rows(engine)} == {_at(tuesday, 15)}  # 13:00 and the 2 h grace
    with engine.begin() as conn:
        assert release_held(conn, _at(tuesday, 10, 30)) == 0  # still held at the packaged release time
    setup = TickSetup(rules, WorkCalendar(), TZ, tuple(load_process_steps()))
    assert run_tick(engine, FixedClock(_at(tuesday, 13)), setup).ran
    rows = _rows(engine)
    assert [r.status for r in rows[:2]] == [OutboxStatus.MERGED.value] * 2
    assert len([r for r in rows[2:] if r.recipients == [DIRECTOR]]) == 1


def test_the_service_hands_event_handling_the_configured_tick_time(tmp_path) -> None:
    from scheduler.clock import FixedClock as Fixed
    from tidtam.service import make_processor
    from tidtam.settings import Settings

    settings = Settings(
        _env_file=None, TIDTAM_DATABASE_URL=f"sqlite:///{tmp_path}/x.db", TIDTAM_TICK_TIME="13:00"
    )  # type: ignore[call-arg]
    line, _deliverer, intake = make_processor(
        settings, sa.create_engine("sqlite://"), Fixed(_at(MONDAY, 9)), workers=0
    )
    try:
        rules = intake.processor.rules
        assert rules is not None and rules.delivery.tick == time(13, 0)
    finally:
        line.close()
