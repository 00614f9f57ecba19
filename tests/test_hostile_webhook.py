"""Issue 13: the webhook and the worker survive hostile and broken input, through the real edges.

Items 1 (stalling /callback without the secret), 2 (events the SDK cannot read wedged their sender),
5 (signed bodies answered 500, and bystanders with them) and `/readyz`. The socket tests open a
bounded number of connections on 127.0.0.1 and every wait in them is bounded.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from sqlmodel import Session, select
from support import make_settings, running_service, serving

import bot.webhook
from fakeline import sign
from models import WebhookEvent
from models.db import make_engine
from models.health import beat
from models.types import EventStatus

pytestmark = pytest.mark.usefixtures("fake_line")


def _user(n: int) -> str:
    return "U" + f"{n:032x}"


def _rows(db_url: str) -> list[WebhookEvent]:
    engine = make_engine(db_url)
    with Session(engine) as s:
        rows = list(s.exec(select(WebhookEvent).order_by(WebhookEvent.id)))
    engine.dispose()
    return rows


def _post_signed(fake: Any, events: list[Any] | str) -> httpx.Response:
    """A body LINE could sign: `events` as given (a list of anything, or the raw text of the array)."""
    inner = events if isinstance(events, str) else json.dumps(events)  # a lone surrogate goes as \ud800
    body = ('{"destination":"' + fake.bot_user_id + '","events":' + inner + "}").encode()
    return fake.send_raw_sync(body, sign(fake.channel_secret, body))


# --- item 2: an event the SDK cannot read ends, and its sender's later events go on -------------------


def _broken_events(fake: Any, user: str) -> list[Any]:
    """The shapes the issue names, each with a usable webhookEventId and source."""
    good = fake.text_event(user, "ช่วยเหลือ")

    def like(**changes: Any) -> dict[str, Any]:
        event = {**fake.text_event(user, "x"), **changes}
        return {k: v for k, v in event.items() if v is not ...}

    return [
        like(type=...),  # no type
        like(type=["message"]),
        like(type=None),
        like(message="hello"),  # a message given as a string
        like(deliveryContext={"isRedelivery": "yes"}),
        like(source="U1"),
        like(replyToken=["x"]),
        good,
    ]


def test_events_the_sdk_cannot_read_are_failed_once_and_the_sender_is_answered(
    db_url, fake_line, tmp_path
) -> None:
    user = _user(1)
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        events = _broken_events(fake_line, user)
        assert _post_signed(fake_line, events).status_code == 200
        # The last, readable event is answered although nine unreadable ones came before it.
        fake_line.wait_for(lambda: any("รหัสลงทะเบียน" in t for t in fake_line.texts_to(user)), timeout=15)
        rows = fake_line.wait_for(
            lambda: (r := _rows(db_url)) and all(x.status != EventStatus.PENDING for x in r) and r, timeout=15
        )
    assert len(rows) == len(events)
    assert [r.status for r in rows[:-1]] == [EventStatus.FAILED] * (len(events) - 1)
    assert rows[-1].status == EventStatus.DONE
    assert all(r.attempts == 1 for r in rows)  # failed at once: nothing is retried for ever
    # One apology for each unreadable event whose sender and reply token can be read, no more.
    apologies = [t for t in fake_line.texts_to(user) if "ขออภัย" in t]
    assert 1 <= len(apologies) <= len(events) - 1
    assert fake_line.unexpected_violations() == []


def test_a_failing_handler_is_tried_three_times_then_given_up(db_url, fake_line, tmp_path) -> None:
    from bot.handlers import handle_event

    tries: list[str] = []

    def flaky(ctx: Any) -> None:
        if ctx.raw.get("message", {}).get("text") == "boom":
            tries.append(ctx.row.webhook_event_id)
            raise RuntimeError("simulated failure")
        handle_event(ctx)

    user = _user(2)
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings, handler=flaky) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        fake_line.send_sync([fake_line.text_event(user, "boom"), fake_line.text_event(user, "ช่วยเหลือ")])
        texts = fake_line.wait_for(lambda: (t := fake_line.texts_to(user)) and len(t) >= 2 and t, timeout=20)
    rows = _rows(db_url)
    assert len(tries) == 3 and len(set(tries)) == 1
    assert [r.status for r in rows] == [EventStatus.FAILED, EventStatus.DONE]
    assert rows[0].attempts == 3
    assert "ขออภัย" in texts[0] and "รหัสลงทะเบียน" in texts[1]  # in order: the apology first


def test_odd_timestamps_are_read_as_unknown_and_the_event_is_handled(db_url, fake_line, tmp_path) -> None:
    user = _user(6)
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        events = [
            {**fake_line.text_event(user, "ช่วยเหลือ"), "timestamp": stamp}
            for stamp in (1.5, "yesterday", 10**30)
        ]
        assert _post_signed(fake_line, events).status_code == 200
        fake_line.wait_for(lambda: len(fake_line.texts_to(user)) >= 3, timeout=15)
        rows = fake_line.wait_for(
            lambda: (r := _rows(db_url)) and all(x.status != EventStatus.PENDING for x in r) and r, timeout=15
        )
    assert [r.status for r in rows] == [EventStatus.DONE] * 3


# --- item 5: signed bodies are never answered 500, and never fail their neighbours --------------------


def test_bad_ids_deep_nesting_and_odd_bodies_are_not_500_and_spare_their_neighbours(
    db_url, fake_line, tmp_path
) -> None:
    user = _user(3)
    settings = make_settings(db_url, fake_line, tmp_path)
    with running_service(settings) as base_url:
        fake_line.webhook_url = f"{base_url}/callback"
        nul = {**fake_line.text_event(user, "x"), "webhookEventId": "01NUL\u0000"}
        long_id = {**fake_line.text_event(user, "x"), "webhookEventId": "A" * 5000}
        surrogate_user = fake_line.text_event(user, "x")
        surrogate_user["source"] = {"type": "user", "userId": "U\ud800" + "a" * 31}
        nul_group = fake_line.text_event(user, "x")
        nul_group["source"] = {"type": "group", "groupId": "C\u0000", "userId": user}
        long_type = {**fake_line.text_event(user, "x"), "type": "m" * 500}
        bodies: list[list[Any] | str] = [
            [nul],
            [long_id],
            [surrogate_user],
            [nul_group],
            [long_type],
            "[" * 100_000 + "]" * 100_000,  # nested far too deeply for any parser's recursion
            json.dumps(
                [
                    {
                        "webhookEventId": "01DEEP",
                        "type": "message",
                        "x": [[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]],
                    }
                ]
            ),
            [fake_line.text_event(user, "ช่วยเหลือ")],
        ]
        # Concurrently, so that they share group commits.
        results: list[int] = []
        threads = [
            threading.Thread(target=lambda b=b: results.append(_post_signed(fake_line, b).status_code))
            for b in bodies
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert len(results) == len(bodies)
        assert 500 not in results
        assert results.count(400) <= 1  # only the body no JSON parser can read is refused
        fake_line.wait_for(lambda: any("รหัสลงทะเบียน" in t for t in fake_line.texts_to(user)), timeout=15)
        rows = fake_line.wait_for(
            lambda: (r := _rows(db_url)) and all(x.status != EventStatus.PENDING for x in r) and r, timeout=15
        )
    ids = {r.webhook_event_id for r in rows}
    assert "A" * 5000 not in ids and not any("\x00" in i for i in ids)  # unusable ids are not kept
    assert all(len(r.source_key) <= 64 and "\x00" not in r.source_key for r in rows)
    assert {r.status for r in rows if r.source_key == "-" or r.event_type == "unknown"} <= {
        EventStatus.FAILED
    }
    assert any(r.status == EventStatus.DONE for r in rows)


# --- item 1: nobody without the secret can stall /callback -------------------------------------------


@contextmanager
def _server(settings: Any, **config: Any) -> Iterator[tuple[str, uvicorn.Server, threading.Thread]]:
    with serving(settings, server=config) as served:
        yield served.url, served.server, served.thread


def _open(port: int, data: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    if data:
        sock.sendall(data)
    return sock


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closed `sock` (possibly after an answer) within `within` seconds."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except OSError:
            return True
    return False


def test_unsigned_requests_are_refused_before_their_body_and_slow_ones_are_cut_off(
    db_url, fake_line, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(bot.webhook, "BODY_SECONDS", 1.0)
    settings = make_settings(db_url, fake_line, tmp_path)
    with _server(settings, header_seconds=1.0) as (base_url, _, _thread):
        port = int(base_url.rsplit(":", 1)[1])
        # No signature: answered 400 at once, without waiting for the megabyte it announces.
        unsigned = _open(port, b"POST /callback HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n{")
        unsigned.settimeout(5)
        assert unsigned.recv(4096).startswith(b"HTTP/1.1 400")
        unsigned.close()
        # A forged signature with a trickled body: 408 once the body's deadline passes, then closed.
        trickle = _open(
            port,
            b"POST /callback HTTP/1.1\r\nHost: x\r\nX-Line-Signature: Zm9v\r\nContent-Length: 1000000\r\n\r\n{",
        )
        trickle.settimeout(5)
        assert trickle.recv(4096).startswith(b"HTTP/1.1 408")
        assert _closed_by_server(trickle, 5)
        # Headers that never finish, and a connection that sends nothing: closed after header_seconds.
        half = _open(port, b"POST /callback HTTP/1.1\r\nHost: x\r\nX-Line-Sig")
        silent = _open(port, b"")
        assert _closed_by_server(half, 5) and _closed_by_server(silent, 5)


def test_held_connections_lock_out_neither_line_nor_healthz_nor_a_shutdown(
    db_url, fake_line, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(bot.webhook, "BODY_SECONDS", 30.0)  # held for the whole test
    monkeypatch.setattr(bot.webhook, "MAX_READING", 20)
    settings = make_settings(db_url, fake_line, tmp_path)
    user = _user(4)
    held: list[socket.socket] = []
    try:
        with _server(settings, header_seconds=30.0, max_connections=120, shutdown_seconds=2) as (
            base_url,
            server,
            thread,
        ):
            port = int(base_url.rsplit(":", 1)[1])
            fake_line.webhook_url = f"{base_url}/callback"
            head = b"POST /callback HTTP/1.1\r\nHost: x\r\nX-Line-Signature: Zm9v\r\nContent-Length: 960000\r\n\r\n"
            for _ in range(30):  # more half-sent bodies than may be read at once
                held.append(_open(port, head + b"{" * 1000))
            for _ in range(60):  # and connections whose headers never end
                held.append(_open(port, b"POST /callback HTTP/1.1\r\nHost: x\r\n"))
            time.sleep(0.3)
            with httpx.Client(trust_env=False, timeout=5) as client:
                assert client.get(f"{base_url}/healthz").status_code == 200
            # LINE's signed request, whose body comes with its headers, still gets through.
            assert fake_line.send_sync(fake_line.text_event(user, "ช่วยเหลือ")).status_code == 200
            fake_line.wait_for(lambda: fake_line.texts_to(user), timeout=10)
            # Past max_connections a request is answered 503 at once rather than left hanging.
            for _ in range(40):
                held.append(_open(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
            answers = []
            for sock in held[-40:]:
                sock.settimeout(5)
                answers.append(sock.recv(64)[:12])
            assert set(answers) <= {b"HTTP/1.1 200", b"HTTP/1.1 503"} and b"HTTP/1.1 503" in answers
            server.should_exit = True
        # The `with` joined the server thread (for up to 30 s): a shutdown with 90 connections held
        # ended by itself, within its graceful-shutdown bound.
        assert not thread.is_alive()
    finally:
        for sock in held:
            sock.close()


def test_reading_slots_refuse_the_excess_with_503_and_free_up(
    db_url, fake_line, tmp_path, monkeypatch
) -> None:
    monkeypatch.setattr(bot.webhook, "BODY_SECONDS", 1.5)
    monkeypatch.setattr(bot.webhook, "MAX_READING", 5)
    settings = make_settings(db_url, fake_line, tmp_path)
    user = _user(5)
    with _server(settings) as (base_url, _, _thread):
        port = int(base_url.rsplit(":", 1)[1])
        fake_line.webhook_url = f"{base_url}/callback"
        head = (
            b"POST /callback HTTP/1.1\r\nHost: x\r\nX-Line-Signature: Zm9v\r\nContent-Length: 1000\r\n\r\n{"
        )
        held = [_open(port, head) for _ in range(5)]
        time.sleep(0.3)
        extra = _open(port, head)  # a sixth body in pieces: no slot is free
        extra.settimeout(5)
        assert extra.recv(64).startswith(b"HTTP/1.1 503")
        extra.close()
        # A whole body (LINE's kind) needs no slot: answered while the slots are taken.
        assert fake_line.send_sync(fake_line.text_event(user, "ช่วยเหลือ")).status_code == 200
        for sock in held:  # their deadline passes: 408 each, and the slots are free again
            sock.settimeout(5)
            assert sock.recv(64).startswith(b"HTTP/1.1 408")
            sock.close()
        again = _open(port, head)
        again.settimeout(5)
        assert again.recv(64).startswith(b"HTTP/1.1 408")  # read (slot free), then too slow
        again.close()
        fake_line.wait_for(lambda: fake_line.texts_to(user), timeout=10)


# --- /readyz --------------------------------------------------------------------------------------


def test_readyz_checks_the_database_and_event_handling(db_url, fake_line, tmp_path) -> None:
    inline = make_settings(db_url, fake_line, tmp_path)
    with running_service(inline) as base_url, httpx.Client(trust_env=False, timeout=5) as client:
        ready = client.get(f"{base_url}/readyz")
        assert ready.status_code == 200 and ready.json()["worker"] == "inline"

    # With a separate worker: not ready until one has been seen lately.
    apart = make_settings(db_url, fake_line, tmp_path, TIDTAM_EVENT_PROCESSING="worker")
    with running_service(apart) as base_url, httpx.Client(trust_env=False, timeout=5) as client:
        unready = client.get(f"{base_url}/readyz")
        assert unready.status_code == 503 and "no worker" in unready.json()["problems"][0]
        engine = make_engine(db_url)
        now = datetime.now(UTC)
        beat(engine, "host:1", now - timedelta(minutes=5), started_at=now - timedelta(hours=1))
        assert client.get(f"{base_url}/readyz").status_code == 503  # a stale heartbeat
        beat(engine, "host:1", now, started_at=now - timedelta(hours=1))
        engine.dispose()
        ready = client.get(f"{base_url}/readyz")
        assert ready.status_code == 200 and ready.json()["worker_seen_seconds_ago"] < 20
        assert client.get(f"{base_url}/healthz").status_code == 200
