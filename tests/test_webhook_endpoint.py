"""`POST /callback` at the ASGI edge (bot/webhook.py WebhookEndpoint): what reaches the store, what is
refused, and that every other path still reaches the app. The end-to-end tests over real HTTP are in
test_webhook_e2e.py; these drive the ASGI interface directly, for chunked bodies, disconnects and a
failing store."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from linebot.v3.webhook import SignatureValidator

from bot.webhook import MAX_BODY_BYTES, GroupCommitter, WebhookEndpoint
from fakeline import sign
from models.events import IncomingEvent

SECRET = "test-channel-secret"


class Store:
    def __init__(self) -> None:
        self.stored: list[IncomingEvent] = []
        self.fail = False

    async def __call__(self, events: list[IncomingEvent]) -> int:
        if self.fail:
            raise OSError("database unreachable")
        self.stored.extend(events)
        return len(events)


@pytest.fixture
def store() -> Store:
    return Store()


@pytest.fixture
def app(store: Store) -> FastAPI:
    app = FastAPI()
    committer = GroupCommitter(store, notify=lambda: None)
    app.add_middleware(
        WebhookEndpoint, path="/callback", validator=SignatureValidator(SECRET), committer=committer
    )

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _body(*event_ids: str) -> bytes:
    events = [
        {
            "type": "message",
            "mode": "active",
            "timestamp": 1_700_000_000_000,
            "source": {"type": "user", "userId": "U" + "1" * 32},
            "webhookEventId": event_id,
            "deliveryContext": {"isRedelivery": False},
            "message": {"id": "1", "type": "text", "text": "ช่วยเหลือ"},
        }
        for event_id in event_ids
    ]
    return json.dumps({"destination": "U" + "0" * 32, "events": events}, ensure_ascii=False).encode()


async def _post(app: FastAPI, body: bytes, signature: str | None, method: str = "POST") -> httpx.Response:
    headers = {"content-type": "application/json"}
    if signature is not None:
        headers["x-line-signature"] = signature
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        return await client.request(method, "/callback", content=body, headers=headers)


async def _call(
    app: FastAPI, messages: list[dict[str, Any]], headers: list[tuple[bytes, bytes]]
) -> list[dict]:
    """Call the ASGI app with the given receive messages; returns what it sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/callback",
        "raw_path": b"/callback",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    incoming = iter(messages)
    sent: list[dict] = []

    async def receive() -> dict[str, Any]:
        return next(incoming, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_signed_body_is_stored_then_acknowledged(app, store) -> None:
    body = _body("01A", "01B")
    response = await _post(app, body, sign(SECRET, body))
    assert response.status_code == 200
    assert response.json() == {}
    assert [e.webhook_event_id for e in store.stored] == ["01A", "01B"]
    stored = json.loads(store.stored[0].payload)
    assert stored["message"]["text"] == "ช่วยเหลือ"  # the event itself, whole
    assert store.stored[0].source_key == "U" + "1" * 32


async def test_refusals_store_nothing(app, store) -> None:
    body = _body("01A")
    assert (await _post(app, body, None)).status_code == 400
    assert (await _post(app, body, sign("another-secret", body))).status_code == 400
    garbled = [(b"x-line-signature", "not base64 ✓".encode())]
    sent = await _call(app, [{"type": "http.request", "body": body, "more_body": False}], garbled)
    assert sent[0]["status"] == 400
    latin = "สวัสดี".encode("tis-620")  # not UTF-8, signed correctly
    assert (await _post(app, latin, sign(SECRET, latin))).json() == {"error": "malformed body"}
    not_webhook = b'{"events": "none"}'
    assert (await _post(app, not_webhook, sign(SECRET, not_webhook))).status_code == 400
    assert store.stored == []


async def test_other_methods_are_refused_and_other_paths_reach_the_app(app, store) -> None:
    body = _body("01A")
    refused = await _post(app, body, sign(SECRET, body), method="GET")
    assert refused.status_code == 405
    assert refused.headers["allow"] == "POST"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.post("/callbackx")).status_code == 404
    assert store.stored == []


async def test_a_failed_store_answers_500_and_the_next_request_is_stored(app, store) -> None:
    body = _body("01A")
    store.fail = True
    failed = await _post(app, body, sign(SECRET, body))
    assert failed.status_code == 500  # LINE redelivers what is not acknowledged
    store.fail = False
    assert (await _post(app, body, sign(SECRET, body))).status_code == 200
    assert [e.webhook_event_id for e in store.stored] == ["01A"]


async def test_a_body_in_chunks_is_verified_whole(app, store) -> None:
    body = _body("01A")
    chunks = [body[:10], body[10:100], body[100:]]
    messages = [
        {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
        for i, chunk in enumerate(chunks)
    ]
    sent = await _call(app, messages, [(b"x-line-signature", sign(SECRET, body).encode())])
    assert sent[0]["status"] == 200
    assert [e.webhook_event_id for e in store.stored] == ["01A"]


async def test_an_oversized_body_is_refused_declared_or_streamed(app, store) -> None:
    piece = b"x" * (256 * 1024)
    streamed = [{"type": "http.request", "body": piece, "more_body": True} for _ in range(5)]
    sent = await _call(app, streamed, [(b"x-line-signature", b"c2ln")])
    assert sent[0]["status"] == 413
    declared = [(b"content-length", str(MAX_BODY_BYTES + 1).encode()), (b"x-line-signature", b"c2ln")]
    sent = await _call(app, [{"type": "http.request", "body": b"{}", "more_body": False}], declared)
    assert sent[0]["status"] == 413
    assert store.stored == []


async def test_a_client_gone_before_its_body_arrived_gets_nothing_and_stores_nothing(app, store) -> None:
    body = _body("01A")
    half = [{"type": "http.request", "body": body[:50], "more_body": True}]  # then http.disconnect
    sent = await _call(app, half, [(b"x-line-signature", sign(SECRET, body).encode())])
    assert sent == []
    assert store.stored == []
