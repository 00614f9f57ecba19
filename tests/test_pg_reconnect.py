"""PostgreSQL without a pre-ping per checkout (models/db.py): when the server drops the product's
connections (a restart, an administrator), the next webhook store and the next event handling still
succeed, at once: the webhook's store (`POST /callback`) reconnects and stores again, answering 200, the claim and the intake's read
are made again on a fresh connection; a connection dropped while idle in the pool is found out
before it is handed out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from bot.intake import Outcome
from bot.processor import EventProcessor
from bot.webhook import GroupCommitter, add_webhook_endpoint
from fakeline import sign
from models.db import make_engine
from models.events import pending_events
from models.messaging import OutboxMessage, WebhookEvent
from models.types import EventStatus

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
SECRET = "test-channel-secret"
APP = "tidtam_dropped"  # the product's connections in this test, and only they, carry this name


@pytest.fixture
def pg_url(db_url: str) -> str:
    if not db_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server's dropped connections")
    return make_url(db_url).update_query_dict({"application_name": APP}).render_as_string(hide_password=False)


@pytest.fixture
def disconnects() -> Iterator[list[str]]:
    yield []


def _engine(url: str, seen: list[str], **kwargs: object) -> Engine:
    engine = make_engine(url, **kwargs)  # type: ignore[arg-type]

    @sa.event.listens_for(engine, "handle_error")
    def count(context: sa.engine.ExceptionContext) -> None:
        if context.is_disconnect:
            seen.append(type(context.original_exception).__name__)

    return engine


def _drop_connections(url: str) -> None:
    """What an administrator or a restart does to the product's connections, and wait until they are
    gone (at most 5 s)."""
    admin_url = make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = %s",
            (APP,),
        )
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            left = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s",
                (APP,),
            ).fetchone()
            if left is not None and left[0] == 0:
                return
            time.sleep(0.02)
    raise AssertionError("the product's connections outlived pg_terminate_backend")


def _raw(n: int) -> dict[str, object]:
    return {
        "type": "message",
        "mode": "active",
        "timestamp": int(NOW.timestamp() * 1000),
        "webhookEventId": f"01HDROP{n:019d}",
        "deliveryContext": {"isRedelivery": False},
        "source": {"type": "user", "userId": f"U{n:032x}"},
        "replyToken": f"{n:032x}",
        "message": {"type": "text", "id": str(10**15 + n), "text": f"ข้อความ {n}", "quoteToken": f"q{n}"},
    }


def _echo(ctx) -> None:  # type: ignore[no-untyped-def]
    ctx.replies.append({"type": "text", "text": ctx.raw["message"]["text"]})


def _app(engine: Engine) -> tuple[FastAPI, GroupCommitter]:
    app = FastAPI()
    committer = add_webhook_endpoint(
        app, engine=engine, channel_secret=SECRET, now=lambda: NOW, notify=lambda: None
    )
    return app, committer


async def _post(app: FastAPI, n: int) -> int:
    body = json.dumps({"destination": "U" + "0" * 32, "events": [_raw(n)]}, ensure_ascii=False).encode()
    headers = {"content-type": "application/json", "x-line-signature": sign(SECRET, body)}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return (await client.post("/callback", content=body, headers=headers)).status_code


def test_after_the_server_drops_the_connections_the_next_store_and_handling_succeed(
    pg_url: str, disconnects: list[str]
) -> None:
    engine = _engine(pg_url, disconnects)
    assert not engine.pool._pre_ping  # type: ignore[attr-defined]  # what this test is about
    processor = EventProcessor(
        engine, _echo, deliverer=None, line=None, now=lambda: NOW, tz=ZoneInfo("Asia/Bangkok")
    )
    app, committer = _app(engine)

    async def scenario() -> None:
        try:
            assert await _post(app, 1) == 200  # warm: the webhook's connection, and the pool's
            [(first, source)] = pending_events(engine, above=None, limit=10)
            assert processor.process_batch([(first, source)]) == [Outcome.HANDLED]

            _drop_connections(pg_url)
            assert await _post(app, 2) == 200  # the webhook's store reconnects: 200, not 500
            # Found without the engine, whose pool still holds the dropped connection for the claim.
            [(second, source)] = _pending_direct(pg_url)
            before = len(disconnects)
            assert processor.process_batch([(second, source)]) == [Outcome.HANDLED]  # the claim, again
            assert len(disconnects) == before + 1, disconnects  # it did meet the dropped connection

            assert await _post(app, 3) == 200
            _drop_connections(pg_url)
            before = len(disconnects)
            [(third, source)] = pending_events(engine, above=second, limit=10)  # the intake's read, again
            assert len(disconnects) == before + 1, disconnects
            assert processor.process_batch([(third, source)]) == [Outcome.HANDLED]
        finally:
            await committer.close()

    try:
        asyncio.run(scenario())
        with Session(engine) as session:
            rows = list(session.exec(select(WebhookEvent).order_by(col(WebhookEvent.id))))
            replies = list(session.exec(select(OutboxMessage)))
        assert [(row.status, row.attempts, row.error) for row in rows] == [(EventStatus.DONE, 1, None)] * 3
        assert sorted(r.messages[0]["text"] for r in replies) == ["ข้อความ 1", "ข้อความ 2", "ข้อความ 3"]
    finally:
        engine.dispose()


def _pending_direct(url: str) -> list[tuple[int, str]]:
    """The pending events as another process sees them (not through the engine under test)."""
    plain = make_url(url).set(drivername="postgresql", query={}).render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, source_key FROM webhook_event WHERE status = 'pending' ORDER BY id"
        ).fetchall()
    return [(int(i), str(s)) for i, s in rows]


def _backend(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_dropped_while_idle_in_the_pool_is_replaced_before_it_is_handed_out(
    pg_url: str, disconnects: list[str]
) -> None:
    pinged = _engine(pg_url, disconnects, idle_ping_seconds=0.0)
    unpinged = _engine(pg_url, disconnects, idle_ping_seconds=None)
    try:
        first, other = _backend(pinged), _backend(unpinged)
        _drop_connections(pg_url)
        assert _backend(pinged) != first  # checked at checkout, replaced, no error
        assert disconnects == []
        with pytest.raises(sa.exc.DBAPIError) as dropped:  # without the check, its first use fails...
            _backend(unpinged)
        assert dropped.value.connection_invalidated and disconnects
        assert _backend(unpinged) != other  # ...and the pool is replaced
    finally:
        pinged.dispose()
        unpinged.dispose()
