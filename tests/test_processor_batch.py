"""Several events in one transaction (bot/processor.py `process_batch`, bot/intake.py): a failing event
does not take its neighbours with it, each source's events keep their order, and a crash mid-batch
loses and repeats nothing. On both backends."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import bot.processor as processor_module
from bot.intake import EventIntake, Outcome
from bot.processor import MAX_ATTEMPTS, EventProcessor
from models.db import worker_engine_options
from models.events import EventStore, incoming_from_raw, pending_events
from models.messaging import OutboxMessage, WebhookEvent
from models.types import EventStatus, OutboxKind

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Bangkok")


def _user(n: int) -> str:
    return f"U{n:032x}"


def _store(engine: Engine, events: list[tuple[str, str]]) -> list[tuple[int, str]]:
    """Store text events (user, text) as the webhook does; their (id, source key) in order."""
    raws = [
        {
            "type": "message",
            "mode": "active",
            "timestamp": int(NOW.timestamp() * 1000),
            "webhookEventId": f"01HBATCH{n:018d}",
            "deliveryContext": {"isRedelivery": False},
            "source": {"type": "user", "userId": user},
            "replyToken": f"{n:032x}",
            "message": {"type": "text", "id": str(10**15 + n), "text": text, "quoteToken": f"q{n}"},
        }
        for n, (user, text) in enumerate(events)
    ]

    async def append() -> None:
        store = EventStore(engine)
        try:
            await store.append([incoming_from_raw(raw) for raw in raws], NOW)
        finally:
            await store.close()

    asyncio.run(append())
    return pending_events(engine, above=None, limit=1000)


def _processor(engine: Engine, handler) -> EventProcessor:  # type: ignore[no-untyped-def]
    return EventProcessor(engine, handler, deliverer=None, line=None, now=lambda: NOW, tz=TZ)


def _echo(ctx) -> None:  # type: ignore[no-untyped-def]
    ctx.replies.append({"type": "text", "text": ctx.raw["message"]["text"]})


def _events(engine: Engine) -> dict[str, WebhookEvent]:
    with Session(engine) as session:
        return {row.source_key: row for row in session.exec(select(WebhookEvent))}


def _replies(engine: Engine) -> list[OutboxMessage]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_failing_event_is_retried_alone_and_its_neighbours_are_handled_in_the_same_batch(
    engine: Engine,
) -> None:
    batch = _store(engine, [(_user(1), "a"), (_user(2), "boom"), (_user(3), "c")])
    seen: list[str] = []

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        seen.append(ctx.raw["message"]["text"])
        if ctx.raw["message"]["text"] == "boom":
            ctx.session.add(
                WebhookEvent(
                    webhook_event_id="x", source_key="x", event_type="x", payload="{}", received_at=NOW
                )
            )
            raise RuntimeError("handler failed")
        _echo(ctx)

    outcomes = _processor(engine, handler).process_batch(batch)

    assert outcomes == [Outcome.HANDLED, Outcome.WAITING, Outcome.HANDLED]
    events = _events(engine)
    assert "x" not in events  # what the failing handler wrote is gone
    assert {key: (e.status, e.attempts) for key, e in events.items()} == {
        _user(1): (EventStatus.DONE, 1),
        _user(2): (EventStatus.PENDING, 1),
        _user(3): (EventStatus.DONE, 1),
    }
    assert events[_user(2)].retry_at is not None and events[_user(2)].error.startswith("RuntimeError")
    replies = _replies(engine)
    assert [(r.recipients, r.messages[0]["text"], r.kind) for r in replies] == [
        ([_user(1)], "a", OutboxKind.REPLY),
        ([_user(3)], "c", OutboxKind.REPLY),
    ]
    assert seen.count("a") == 2 and seen.count("c") == 1  # the batch was done again without "boom"


def test_an_event_failing_every_attempt_is_given_up_with_one_apology_in_a_batch(engine: Engine) -> None:
    batch = _store(engine, [(_user(1), "boom"), (_user(2), "b")])

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        if ctx.raw["message"]["text"] == "boom":
            raise RuntimeError("always")
        _echo(ctx)

    processor = _processor(engine, handler)
    assert processor.process_batch(batch) == [Outcome.WAITING, Outcome.HANDLED]
    for _ in range(MAX_ATTEMPTS - 1):
        with Session(engine) as session:  # the backoff has passed
            row = session.exec(select(WebhookEvent).where(WebhookEvent.source_key == _user(1))).one()
            row.retry_at = None
            session.add(row)
            session.commit()
        outcomes = processor.process_batch(batch)
    assert outcomes == [Outcome.HANDLED, Outcome.SKIPPED]  # given up; the other one was done before
    events = _events(engine)
    assert (events[_user(1)].status, events[_user(1)].attempts) == (EventStatus.FAILED, MAX_ATTEMPTS)
    purposes = [(r.recipients[0], r.purpose) for r in _replies(engine)]
    assert purposes == [(_user(2), "reply"), (_user(1), "apology")]


def test_the_intake_keeps_each_sources_order_while_batching_sources(engine: Engine) -> None:
    users, per_user = 6, 5
    events = [(_user(u), str(n)) for n in range(per_user) for u in range(users)]
    _store(engine, events)
    handled: list[tuple[str, int]] = []
    batches: list[int] = []
    lock = threading.Lock()

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        with lock:
            handled.append((ctx.row.source_key, int(ctx.raw["message"]["text"])))
        _echo(ctx)

    processor = _processor(engine, handler)
    original = processor.process_batch

    def counting(batch):  # type: ignore[no-untyped-def]
        with lock:
            batches.append(len(batch))
        return original(batch)

    processor.process_batch = counting  # type: ignore[method-assign]
    intake = EventIntake(engine, processor, workers=2, poll_seconds=0.01)
    intake.start()
    try:
        deadline = time.monotonic() + 20
        while len(handled) < users * per_user and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        intake.stop()
    assert len(handled) == users * per_user
    for u in range(users):
        assert [n for user, n in handled if user == _user(u)] == list(range(per_user))
    assert max(batches) > 1  # several sources shared a transaction
    assert all(e.status == EventStatus.DONE for e in _events(engine).values())
    assert len(_replies(engine)) == users * per_user


def test_a_crash_mid_batch_leaves_every_event_pending_and_a_restart_handles_each_once(engine: Engine) -> None:
    batch = _store(engine, [(_user(1), "a"), (_user(2), "crash"), (_user(3), "c")])

    def dying(ctx) -> None:  # type: ignore[no-untyped-def]
        _echo(ctx)
        if ctx.raw["message"]["text"] == "crash":
            raise SystemExit("the process dies here")  # not an Exception: nothing is recorded

    with pytest.raises(SystemExit):
        _processor(engine, dying).process_batch(batch)
    assert {e.status for e in _events(engine).values()} == {EventStatus.PENDING}
    assert _replies(engine) == []

    assert _processor(engine, _echo).process_batch(batch) == [Outcome.HANDLED] * 3
    assert {(e.status, e.attempts) for e in _events(engine).values()} == {(EventStatus.DONE, 1)}
    assert sorted(r.messages[0]["text"] for r in _replies(engine)) == ["a", "c", "crash"]


def test_when_the_shared_part_of_a_batch_fails_each_event_is_handled_on_its_own(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = _store(engine, [(_user(1), "a"), (_user(2), "b")])
    real = processor_module.insert_replies
    calls: list[int] = []

    def flaky(session, rows):  # type: ignore[no-untyped-def]
        calls.append(len(rows))
        if len(calls) == 1:
            raise RuntimeError("the batch's INSERT failed")
        return real(session, rows)

    monkeypatch.setattr(processor_module, "insert_replies", flaky)
    assert _processor(engine, _echo).process_batch(batch) == [Outcome.HANDLED, Outcome.HANDLED]
    assert calls == [2, 1, 1]
    assert {(e.status, e.attempts) for e in _events(engine).values()} == {(EventStatus.DONE, 1)}
    assert [r.messages[0]["text"] for r in _replies(engine)] == ["a", "b"]


def test_a_batchs_loading_animations_start_off_the_transaction_and_before_their_answers(
    engine: Engine, fake_line
) -> None:  # type: ignore[no-untyped-def]
    """Handlers ask for the loading animation (bot/processor.py `_BatchEffects`): it is sent on the
    deliverer's threads, never after the answer it stands for."""
    from bot.delivery import Deliverer
    from bot.line_client import LineClient

    users = [fake_line.add_user() for _ in range(5)]
    raws = [(user, f"hello {n}") for n, user in enumerate(users)]
    batch = _store(engine, raws)
    tokens = {user: fake_line.issue_reply_token(user) for user in users}

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        ctx.show_loading(5)
        ctx.replies.append({"type": "text", "text": ctx.raw["message"]["text"]})

    client = LineClient(access_token=fake_line.access_token, api_base_url=fake_line.base_url,
                        data_api_base_url=fake_line.base_url, timeout=5)  # fmt: skip
    deliverer = Deliverer(engine, client, lambda: NOW, "worker-1", senders=4)
    processor = EventProcessor(engine, handler, deliverer=deliverer, line=client, now=lambda: NOW, tz=TZ)
    with Session(engine) as session:  # the stored events carry the emulator's reply tokens
        for row in session.exec(select(WebhookEvent)):
            raw = json.loads(row.payload)
            raw["replyToken"] = tokens[row.source_key]
            row.payload = json.dumps(raw)
            session.add(row)
        session.commit()
    try:
        assert processor.process_batch(batch) == [Outcome.HANDLED] * len(users)
    finally:
        deliverer.close()
        client.close()
    order = [
        (request.operation_id, (request.body or {}).get("chatId") or _replied_to(fake_line, request))
        for request in fake_line.requests
        if request.operation_id in ("showLoadingAnimation", "replyMessage")
    ]
    for user in users:
        assert [op for op, to in order if to == user] == ["showLoadingAnimation", "replyMessage"]
        assert fake_line.texts_to(user) == [f"hello {users.index(user)}"]


