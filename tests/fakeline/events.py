"""Webhook side of the fake: event builders and signed delivery to the product's webhook URL.

Every payload is validated against LINE's ``webhook.yml`` before it is sent, and signed the way
LINE signs it: ``X-Line-Signature = base64(HMAC-SHA256(channel secret, raw body))``.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

import httpx

from . import ids
from .schemas import webhook_errors

if TYPE_CHECKING:
    from collections.abc import Iterable


class WebhookPayloadError(ValueError):
    """A webhook payload does not validate against webhook.yml."""


def sign(channel_secret: str, body: bytes) -> str:
    """LINE's webhook signature of ``body``."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class WebhookMixin:
    """Event builders and senders; mixed into :class:`fakeline.FakeLine`."""

    channel_secret: str
    bot_user_id: str
    webhook_url: str | None
    webhook_timeout: float

    # Provided by FakeLine.
    def issue_reply_token(self, source_id: str) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def add_content(self, message_id: str, content: bytes, content_type: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def _set_friend(self, user_id: str, friend: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    def _set_group_member(self, group_id: str, joined: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    # -- builders ---------------------------------------------------------------------------
    def _base_event(self, etype: str, source: dict[str, Any], *, reply: bool) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": etype,
            "mode": "active",
            "timestamp": int(time.time() * 1000),
            "source": source,
            "webhookEventId": ids.ulid(),
            "deliveryContext": {"isRedelivery": False},
        }
        if reply:
            chat = source.get("groupId") or source.get("roomId") or source["userId"]
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

    async def send(
        self, events: dict[str, Any] | Iterable[dict[str, Any]], *, redelivery: bool = False
    ) -> httpx.Response:
        """POST a signed webhook with ``events`` to ``webhook_url``; returns the product's response."""
        body, headers = self._encode(self.payload(events, redelivery=redelivery))
        return await self.send_raw(body, headers["X-Line-Signature"])

    def send_sync(
        self, events: dict[str, Any] | Iterable[dict[str, Any]], *, redelivery: bool = False
    ) -> httpx.Response:
        body, headers = self._encode(self.payload(events, redelivery=redelivery))
        return self.send_raw_sync(body, headers["X-Line-Signature"])

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
        client = getattr(self, "_webhook_client", None)
        if client is None:
            client = httpx.Client(timeout=self.webhook_timeout, trust_env=False, verify=False)
            self._webhook_client = client  # reused: one connection pool for every synchronous send
        return client.post(self._url(), content=body, headers=headers)

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
