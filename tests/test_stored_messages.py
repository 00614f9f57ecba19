"""The day's reminder as the outbox stores it (``messages.stored``): expanded, it is exactly the Flex
message the tick stored before (``daily_message_json``), for any items; every other message passes
through as it is; and LINE (the fake platform, which validates every message) receives from a tick
exactly what it received when the tick stored the Flex itself, on both backends."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scheduler_office import generate_office, line_user_id, local_dt
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.delivery import Deliverer
from bot.line_client import LineClient
from messages.reminders import (
    BUBBLE_LIMIT_BYTES,
    Item,
    ItemKind,
    Line,
    daily_message_dict,
    daily_message_json,
)
from messages.stored import DAILY_TYPE, daily_stored_json, expand
from models import ChatBinding, OutboxMessage, ProjectOwner, SchedulerRun, SentMessage
from models.outbox import queue_push
from models.types import OutboxStatus
from scheduler import tick
from scheduler.clock import FixedClock
from scheduler.dispatch import Dispatcher
from scheduler.process_steps import load_process_steps
from scheduler.rules import load_rules
from scheduler.tick import TickSetup, run_tick
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")
DAY = date(2027, 1, 8)
_outbox: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _round_trip(items: tuple[Item, ...], day: date, max_lines: int, personal: bool) -> list[Any]:
    """The stored entry as it comes back from the database (JSON text, parsed), expanded."""
    return expand([json.loads(daily_stored_json(items, day, max_lines=max_lines, personal=personal))])


# Text as people and the workbook import give it: Thai, quotes, backslashes, line breaks, NUL.
_texts = st.text(
    st.one_of(
        st.sampled_from(list('กขคงจฉัาิีุู่้็ำเแโใไ "\\\n\t\x00/—·…')),
        st.characters(blacklist_categories=("Cs",)),
    ),
    max_size=40,
)
_lines = st.builds(Line, _texts, _texts, st.one_of(_texts, st.sampled_from(["2570Q1", "2569Q4", ""])))
_items = st.builds(
    Item,
    st.sampled_from(list(ItemKind)),
    _texts,
    st.one_of(st.none(), st.tuples(st.integers(2560, 2600), st.integers(1, 4))),
    st.one_of(st.none(), st.dates(date(2020, 1, 1), date(2040, 12, 31))),
    st.integers(0, 400),
    st.integers(0, 100_000),
    st.lists(_lines, max_size=25).map(tuple),
    st.lists(st.tuples(_texts, st.integers(0, 10**9)), max_size=4).map(tuple),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(_items, min_size=1, max_size=6).map(tuple),
    day=st.dates(date(2024, 1, 1), date(2035, 12, 31)),
    max_lines=st.integers(0, 12),  # the rules allow any count from 0
    personal=st.booleans(),
)
def test_a_stored_daily_message_expands_to_the_flex_stored_before(
    items: tuple[Item, ...], day: date, max_lines: int, personal: bool
) -> None:
    [message] = _round_trip(items, day, max_lines, personal)
    assert _compact(message) == daily_message_json(items, day, max_lines=max_lines, personal=personal)
    assert message == daily_message_dict(items, day, max_lines=max_lines, personal=personal)


def _project(n: int) -> Line:
    return Line(f"P2570-{n:05d}-01", f'โครงการ "พัฒนา" \\ คุณภาพ\x00การศึกษา {n}', "2570Q1")


@pytest.mark.parametrize("personal", [True, False], ids=["person", "group-chat"])
def test_long_lists_expand_to_the_bubble_cut_under_line_s_limit(personal: bool) -> None:
    """Past 40 lines the bubble is measured and lines are cut until it fits LINE's 30 KB: the
    expansion takes the same path and gives the same bubble."""
    lines = tuple(_project(n) for n in range(300))
    items = (
        Item(ItemKind.REPORT_OVERDUE, "2570Q1", (2570, 1), date(2027, 1, 11), 2, 300, lines),
        Item(ItemKind.APPROVAL_PENDING, "approve", None, None, 5, 120, lines[:120]),
        Item(ItemKind.LATE_ESCALATION, "late", (2570, 1), date(2027, 1, 11), 5, 80, lines[:80]),
    )
    [message] = _round_trip(items, DAY, 10, personal)
    before = daily_message_json(items, DAY, max_lines=10, personal=personal)
    assert _compact(message) == before
    assert len(_compact(message["contents"]).encode()) <= BUBBLE_LIMIT_BYTES
    assert ("footer" in message["contents"]) is personal
    stored = daily_stored_json(items, DAY, max_lines=10, personal=personal)
    assert len(stored.encode()) < len(_compact(daily_message_dict(items, DAY, personal=personal)).encode())


def test_other_messages_pass_through_as_they_are() -> None:
    """Rows stored before the compact form (the Flex itself), replies, handler-queued pushes and
    riders: nothing in them is touched, and a row's daily entry is expanded in its place."""
    items = (Item(ItemKind.REPORT_DUE, "2570Q1", (2570, 1), date(2027, 1, 11), 1, 1, (_project(1),)),)
    flex = json.loads(daily_message_json(items, DAY))
    text = {"type": "text", "text": "ขอบคุณค่ะ", "quickReply": {"items": []}}
    impostor = {"type": "flex", "altText": DAILY_TYPE, "contents": {"type": DAILY_TYPE}}
    others = [flex, text, impostor, {"type": "sticker", "packageId": "1", "stickerId": "2"}]
    out = expand(others)
    assert out == others and all(a is b for a, b in zip(out, others, strict=True))
    assert expand(()) == []
    stored = json.loads(daily_stored_json(items, DAY))
    assert stored["type"] == DAILY_TYPE
    assert expand([text, stored, flex]) == [text, flex, flex]


