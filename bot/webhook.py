"""`POST /callback`: verify, parse, store, acknowledge. Nothing else happens before the 200.

The signature is checked on the raw bytes before anything is parsed or stored; bodies over 1 MiB are
refused; the events are stored under their unique webhookEventId in the transaction that acknowledges
them, and the processor is woken to handle them after the response.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhook import WebhookParser
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from models.events import incoming_from_raw, record_events

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH_REQUESTS = 200
STORE_RETRY_SECONDS = 10.0


class BodyTooLarge(Exception):
    pass


class GroupCommitter:
    """Stores the events of concurrent requests in one transaction (group commit).

    Each request queues its events and waits; one task takes everything queued so far, stores it in a
    worker thread with a single commit, and wakes the waiting requests. Under load, one commit serves
    dozens of requests; alone, a request waits for its own commit only. Each request is acknowledged
    only after its events are durably stored.
    """

    def __init__(self, store: Callable[[list[dict[str, object]]], int], notify: Callable[[], None]) -> None:
        self._store = store
        self._notify = notify
        self._queue: asyncio.Queue[tuple[list[dict[str, object]], asyncio.Future[None]]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def submit(self, events: list[dict[str, object]]) -> None:
        if self._queue is None or self._task is None or self._task.done():
            self._queue = asyncio.Queue()
            self._task = asyncio.create_task(self._run(self._queue))
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((events, done))
        await done

    async def _run(self, queue: asyncio.Queue[tuple[list[dict[str, object]], asyncio.Future[None]]]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < MAX_BATCH_REQUESTS:
                batch.append(queue.get_nowait())
            events = [event for chunk, _ in batch for event in chunk]
            try:
                added = await run_in_threadpool(self._store, events)
            except Exception as exc:  # every waiting request answers 500; LINE will redeliver
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)
            if added:
                self._notify()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


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


def make_webhook_router(
    *,
    engine: Engine,
    channel_secret: str,
    now: Callable[[], datetime],
    notify: Callable[[], None],
) -> tuple[APIRouter, GroupCommitter]:
    router = APIRouter()
    parser = WebhookParser(channel_secret)

    def store(events: list[dict[str, object]]) -> int:
        incoming = [incoming_from_raw(e) for e in events]
        deadline = time.monotonic() + STORE_RETRY_SECONDS
        while True:
            try:
                with Session(engine) as session:
                    added = record_events(session, incoming, now())
                    session.commit()
                return added
            except sa.exc.OperationalError as error:
                # SQLite: another process holds the write lock. Retry in 1 ms steps rather than
                # SQLite's own sleeps of up to 100 ms, which is what the acknowledgement's tail is made of.
                if "locked" not in str(error.orig) or time.monotonic() > deadline:
                    raise
                time.sleep(0.001)

    committer = GroupCommitter(store, notify)

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
            parser.parse(text, signature)  # verifies the signature first, then parses with the SDK
            events = json.loads(text).get("events", [])
        except InvalidSignatureError:
            return JSONResponse({"error": "invalid signature"}, status_code=400)
        except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            return JSONResponse({"error": "malformed body"}, status_code=400)
        if events:
            await committer.submit(events)
        return JSONResponse({})

    return router, committer
