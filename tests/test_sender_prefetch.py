"""A batch's senders read in one round trip (`models.linking.prefetch_senders`, called through
`bot/handlers.py` `prepare_batch`): each sender's `sender_of` then takes exactly what it would have
read itself, once; and a batch of events is answered the same with or without it, in fewer
statements."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from approval_office import link, make_office, submit
from sqlmodel import Session

from bot.handlers import handle_event, prepare_batch
from bot.processor import EventProcessor
from models.events import EventStore, incoming_from_raw, pending_events
from models.linking import _PREFETCHED, prefetch_senders, sender_of
from models.messaging import Conversation
from scheduler.fiscal import fiscal_year_of

T, D, T2, NOBODY = ("U" + c * 32 for c in "abcf")


def _office(engine, today):  # type: ignore[no-untyped-def]
    office = make_office(engine, today=today)
    for person, user in ((office.teacher, T), (office.director, D), (office.teacher2, T2)):
        link(engine, person, user)
    now = datetime.now(UTC)
    with Session(engine) as s:
        submit(s, office.teacher.id, office.projects[0].id, office.period_id, now, progress="40")
        s.add(
            Conversation(chat_key=D, person_id=office.director.id, form="report", step="progress",
                         data={"answers": {"project": 1}}, started_at=now, updated_at=now)
        )  # fmt: skip
        s.commit()
    return office


def _facts(found):  # type: ignore[no-untyped-def]
    person, conversation = found
    values = None if conversation is None else (conversation.id, conversation.form, conversation.data)
    return person, values


@pytest.mark.parametrize("with_projects", [False, True])
def test_prefetched_senders_are_what_each_would_read(engine, office_clock, with_projects: bool) -> None:
    _office(engine, office_clock.today)
    users = [T, D, T2, NOBODY]
    for day in (office_clock.today, office_clock.today + timedelta(days=200)):
        fy = fiscal_year_of(day)
        with Session(engine) as s:
            alone = {u: _facts(sender_of(s, u, day, fy, with_projects=with_projects)) for u in users}
        with Session(engine) as s:
            prefetch_senders(s, users, day, fy, with_projects=with_projects)
            assert set(s.info[_PREFETCHED]) == {(u, day, fy, with_projects) for u in users}
            batched = {u: _facts(sender_of(s, u, day, fy, with_projects=with_projects)) for u in users}
            assert not s.info[_PREFETCHED]  # each taken once
        assert batched == alone
        assert alone[NOBODY] == (None, None) and alone[T][0] is not None
        if with_projects and day == office_clock.today:  # the teacher's submitted report's quarter
            assert alone[T][0].projects and alone[T][0].projects[0].report_status == "submitted"


def test_a_sender_is_read_again_after_its_prefetched_rows_were_taken(engine, office_clock) -> None:
    _office(engine, office_clock.today)
    day = office_clock.today
    fy = fiscal_year_of(day)
    with Session(engine) as s:
        prefetch_senders(s, [T, D], day, fy, with_projects=False)
        first, _ = sender_of(s, T, day, fy)
        s.execute(sa.text("UPDATE person SET full_name = 'ชื่อใหม่' WHERE line_user_id = :u"), {"u": T})
        again, _ = sender_of(s, T, day, fy)
        # Another day or kind is not what was prefetched: read on its own.
        other_kind, _ = sender_of(s, D, day, fy, with_projects=True)
    assert first is not None and again is not None and other_kind is not None
    assert again.full_name == "ชื่อใหม่" and replace(again, full_name=first.full_name) == first
    assert other_kind.projects is not None


def _text_event(user: str, text: str, n: int) -> dict[str, object]:
    return {
        "type": "message", "mode": "active", "timestamp": int(datetime.now(UTC).timestamp() * 1000),
        "webhookEventId": f"01H{n:023d}", "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": user}, "replyToken": f"{n:032x}",
        "message": {"type": "text", "id": str(10**17 + n), "text": text, "quoteToken": f"q{n}"},
    }  # fmt: skip


@pytest.mark.parametrize("words", [("สถานะ", "โครงการของฉัน", "ช่วยเหลือ", "สถานะ"), ("รายงานผล",) * 4])
def test_a_batch_is_answered_the_same_in_fewer_statements(engine, office_clock, words) -> None:
    import asyncio

    _office(engine, office_clock.today)
    now = datetime.now(UTC)
    answers: dict[bool, list[object]] = {}
    statements: dict[bool, int] = {}
    for prefetching in (False, True):
        with engine.begin() as conn:  # a fresh start for each run
            conn.execute(sa.text("DELETE FROM outbox_message"))
            conn.execute(sa.text("DELETE FROM webhook_event"))
            conn.execute(sa.text("DELETE FROM conversation"))
        raws = [
            _text_event(user, word, n)
            for n, (user, word) in enumerate(zip((T, D, T2, NOBODY), words, strict=True))
        ]

        async def store(raws=raws) -> None:  # type: ignore[no-untyped-def]
            events = EventStore(engine)
            try:
                await events.append([incoming_from_raw(r) for r in raws], now)
            finally:
                await events.close()

        asyncio.run(store())
        processor = EventProcessor(
            engine, handle_event, deliverer=None, line=None, now=lambda: now, tz=ZoneInfo("Asia/Bangkok"),
            prepare=prepare_batch if prefetching else None,
        )  # fmt: skip
        count = [0]

        def counted(*_: object, count=count) -> None:  # type: ignore[no-untyped-def]
            count[0] += 1

        sa.event.listen(engine, "before_cursor_execute", counted)
        try:
            outcomes = processor.process_batch(pending_events(engine, above=None, limit=10))
        finally:
            sa.event.remove(engine, "before_cursor_execute", counted)
        assert len(outcomes) == 4
        statements[prefetching] = count[0]
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT reply_token, messages FROM outbox_message ORDER BY reply_token")
            )
            answers[prefetching] = [(token, json.loads(m) if isinstance(m, str) else m) for token, m in rows]
    assert answers[True] == answers[False]
    assert len(answers[True]) == 4 and all(messages for _token, messages in answers[True])
    # Three linked senders and an unlinked one: one statement for the senders instead of four.
    assert statements[True] <= statements[False] - 2
