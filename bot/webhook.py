"""`POST /callback`: verify, parse, store, acknowledge. Nothing else happens before the 200.

The signature is checked on the raw bytes before anything is parsed or stored; bodies over 1 MiB are
refused; the events are stored under their unique webhookEventId in the transaction that acknowledges
them, and the processor is woken to handle them after the response.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

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


class BodyTooLarge(Exception):
    pass


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
) -> APIRouter:
    router = APIRouter()
    parser = WebhookParser(channel_secret)

    def store(events: list[dict[str, object]]) -> int:
        with Session(engine) as session:
            added = record_events(session, [incoming_from_raw(e) for e in events], now())
            session.commit()
        return added

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
            added = await run_in_threadpool(store, events)
            if added:
                notify()
        return JSONResponse({})

    return router