def _replied_to(fake_line, request) -> str | None:  # type: ignore[no-untyped-def]
    """The user a recorded reply request answered."""
    found = [d.to for d in fake_line.deliveries if d.request_id == request.request_id]
    return found[0] if found else None


def test_a_batchs_answers_keep_what_was_typed_even_a_nul_character(engine: Engine) -> None:
    # A reply that echoes what someone typed may hold any character, NUL included (the webhook fuzz
    # found it): PostgreSQL's batch INSERT must store it as the json column always did.
    from models.outbox import insert_replies, reply_values

    now = datetime(2027, 1, 5, 3, 0, tzinfo=UTC)
    texts = ['ไม่พบ "\x00" ค่ะ', "back\\slash \u0001 ok", "ธรรมดา"]
    rows = [
        reply_values(
            event_id=index + 1,
            webhook_event_id=f"nul-{index}",
            reply_token=f"token-{index}",
            event_time=now,
            to=f"U{index:032x}",
            messages=[{"type": "text", "text": text}],
            now=now,
        )
        for index, text in enumerate(texts)
    ]
    with Session(engine) as session:
        queued = insert_replies(session, rows)
        session.commit()
    assert [row.messages[0]["text"] for row in queued] == texts
    with Session(engine) as session:
        stored = {row.id: row.messages for row in session.exec(select(OutboxMessage))}
    assert [stored[row.id][0]["text"] for row in queued] == texts


