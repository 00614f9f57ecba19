"""`POST /callback`: verify, store, acknowledge. Nothing else happens before the 200.

The signature is checked on the raw bytes before anything is parsed or stored (line-bot-sdk's
`SignatureValidator`, in constant time); bodies over 1 MiB are refused; the events are stored whole,
under their unique webhookEventId, in the transaction whose commit the 200 waits for, and the processor
is woken to handle them after the response. The SDK's models parse each event there, in the processor
(`bot.processor.parse_event`): an event the SDK cannot model is still stored, then recorded as failed
or handled as unknown, never refused at the door and lost.

This is the hot path of the service (LINE gives up on a slow webhook), so it is kept lean: plain ASGI
in front of the app's routing, no ORM, no thread hop, one commit for all the requests that arrived
meanwhile, all on the server's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import FastAPI
from linebot.v3.webhook import SignatureValidator
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot import line_ids
from bot.webhook_body import split_events
from models.events import EventStore, IncomingEvent, incoming_from_raw

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH_REQUESTS = 200
# A body must arrive within this long once its headers have (LINE sends a few KB at once): a client
# that trickles one cannot hold a connection and its buffer.
BODY_SECONDS = 10.0
REAP_SECONDS = 0.5  # how often overdue bodies are looked for
# Bodies read at once that did not arrive whole with their headers: past this, such a request is
# answered 503, so half-sent bodies hold at most this many megabytes. LINE's bodies (a few KB) arrive
# with their headers and never need a slot.
MAX_READING = 64

_Waiter = tuple[list[IncomingEvent], asyncio.Future[None]]


class GroupCommitter:
    """Stores the events of concurrent requests in one transaction (group commit).

    A request adds its events to the waiting list and waits on a future. One writing task takes
    everything waiting, stores it with a single commit, and resolves those requests; requests that
    arrive meanwhile form the next batch. Under load one commit serves dozens of requests; alone, a
    request waits for its own commit only. A request is acknowledged only after its events are durably
    stored; if the store fails, every request of that batch answers 500 and LINE redelivers.
    Everything runs on the server's event loop: no locks, no threads.
    """

    def __init__(
        self,
        store: Callable[[list[IncomingEvent]], Awaitable[int]],
        notify: Callable[[], None],
        on_close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._notify = notify
        self._on_close = on_close
        self._waiting: list[_Waiter] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, events: list[IncomingEvent]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((events, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting())
        await done

    async def _write_waiting(self) -> None:
        while self._waiting:
            await asyncio.sleep(0)  # one turn of the loop: requests already received join this batch
            batch, self._waiting = self._waiting[:MAX_BATCH_REQUESTS], self._waiting[MAX_BATCH_REQUESTS:]
            try:
                added = await self._store([event for events, _ in batch for event in events])
            except asyncio.CancelledError:  # the service is stopping mid-commit: nobody is left hanging
                _resolve(batch, ConnectionAbortedError("the service is stopping"))
                raise
            except Exception as exc:
                if len(batch) == 1:  # the request answers 500; LINE will redeliver
                    log.exception("storing a webhook request failed")
                    _resolve(batch, exc)
                    continue
                # One request's events must not fail its neighbours: each is stored alone instead.
                added = await self._store_alone(batch)
            else:
                _resolve(batch, None)
            if added:
                self._notify()

    async def _store_alone(self, batch: list[_Waiter]) -> int:
        added = 0
        for waiter in batch:
            try:
                added += await self._store(waiter[0])
            except asyncio.CancelledError:
                _resolve(batch, ConnectionAbortedError("the service is stopping"))
                raise
            except Exception as exc:
                log.exception("storing a webhook request failed")
                _resolve([waiter], exc)
            else:
                _resolve([waiter], None)
        return added

    async def close(self, timeout: float = 10.0) -> None:
        """Let the batch being written finish (for up to `timeout` s), answer whoever still waits with
        an error (LINE redelivers), and close the store."""
        writer = self._writer
        if writer is not None and not writer.done():
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer, timeout=timeout)  # cancelled when it takes longer
        _resolve(self._waiting, ConnectionAbortedError("the service is stopping"))
        self._waiting = []
        if self._on_close is not None:
            await self._on_close()


def _resolve(batch: list[_Waiter], error: BaseException | None) -> None:
    for _, done in batch:
        if done.done():
            continue  # the request was cancelled (the client went away)
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


def _json(status: int, body: bytes, extra: list[tuple[bytes, bytes]] | None = None) -> list[Message]:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return [
        {"type": "http.response.start", "status": status, "headers": headers + (extra or [])},
        {"type": "http.response.body", "body": body},
    ]


_ACK = _json(200, b"{}")
_REFUSED = {
    "too large": _json(413, b'{"error":"body too large"}'),
    "no signature": _json(400, b'{"error":"missing signature"}'),
    "bad signature": _json(400, b'{"error":"invalid signature"}'),
    "malformed": _json(400, b'{"error":"malformed body"}'),
    "slow": _json(408, b'{"error":"body not received in time"}', [(b"connection", b"close")]),
    "busy": _json(503, b'{"error":"busy, please retry"}', [(b"connection", b"close")]),
    "method": _json(405, b'{"error":"method not allowed"}', [(b"allow", b"POST")]),
    "not stored": _json(500, b'{"error":"not stored, please retry"}'),
}


class WebhookEndpoint:
    """`POST /callback` as pure ASGI middleware in front of the app's routing.

    The webhook is the service's hot path, and FastAPI's per-request machinery (routing, the
    `Request` object, dependency solving, the response classes) cost about as much as verifying,
    parsing and storing an event; every other path goes on to the app as usual. It still sits inside
    the app's outermost middleware, so an unexpected error is answered 500 and logged like any other.
    """

    def __init__(self, app: ASGIApp, *, path: str, validator: SignatureValidator, committer: GroupCommitter):
        self.app = app
        self.path = path
        self.validator = validator
        self.committer = committer
        self.reading = 0  # requests whose body is being read right now
        self.deadlines = BodyDeadlines()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        outcome = await self._handle(scope, receive) if scope["method"] == "POST" else "method"
        if outcome is None:
            return  # the client went away before its body arrived
        for message in _REFUSED[outcome] if outcome else _ACK:
            await send(message)

    async def _handle(self, scope: Scope, receive: Receive) -> str | None:
        """Why the request is refused (a key of `_REFUSED`), or "" once its events are stored (or it
        had none); None when the client went away.

        Everything that can be judged from the headers is, before a byte of the body is read: no
        signature (or no channel secret to check one with), a declared size over the limit. The body
        then has BODY_SECONDS to arrive, and one that comes in pieces needs one of MAX_READING slots."""
        signature = declared = None
        for name, value in scope["headers"]:
            if name == b"x-line-signature":
                signature = value
            elif name == b"content-length":
                declared = value
        if not signature or not self.validator.channel_secret:
            return "no signature"  # before a byte of the body is read
        if declared is not None and (
            not declared.isdigit() or len(declared) > 12 or int(declared) > MAX_BODY_BYTES
        ):
            return "too large"  # bytes.isdigit() is ASCII digits only
        entry = self.deadlines.start()
        try:
            first = await receive()
            if first["type"] != "http.request":
                return None  # http.disconnect
            body: bytes | str | None = first.get("body", b"")
            if first.get("more_body", False):
                # A body that did not come whole with its headers (LINE's always does) is read only
                # while a reading slot is free: what half-sent bodies can hold is bounded.
                if self.reading >= MAX_READING:
                    return "busy"
                self.reading += 1
                try:
                    body = await _read_rest(receive, body)  # type: ignore[arg-type]
                finally:
                    self.reading -= 1
        except asyncio.CancelledError:
            if not self.deadlines.expired(entry):
                raise  # the client went away, or the server is stopping
            return "slow"
        finally:
            self.deadlines.finish(entry)
        if not isinstance(body, bytes):
            return body
        if len(body) > MAX_BODY_BYTES:
            return "too large"
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return "malformed"
        if not self.validator.validate(text, signature.decode("latin-1")):
            return "bad signature"
        try:
            events = [admit(event, raw) for event, raw in split_events(text)]
        except (ValueError, RecursionError):  # not JSON, not a webhook body, or nested too deeply
            return "malformed"
        stored = [event for event in events if event is not None]
        if len(stored) < len(events):
            log.warning(
                "%d webhook event(s) without a usable webhookEventId were not stored",
                len(events) - len(stored),
            )
        if stored:
            try:
                await self.committer.submit(stored)
            except Exception:  # logged by the committer; LINE redelivers what we do not acknowledge
                return "not stored"
        return ""


class BodyDeadlines:
    """Gives each request's body BODY_SECONDS to arrive, for the price of a list append.

    `asyncio.timeout` per request cost as much as the rest of the acknowledgement's checks: here each
    request is noted with its start, and one task, running only while requests are being read,
    looks twice a second for requests past their deadline and cancels them (the request then answers
    408). Entries are [started, task, finished, expired], oldest first."""

    def __init__(self) -> None:
        self._entries: deque[list[Any]] = deque()
        self._reaper: asyncio.Task[None] | None = None

    def start(self) -> list[Any]:
        entry = [time.monotonic(), asyncio.current_task(), False, False]
        self._entries.append(entry)
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().create_task(self._reap())
        return entry

    @staticmethod
    def finish(entry: list[Any]) -> None:
        entry[2] = True

    @staticmethod
    def expired(entry: list[Any]) -> bool:
        """Whether the request was cancelled for its deadline (then it is no longer cancelled)."""
        if entry[3]:
            entry[1].uncancel()
            return True
        return False

    async def _reap(self) -> None:
        entries = self._entries
        try:
            while entries:
                await asyncio.sleep(REAP_SECONDS)
                overdue = time.monotonic() - BODY_SECONDS
                while entries and (entries[0][2] or entries[0][0] <= overdue):
                    entry = entries.popleft()
                    if not entry[2]:
                        entry[3] = True
                        entry[1].cancel()
                # Finished entries behind a slow one wait for it; skip over them now and then.
                if len(entries) > 1024:
                    self._entries = entries = deque(e for e in entries if not e[2])
        finally:
            self._reaper = None


async def _read_rest(receive: Receive, first: bytes) -> bytes | str | None:
    """The rest of a body whose `first` chunk came: "too large" past MAX_BODY_BYTES, None when the
    client went away."""
    chunks = [first]
    size = len(first)
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None  # http.disconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return "too large"
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def admit(raw: dict[str, object], text: str) -> IncomingEvent | None:
    """The event as the store keeps it, with every id it is indexed by in LINE's formats; None for an
    event without a usable webhookEventId (it cannot be told apart from a replay, so it is not kept).
    A malformed source or type is indexed as "-" / "unknown" and judged by the processor, which
    records it as failed: a bad id never reaches a column or fails a commit."""
    event = incoming_from_raw(raw, text)
    if not line_ids.is_webhook_event_id(event.webhook_event_id):
        return None
    source_ok = any(
        check(event.source_key) for check in (line_ids.is_user_id, line_ids.is_group_id, line_ids.is_room_id)
    )
    type_ok = line_ids.is_event_type(event.event_type)
    if source_ok and type_ok:
        return event
    return dataclasses.replace(
        event,
        source_key=event.source_key if source_ok else "-",
        event_type=event.event_type if type_ok else "unknown",
    )


def add_webhook_endpoint(
    app: FastAPI,
    *,
    engine: Engine,
    channel_secret: str,
    now: Callable[[], datetime],
    notify: Callable[[], None],
    path: str = "/callback",
) -> GroupCommitter:
    """Answer `POST {path}` in front of `app`'s routing (`WebhookEndpoint`); returns the committer,
    for the app to close on shutdown. Middleware added to `app` later wraps this one, so it runs for
    webhooks too: keep the hot path in mind when adding any."""
    store = EventStore(engine)
    committer = GroupCommitter(lambda events: store.append(events, now()), notify, on_close=store.close)
    app.add_middleware(
        WebhookEndpoint, path=path, validator=SignatureValidator(channel_secret), committer=committer
    )
    return committer
