"""`POST /callback`: verify, store, acknowledge. Nothing else happens before the 200.

The signature is checked on the raw bytes before anything is parsed or stored (line-bot-sdk's
`SignatureValidator`, in constant time); bodies over 1 MiB are refused; the events are stored whole,
under their unique webhookEventId, in the transaction whose commit the 200 waits for, and the processor
is woken to handle them after the response. The SDK's models parse each event there, in the processor
(`bot.processor.parse_event`): an event the SDK cannot model is still stored, then recorded as failed
or handled as unknown, never refused at the door and lost.

This is the hot path of the service (LINE gives up on a slow webhook), so it is kept lean: no ORM, no
thread-pool hop per request, one commit for all the requests that arrived meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from linebot.v3.webhook import SignatureValidator
from sqlalchemy.engine import Engine

from models.events import EventStore, IncomingEvent, incoming_from_raw

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH_REQUESTS = 200
_OK = b"{}"

_Waiter = tuple[list[IncomingEvent], asyncio.Future[None], asyncio.AbstractEventLoop]


class BodyTooLarge(Exception):
    pass


class GroupCommitter:
    """Stores the events of concurrent requests in one transaction (group commit).

    Requests hand their events to one writer thread and wait on a future. The thread takes everything
    handed in so far, stores it with a single commit, and resolves the waiting requests with one call
    into their event loop. Under load one commit serves dozens of requests; alone, a request waits for
    its own commit only. A request is acknowledged only after its events are durably stored; if the
    store fails, every request of that batch answers 500 and LINE redelivers.
    """

    def __init__(
        self,
        store: Callable[[list[IncomingEvent]], int],
        notify: Callable[[], None],
        on_close: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._notify = notify
        self._on_close = on_close  # called by the writer thread as it ends (it owns the connection)
        self._queue: queue.SimpleQueue[_Waiter | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def submit(self, events: list[IncomingEvent]) -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        if self._thread is None:
            self._start()
        self._queue.put((events, done, loop))
        await done

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="tidtam-event-store", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                self._on_close()
                return
            batch = [first]
            stopping = False
            while len(batch) < MAX_BATCH_REQUESTS:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            error: BaseException | None = None
            added = 0
            try:
                added = self._store([event for events, _, _ in batch for event in events])
            except Exception as exc:  # every waiting request answers 500; LINE will redeliver
                log.exception("storing %d webhook request(s) failed", len(batch))
                error = exc
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _, done, loop in batch:
                by_loop.setdefault(loop, []).append(done)
            for loop, futures in by_loop.items():
                with contextlib.suppress(RuntimeError):  # that loop has closed: nobody is waiting
                    loop.call_soon_threadsafe(_resolve, futures, error)
            if added:
                self._notify()
            if stopping:
                self._on_close()
                return

    async def close(self) -> None:
        thread = self._thread
        if thread is None:
            self._on_close()
            return
        self._queue.put(None)
        await asyncio.to_thread(thread.join, 10)
        self._thread = None


def _resolve(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for done in futures:
        if done.done():
            continue  # the request was cancelled (the client went away)
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _events_of(text: str) -> list[IncomingEvent]:
    """The events of a verified body; ValueError if it is not a webhook body at all."""
    body = json.loads(text)
    events = body.get("events") if isinstance(body, dict) else None
    if not isinstance(events, list) or not all(isinstance(event, dict) for event in events):
        raise ValueError("not a webhook body")
    return [incoming_from_raw(event) for event in events]


def make_webhook_router(
    *,
    engine: Engine,
    channel_secret: str,
    now: Callable[[], datetime],
    notify: Callable[[], None],
) -> tuple[APIRouter, GroupCommitter]:
    router = APIRouter()
    validator = SignatureValidator(channel_secret)
    store = EventStore(engine)
    committer = GroupCommitter(lambda events: store.append(events, now()), notify, on_close=store.close)

    @router.post("/callback")
    async def callback(request: Request) -> Response:
        try:
            body = await _read_capped(request, MAX_BODY_BYTES)
        except BodyTooLarge:
            return JSONResponse({"error": "body too large"}, status_code=413)
        signature = request.headers.get("x-line-signature")
        if not signature or not channel_secret:
            return JSONResponse({"error": "missing signature"}, status_code=400)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return JSONResponse({"error": "malformed body"}, status_code=400)
        if not validator.validate(text, signature):
            return JSONResponse({"error": "invalid signature"}, status_code=400)
        try:
            events = _events_of(text)
        except (ValueError, TypeError, AttributeError):
            return JSONResponse({"error": "malformed body"}, status_code=400)
        if events:
            await committer.submit(events)
        return Response(_OK, media_type="application/json")

    return router, committer
