"""Webhook side of the emulator: event builders, a person's actions, signed delivery to the product.

Every payload is validated against LINE's ``webhook.yml`` before it is sent, and signed the way
LINE signs it: ``X-Line-Signature = base64(HMAC-SHA256(channel secret, raw body))``. Each event
sent (not a redelivery) is filed in its chat's record as a :class:`~.records.UserTurn`, so the
record shows both sides of the conversation.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import hashlib
import hmac
import json
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any

import httpx

from . import ids
from .records import ChatLog, UserTurn
from .schemas import webhook_errors

if TYPE_CHECKING:
    from collections.abc import Iterable


class WebhookPayloadError(ValueError):
    """A webhook payload does not validate against webhook.yml."""


def sign(channel_secret: str, body: bytes) -> str:
    """LINE's webhook signature of ``body``."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def chat_of(event: dict[str, Any]) -> str | None:
    """The chat an event happened in: its group, room or (one-on-one) user."""
    source = event.get("source")
    if not isinstance(source, dict):
        return None
    chat = source.get("groupId") or source.get("roomId") or source.get("userId")
    return chat if isinstance(chat, str) else None


class WebhookMixin:
    """Event builders and senders; mixed into :class:`~.emulator.LineEmulator`."""

    channel_secret: str
    bot_user_id: str
    webhook_url: str | None
    webhook_timeout: float
    log: ChatLog
    _lock: threading.RLock
    _webhook_client: httpx.Client | None = None

    # Provided by LineEmulator.
    def issue_reply_token(self, source_id: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def add_content(self, message_id: str, content: bytes, content_type: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def _set_friend(self, user_id: str, friend: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    def _set_group_member(self, group_id: str, joined: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    def wall_time(self) -> datetime:  # pragma: no cover
        raise NotImplementedError

    # -- builders ---------------------------------------------------------------------------
    def _base_event(self, etype: str, source: dict[str, Any], *, reply: bool) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": etype,
            "mode": "active",
            "timestamp": int(self.wall_time().timestamp() * 1000),
            "source": source,
            "webhookEventId": ids.ulid(),
            "deliveryContext": {"isRedelivery": False},
        }
        if reply:
            chat = chat_of(event)
            assert chat is not None
            event["replyToken"] = self.issue_reply_token(chat)
        return event

    @staticmethod
    def _user(user_id: str) -> dict[str, Any]:
        return {"type": "user", "userId": user_id}

    def _message_event(self, source: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        event = self._base_event("message", source, reply=True)
        event["message"] = {"id": ids.message_id(), **message}
        return event

    def text_event(
        self,
        user_id: str,
        text: str,
        *,
        quoted_message_id: str | None = None,
        mention: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A user's text message in a one-on-one chat (with replyToken and quoteToken)."""
        return self._message_event(self._user(user_id), self._text(text, quoted_message_id, mention))

    def group_text_event(
        self, group_id: str, user_id: str, text: str, *, quoted_message_id: str | None = None
    ) -> dict[str, Any]:
        """A text message by ``user_id`` in a group chat; the reply token answers the group."""
        self._set_group_member(group_id, True)
        source = {"type": "group", "groupId": group_id, "userId": user_id}
        return self._message_event(source, self._text(text, quoted_message_id, None))

    @staticmethod
    def _text(text: str, quoted_message_id: str | None, mention: dict[str, Any] | None) -> dict[str, Any]:
        msg: dict[str, Any] = {"type": "text", "text": text, "quoteToken": ids.quote_token()}
        if quoted_message_id is not None:
            msg["quotedMessageId"] = quoted_message_id
        if mention is not None:
            msg["mention"] = mention
        return msg

    def image_event(self, user_id: str, content: bytes, content_type: str = "image/jpeg") -> dict[str, Any]:
        """An image sent by the user; ``content`` becomes downloadable from the content endpoint."""
        event = self._message_event(
            self._user(user_id),
            {"type": "image", "contentProvider": {"type": "line"}, "quoteToken": ids.quote_token()},
        )
        self.add_content(event["message"]["id"], content, content_type)
        return event

    def audio_event(
        self,
        user_id: str,
        content: bytes = b"\x00fake-m4a",
        *,
        duration_ms: int = 3000,
        content_type: str = "audio/x-m4a",
    ) -> dict[str, Any]:
        event = self._message_event(
            self._user(user_id),
            {"type": "audio", "contentProvider": {"type": "line"}, "duration": duration_ms},
        )
        self.add_content(event["message"]["id"], content, content_type)
        return event

    def file_event(
        self, user_id: str, file_name: str, content: bytes, content_type: str = "application/octet-stream"
    ) -> dict[str, Any]:
        event = self._message_event(
            self._user(user_id), {"type": "file", "fileName": file_name, "fileSize": len(content)}
        )
        self.add_content(event["message"]["id"], content, content_type)
        return event

    def sticker_event(
        self,
        user_id: str,
        package_id: str = "446",
        sticker_id: str = "1988",
        *,
        resource_type: str = "STATIC",
    ) -> dict[str, Any]:
        msg = {
            "type": "sticker",
            "packageId": package_id,
            "stickerId": sticker_id,
            "stickerResourceType": resource_type,
            "quoteToken": ids.quote_token(),
        }
        return self._message_event(self._user(user_id), msg)

    def location_event(
        self,
        user_id: str,
        latitude: float = 13.7563,
        longitude: float = 100.5018,
        *,
        title: str | None = None,
        address: str | None = None,
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {"type": "location", "latitude": latitude, "longitude": longitude}
        if title is not None:
            msg["title"] = title
        if address is not None:
            msg["address"] = address
        return self._message_event(self._user(user_id), msg)

    def postback_event(self, user_id: str, data: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        """A postback (button tap); ``params`` e.g. ``{"date": "2026-07-01"}`` for a datetime picker."""
        event = self._base_event("postback", self._user(user_id), reply=True)
        event["postback"] = {"data": data, **({"params": params} if params is not None else {})}
        return event

    def follow_event(self, user_id: str, *, is_unblocked: bool = False) -> dict[str, Any]:
        """The user adds (or unblocks) the bot; marks them a friend again."""
        self._set_friend(user_id, True)
        event = self._base_event("follow", self._user(user_id), reply=True)
        event["follow"] = {"isUnblocked": is_unblocked}
        return event

    def unfollow_event(self, user_id: str) -> dict[str, Any]:
        """The user blocks the bot (no reply token); from now on pushes to them are dropped."""
        self._set_friend(user_id, False)
        return self._base_event("unfollow", self._user(user_id), reply=False)

    def join_event(self, group_id: str) -> dict[str, Any]:
        """The bot is added to a group; the group becomes a valid push target."""
        self._set_group_member(group_id, True)
        return self._base_event("join", {"type": "group", "groupId": group_id}, reply=True)

    def leave_event(self, group_id: str) -> dict[str, Any]:
        """The bot was removed from a group (no reply token); pushes to it now fail."""
        self._set_group_member(group_id, False)
        return self._base_event("leave", {"type": "group", "groupId": group_id}, reply=False)

    # -- payloads ---------------------------------------------------------------------------
    def payload(
        self, events: dict[str, Any] | Iterable[dict[str, Any]], *, redelivery: bool = False
    ) -> dict[str, Any]:
        """The webhook request body for ``events``, validated against webhook.yml."""
        evs = [events] if isinstance(events, dict) else list(events)
        if redelivery:
            evs = [copy.deepcopy(e) for e in evs]
            for e in evs:
                e["deliveryContext"] = {"isRedelivery": True}
        body = {"destination": self.bot_user_id, "events": evs}
        errors = webhook_errors(body)
        if errors:
            raise WebhookPayloadError("; ".join(f"{e.property}: {e.detail}" for e in errors))
        return body

    def _encode(self, payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Line-Signature": sign(self.channel_secret, body),
            "User-Agent": "LineBotWebhook/2.0",
        }
        return body, headers

    def _url(self) -> str:
        if not self.webhook_url:
            raise RuntimeError("set fake.webhook_url before sending webhook events")
        return self.webhook_url

    # -- a person's actions: filed in the chat's record, then sent -------------------------------
    def _file(self, events: list[dict[str, Any]], display_text: str | None = None) -> list[UserTurn]:
        turns = []
        for event in events:
            chat = chat_of(event)
            if chat is None:
                continue
            user = event.get("source", {}).get("userId")
            turn = UserTurn(0, self.wall_time(), chat, user, event, None, display_text)
            turns.append(self.log.add([chat], turn))
        return turns

    def _answered(self, turns: list[UserTurn], status: int | None) -> list[UserTurn]:
        done = [dataclasses.replace(t, status=status) for t in turns]
        for turn in done:
            self.log.update(turn.chat_id, turn)
        return done

    def act(self, event: dict[str, Any], *, display_text: str | None = None) -> UserTurn:
        """Send one event a person caused (built with the ``*_event`` builders) as a signed webhook;
        returns its turn in the chat's record, with the product's HTTP status. ``display_text``:
        what the chat shows for a postback (a button's ``displayText``)."""
        body, headers = self._encode(self.payload(event))
        turns = self._file([event], display_text)
        if not turns:
            raise ValueError("the event names no chat (source)")
        try:
            response = self.send_raw_sync(body, headers["X-Line-Signature"])
        except httpx.HTTPError:
            self._answered(turns, None)
            raise
        return self._answered(turns, response.status_code)[0]

    async def act_async(self, event: dict[str, Any], *, display_text: str | None = None) -> UserTurn:
        """:meth:`act` for async code (e.g. a page served by the product's own event loop)."""
        body, headers = self._encode(self.payload(event))
        turns = self._file([event], display_text)
        if not turns:
            raise ValueError("the event names no chat (source)")
        try:
            response = await self.send_raw(body, headers["X-Line-Signature"])
        except httpx.HTTPError:
            self._answered(turns, None)
            raise
        return self._answered(turns, response.status_code)[0]

    def user_says(self, user_id: str, text: str, *, quoted_message_id: str | None = None) -> UserTurn:
        """The person types ``text`` in their chat with the bot; with ``quoted_message_id`` (a
        message id from the chat's record) it is a quote-reply to that message."""
        return self.act(self.text_event(user_id, text, quoted_message_id=quoted_message_id))

    def user_taps(
        self,
        user_id: str,
        data: str,
        *,
        params: dict[str, str] | None = None,
        display_text: str | None = None,
    ) -> UserTurn:
        """The person taps a postback button (quick reply, Flex button, rich menu area)."""
        return self.act(self.postback_event(user_id, data, params), display_text=display_text)

    def user_sends_image(self, user_id: str, content: bytes, content_type: str = "image/jpeg") -> UserTurn:
        """The person sends a photo; the product can download it from the content endpoint."""
        return self.act(self.image_event(user_id, content, content_type))

    def user_follows(self, user_id: str, *, is_unblocked: bool = False) -> UserTurn:
        """The person adds the bot as a friend (or unblocks it)."""
        return self.act(self.follow_event(user_id, is_unblocked=is_unblocked))

    def user_blocks(self, user_id: str) -> UserTurn:
        """The person blocks the bot: pushes to them are dropped from now on."""
        return self.act(self.unfollow_event(user_id))

    # -- sending ------------------------------------------------------------------------------
    async def send(
        self, events: dict[str, Any] | Iterable[dict[str, Any]], *, redelivery: bool = False
    ) -> httpx.Response:
        """POST a signed webhook with ``events`` to ``webhook_url``; returns the product's response."""
        payload = self.payload(events, redelivery=redelivery)
        body, headers = self._encode(payload)
        turns = [] if redelivery else self._file(payload["events"])
        response = await self.send_raw(body, headers["X-Line-Signature"])
        self._answered(turns, response.status_code)
        return response

    def send_sync(
        self, events: dict[str, Any] | Iterable[dict[str, Any]], *, redelivery: bool = False
    ) -> httpx.Response:
        payload = self.payload(events, redelivery=redelivery)
        body, headers = self._encode(payload)
        turns = [] if redelivery else self._file(payload["events"])
        response = self.send_raw_sync(body, headers["X-Line-Signature"])
        self._answered(turns, response.status_code)
        return response

    async def send_raw(self, body: bytes, signature: str | None) -> httpx.Response:
        """POST ``body`` as is, with ``signature`` (None: no X-Line-Signature header)."""
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0"}
        if signature is not None:
            headers["X-Line-Signature"] = signature
        # verify=False: the webhook is plain HTTP on loopback, and skipping the CA bundle saves ~15 ms
        # per request, which dominates a burst of a thousand events.
        async with httpx.AsyncClient(timeout=self.webhook_timeout, trust_env=False, verify=False) as client:
            return await client.post(self._url(), content=body, headers=headers)

    def send_raw_sync(self, body: bytes, signature: str | None) -> httpx.Response:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0"}
        if signature is not None:
            headers["X-Line-Signature"] = signature
        return self._sync_client().post(self._url(), content=body, headers=headers)

    def _sync_client(self) -> httpx.Client:
        """One connection pool for every synchronous send (httpx.Client is safe to share between
        threads); made once, under the lock."""
        with self._lock:
            client = self._webhook_client
            if client is None:
                client = httpx.Client(timeout=self.webhook_timeout, trust_env=False, verify=False)
                self._webhook_client = client
            return client

    async def redeliver(self, event: dict[str, Any]) -> httpx.Response:
        """Send ``event`` again: same webhookEventId (and reply token), ``isRedelivery: true``."""
        return await self.send(event, redelivery=True)

    def redeliver_sync(self, event: dict[str, Any]) -> httpx.Response:
        return self.send_sync(event, redelivery=True)

    async def verify_request(self) -> httpx.Response:
        """The console's "Verify" button: a signed body with ``events: []``."""
        return await self.send([])

    def verify_request_sync(self) -> httpx.Response:
        return self.send_sync([])