# --- end to end: a tick's rows through the dispatcher to LINE ----------------------------------

LATE = date(2027, 1, 14)  # three working days after Q1's due date: the planning group's escalation too


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ).astimezone(UTC)


def _office(engine: Engine, group_id: str) -> Any:
    def q1(index: int):  # type: ignore[no-untyped-def]
        if index % 3 == 0:
            return ("draft", None, local_dt(date(2027, 1, 5)))
        if index % 3 == 1:
            return ("submitted", local_dt(date(2027, 1, 4)), local_dt(date(2027, 1, 4)))
        return None

    g = generate_office(engine, schools=4, projects_per_school=3, teachers_per_school=2, reports={1: q1},
                        keep_owners=True)  # fmt: skip
    with Session(engine) as s:
        # The planning group's LINE chat: its messages are a group push.
        s.add(ChatBinding(chat_id=group_id, chat_type="group", office_id=g.planning_id,
                          bound_at=_at(date(2027, 1, 4), 9)))  # fmt: skip
        # The first school's teachers own all its projects together: the same message, a multicast.
        school = g.school_ids[0]
        for project, owners in g.owners_of.items():
            if g.project_school[project] == school:
                s.add_all(ProjectOwner(project_id=project, person_id=p, position=1)
                          for p in g.teachers_of[school] if p not in owners)  # fmt: skip
        s.commit()
    return g


def _hold_a_card(engine: Engine, person_id: int, day: date) -> None:
    """An approval card held for the tick's push (folded in: a row stored as LINE's messages)."""
    with Session(engine) as s:
        queue_push(s, to=[line_user_id(person_id)], dedupe_key=f"approval:{day}:{person_id}",
                   messages=[{"type": "text", "text": 'อนุมัติ "P1" \\ แล้วค่ะ'}], rule="approval_request",
                   subject="report_version:1", now=_at(day, 7), person_ids=[person_id],
                   hold_until=_at(day, 10, 30), rider="รอท่านอนุมัติ")  # fmt: skip
        s.commit()