def test_a_batchs_answers_are_stored_as_given_when_no_nul_forces_the_text_form(engine: Engine) -> None:
    # Without a NUL, PostgreSQL reads the JSON columns nested in the batch's document (one encoding):
    # quotes, backslashes, control characters, newlines and Thai come back as they went in, and so
    # do the list columns.
    from models.outbox import insert_replies, reply_values

    now = datetime(2027, 1, 5, 3, 0, tzinfo=UTC)
    texts = ['ไม่พบ "ชื่อ" ค่ะ', "back\\slash \u0001 ok", "บรรทัด\nสอง\t/", "ธรรมดา"]
    rows = [
        reply_values(
            event_id=index + 1,
            webhook_event_id=f"plain-{index}",
            reply_token=f"token-{index}",
            event_time=now,
            to=f"U{index:032x}",
            messages=[
                {"type": "text", "text": text},
                {"type": "flex", "altText": text, "contents": {"a": [1, None]}},
            ],
            now=now,
            person_ids=[index, index + 10],
        )
        for index, text in enumerate(texts)
    ]
    with Session(engine) as session:
        queued = insert_replies(session, rows)
        session.commit()
    with Session(engine) as session:
        stored = {row.id: row for row in session.exec(select(OutboxMessage))}
    for index, row in enumerate(queued):
        assert stored[row.id].messages == rows[index]["messages"]
        # PostgreSQL's rows keep their messages' JSON for LINE's request (tests/test_reply_encoding.py)
        expected = json.dumps(rows[index]["messages"], ensure_ascii=False, separators=(",", ":"))
        assert row.messages_json == (expected if engine.dialect.name == "postgresql" else None)
        assert stored[row.id].recipients == [f"U{index:032x}"]
        assert stored[row.id].person_ids == [index, index + 10]


def test_a_batchs_statements_ask_for_generic_plans_after_the_claim(engine: Engine) -> None:
    """PostgreSQL: the statements of an event batch's transaction, after its claim, run with generic
    plans (planned once per connection, models/db.py); the claim and every other transaction keep
    PostgreSQL's own choice. SQLite has no such setting."""
    seen: list[str | None] = []

    def handler(ctx) -> None:  # type: ignore[no-untyped-def]
        if engine.dialect.name == "postgresql":
            seen.append(ctx.session.execute(sa.text("SHOW plan_cache_mode")).scalar_one())
        else:
            seen.append(None)
        _echo(ctx)

    pending = _store(engine, [(_user(1), "สถานะ"), (_user(2), "ช่วยเหลือ")])
    assert _processor(engine, handler).process_batch(pending) == [Outcome.HANDLED, Outcome.HANDLED]
    expected = "force_generic_plan" if engine.dialect.name == "postgresql" else None
    assert seen == [expected, expected]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # the setting ended with the batch's transaction
            assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar_one() == "auto"
    assert worker_engine_options(engine.url.render_as_string(hide_password=False)) == (
        {"connect_args": {"prepare_threshold": 0}} if engine.dialect.name == "postgresql" else {}
    )