def _tick_and_send(
    engine: Engine, fake_line: Any, held_for: list[int]
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Run the ticks of `DAY` (people's reminders) and `LATE` (the planning group's escalation too),
    each day's outbox drained to the fake LINE; what it received (recipient, kind, messages), and the
    rows as stored (all their columns but the id and the retry key)."""
    setup = TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()))
    client = LineClient(access_token=fake_line.access_token, api_base_url=fake_line.base_url,
                        data_api_base_url=fake_line.base_url, timeout=5)  # fmt: skip
    start = len(fake_line.deliveries)
    try:
        for day in (DAY, LATE):
            for person in held_for:
                _hold_a_card(engine, person, day)
            result = run_tick(engine, FixedClock(_at(day, 8, 30)), setup)
            assert result.ran and result.rows > 0
            clock = FixedClock(_at(day, 11))
            Dispatcher(engine, Deliverer(engine, client, clock.now, "d"), clock, TZ).drain()
    finally:
        client.close()
    received = [(d.to, d.kind, d.messages) for d in fake_line.deliveries[start:]]
    rows = _stored(engine)
    assert {r["status"] for r in rows if r["rule"] == "daily"} == {OutboxStatus.SENT.value}
    assert len(received) == sum(len(r["recipients"]) for r in rows if r["status"] == OutboxStatus.SENT.value)
    # Ids and LINE's request ids differ from run to run; a held row's carrier is named by its key.
    key_of = {r["id"]: r["dedupe_key"] for r in rows}
    return received, [
        {**{k: v for k, v in r.items() if k not in ("id", "retry_key", "line_request_id")},
         "merged_into": key_of.get(r["merged_into"])}
        for r in rows
    ]  # fmt: skip


def _stored(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(_outbox).order_by(_outbox.c.dedupe_key))]


def _forget_the_day(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (SentMessage, OutboxMessage, SchedulerRun):
            conn.execute(sa.delete(table.__table__))  # type: ignore[attr-defined]


def test_line_receives_from_a_tick_exactly_what_it_received_when_the_flex_was_stored(
    engine: Engine, fake_line: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same days ticked twice on the same office, once storing the Flex itself as before (the
    tick's builder then wrote ``daily_message_json``), once the compact form: the rows are the same
    but for their messages, and LINE receives the same messages, recipient by recipient (a person's
    push, a multicast's recipients, the planning group's chat, a push with a held card folded in)."""
    g = _office(engine, fake_line.add_group("กลุ่มนโยบายและแผน"))
    held_for = [*g.teachers_of[g.school_ids[1]], g.director_of[g.school_ids[1]]]
    with monkeypatch.context() as patch:
        patch.setattr(tick, "daily_stored_json", daily_message_json)
        flex_received, flex_rows = _tick_and_send(engine, fake_line, held_for)
    assert not any(m["type"] == DAILY_TYPE for row in flex_rows for m in row["messages"])
    _forget_the_day(engine)
    received, rows = _tick_and_send(engine, fake_line, held_for)

    compact = [row for row in rows if any(m["type"] == DAILY_TYPE for m in row["messages"])]
    # Every daily row but those with a held card folded in.
    daily = [row for row in rows if row["rule"] == "daily"]
    assert len(compact) == sum("approval_request" not in row["subject"] for row in daily) > 0
    assert [{k: v for k, v in row.items() if k != "messages"} for row in rows] == [
        {k: v for k, v in row.items() if k != "messages"} for row in flex_rows
    ]
    assert [expand(row["messages"]) for row in rows] == [row["messages"] for row in flex_rows]

    def by_recipient(got: list[Any]) -> Counter[str]:
        return Counter(_compact([to, kind, messages]) for to, kind, messages in got)

    assert by_recipient(received) == by_recipient(flex_received)
    kinds = Counter(kind for _to, kind, _messages in received)
    assert kinds["push"] > 0 and kinds["multicast"] > 0, kinds
    assert any(to.startswith("C") for to, _kind, _m in received), "the planning group's chat"
    folded = [m for to, _k, m in received if to in {line_user_id(p) for p in held_for}]
    assert len(folded) == 2 * len(held_for), "one push a day each"
    assert all(m[-1]["text"] == 'อนุมัติ "P1" \\ แล้วค่ะ' for m in folded)
    assert any(m[0]["type"] == "flex" for m in folded), "a day's reminder with the card after it"
