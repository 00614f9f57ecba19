"""The only module that speaks LINE's Messaging API over HTTP.

httpx, not the SDK's aiohttp client: it runs in the worker threads that process events and drain the
outbox, with one pooled connection set, explicit timeouts, and retries we control. Message bodies are
built with line-bot-sdk's models elsewhere (`messages/`) and arrive here as plain dicts.

Retry policy (LINE.md): 429 and 5xx and timeouts are retried with exponential backoff and jitter
(a `Retry-After` header is honoured when present, though LINE normally sends none); a 429 that says the
monthly quota is spent is not retried; 409 on a push/multicast with our retry key means LINE already
accepted it, so it counts as sent; any other 4xx is permanent and reported with LINE's reason.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from bot import line_ids

log = logging.getLogger(__name__)


# A LINE id goes into a request path only once it is known to have LINE's shape (bot/line_ids.py): a
# "message id" such as `../../info?x=` would otherwise reach another endpoint with the bot's token.


class SendStatus(StrEnum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"  # 409: LINE had accepted this retry key before
    INVALID_REPLY_TOKEN = "invalid_reply_token"  # expired or used: fall back to a push
    QUOTA_EXHAUSTED = "quota_exhausted"  # monthly limit: wait for the month to turn
    PERMANENT = "permanent"  # 4xx: bad request, not a friend, blocked...
    TRANSIENT = "transient"  # 429/5xx/timeout still failing after the retries


@dataclass(frozen=True)
class SentMessageRef:
    id: str
    quote_token: str | None = None


@dataclass(frozen=True)
class SendResult:
    status: SendStatus
    sent_messages: tuple[SentMessageRef, ...] = ()
    request_id: str | None = None
    http_status: int | None = None
    error: str | None = None
    attempts: int = 1

    @property
    def delivered(self) -> bool:
        return self.status in (SendStatus.SENT, SendStatus.ALREADY_SENT)


@dataclass
class RetryPolicy:
    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_delay * 4)
        backoff = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return random.uniform(backoff / 2, backoff)  # full jitter, halved floor


class LineApiError(Exception):
    """A non-send call (profile, content) failed."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(message)
        self.status = status


class LineClient:
    """Reply, push, multicast, profile, content download, the loading animation, channel settings."""

    def __init__(
        self,
        *,
        access_token: str,
        api_base_url: str,
        data_api_base_url: str,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {access_token}", "User-Agent": "tidtam/0.1"}
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=16)
        self._api = httpx.Client(
            base_url=api_base_url, headers=headers, timeout=timeout, limits=limits, transport=transport
        )
        self._data = httpx.Client(
            base_url=data_api_base_url, headers=headers, timeout=timeout, limits=limits, transport=transport
        )
        self.retry = retry or RetryPolicy()
        # The sends and the loading animation, a request or two per answered event, go over plain
        # keep-alive HTTP/1.1 connections (`_Wire`): httpx's request machinery cost three times the
        # CPU of the request itself. A test's or a simulation's transport, or a proxy, keeps httpx.
        self._wire = _Wire(api_base_url, headers, timeout) if transport is None and not _proxied() else None

    def close(self) -> None:
        self._api.close()
        self._data.close()
        if self._wire is not None:
            self._wire.close()

    def _post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Answer:
        """POST `body` as JSON to the Messaging API: the same bytes either way (httpx's encoding)."""
        if self._wire is None:
            return self._api.post(path, json=body, headers=headers)
        return self._wire.post(path, _json_bytes(body), headers)

    # --- sending ---------------------------------------------------------------------------------

    def reply(self, reply_token: str, messages: Sequence[dict[str, Any]]) -> SendResult:
        body = {"replyToken": reply_token, "messages": list(messages)}
        return self._send("/v2/bot/message/reply", body, retry_key=None)

    def push(self, to: str, messages: Sequence[dict[str, Any]], *, retry_key: str) -> SendResult:
        body = {"to": to, "messages": list(messages)}
        return self._send("/v2/bot/message/push", body, retry_key=retry_key)

    def multicast(
        self, to: Sequence[str], messages: Sequence[dict[str, Any]], *, retry_key: str
    ) -> SendResult:
        body = {"to": list(to), "messages": list(messages)}
        return self._send("/v2/bot/message/multicast", body, retry_key=retry_key)

    def _send(self, path: str, body: dict[str, Any], *, retry_key: str | None) -> SendResult:
        headers = {"X-Line-Retry-Key": retry_key} if retry_key else {}
        last: SendResult | None = None
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = self._post(path, body, headers)
            except httpx.TimeoutException:
                last = SendResult(SendStatus.TRANSIENT, error="timeout", attempts=attempt)
                retry_after = None
            except httpx.TransportError as exc:
                last = SendResult(
                    SendStatus.TRANSIENT, error=f"transport: {type(exc).__name__}", attempts=attempt
                )
                retry_after = None
            else:
                last = _classify(response, attempt, retry_key is not None)
                retry_after = _retry_after(response)
                if last.status is not SendStatus.TRANSIENT:
                    return last
            if retry_key is None and last.error == "timeout":
                # A reply that timed out may have been delivered; a second try would fail on the used
                # token anyway. Report it and let the caller decide.
                return last
            if attempt < self.retry.attempts:
                self.retry.sleep(self.retry.delay(attempt, retry_after))
        assert last is not None
        log.warning("LINE %s still failing after %d attempts: %s", path, last.attempts, last.error)
        return last

    # --- other calls -------------------------------------------------------------------------------

    def show_loading(self, chat_id: str, seconds: int = 10) -> bool:
        """Start the loading animation in a one-on-one chat; best effort, never raises."""
        seconds = max(5, min(60, 5 * round(seconds / 5)))
        try:
            response = self._post(
                "/v2/bot/chat/loading/start", {"chatId": chat_id, "loadingSeconds": seconds}, {}
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 202 or response.is_success

    def api(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | None = None,
        content_type: str | None = None,
        data_api: bool = False,
    ) -> httpx.Response:
        """A channel-management call (rich menus, webhook settings, quota): retried like the others,
        `LineApiError` on a refusal. Path ids must already be checked by the caller."""
        client = self._data if data_api else self._api
        headers = {"Content-Type": content_type} if content_type else None
        return self._call(lambda: client.request(method, path, json=json, content=content, headers=headers))

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> bool:
        """Show `rich_menu_id` to one user; best effort (a menu is a convenience), never raises."""
        if not line_ids.is_user_id(user_id) or not rich_menu_id.replace("-", "").isalnum():
            return False
        try:
            response = self._api.post(f"/v2/bot/user/{user_id}/richmenu/{rich_menu_id}")
        except httpx.HTTPError:
            return False
        return response.is_success

    def get_profile(self, user_id: str) -> dict[str, Any]:
        if not line_ids.is_user_id(user_id):
            raise LineApiError(None, "not a LINE user id")  # refused before any request is made
        response = self._call(lambda: self._api.get(f"/v2/bot/profile/{user_id}"))
        data: dict[str, Any] = response.json()
        return data

    def message_quota(self) -> dict[str, Any]:
        """The plan's monthly limit: ``{"type": "limited", "value": 300}`` or ``{"type": "none"}``."""
        data: dict[str, Any] = self._call(lambda: self._api.get("/v2/bot/message/quota")).json()
        return data

    def message_quota_consumption(self) -> dict[str, Any]:
        """What LINE counted this month: ``{"totalUsage": 123}``."""
        data: dict[str, Any] = self._call(lambda: self._api.get("/v2/bot/message/quota/consumption")).json()
        return data

    def get_content(self, message_id: str, *, max_bytes: int) -> tuple[bytes, str]:
        """Download a message's content (image...), refusing anything over `max_bytes`, and any
        `message_id` that is not a LINE message id (before any request is made)."""
        if not line_ids.is_message_id(message_id):
            raise LineApiError(None, "not a LINE message id")

        def fetch() -> httpx.Response:
            with self._data.stream("GET", f"/v2/bot/message/{message_id}/content") as response:
                if response.status_code != 200:
                    response.read()
                    return response
                declared = response.headers.get("content-length")
                if declared and int(declared) > max_bytes:
                    raise LineApiError(413, f"content larger than {max_bytes} bytes")
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > max_bytes:
                        raise LineApiError(413, f"content larger than {max_bytes} bytes")
                    chunks.append(chunk)
                response._content = b"".join(chunks)
                return response

        response = self._call(fetch)
        return response.content, response.headers.get("content-type", "application/octet-stream")

    def _call(self, request: Callable[[], httpx.Response]) -> httpx.Response:
        for attempt in range(1, self.retry.attempts + 1):
            try:
                response = request()
            except httpx.TimeoutException:
                error, status, retry_after = "timeout", None, None
            except httpx.TransportError as exc:
                error, status, retry_after = f"transport: {type(exc).__name__}", None, None
            else:
                if response.is_success:
                    return response
                status, error, retry_after = (
                    response.status_code,
                    _error_message(response),
                    _retry_after(response),
                )
                if status != 429 and status < 500:
                    raise LineApiError(status, error)
            if attempt < self.retry.attempts:
                self.retry.sleep(self.retry.delay(attempt, retry_after))
        raise LineApiError(status, error)


def _classify(response: Answer, attempt: int, has_retry_key: bool) -> SendResult:
    request_id = response.headers.get("x-line-request-id")
    status = response.status_code
    if response.is_success:
        payload = response.json() if response.content else {}
        sent = tuple(
            SentMessageRef(str(item.get("id")), item.get("quoteToken"))
            for item in payload.get("sentMessages", [])
        )
        return SendResult(SendStatus.SENT, sent, request_id, status, attempts=attempt)
    message = _error_message(response)
    if status == 409 and has_retry_key:
        accepted = response.headers.get("x-line-accepted-request-id")
        return SendResult(SendStatus.ALREADY_SENT, (), accepted or request_id, status, attempts=attempt)
    if status == 429:
        if "monthly limit" in message.lower():
            return SendResult(SendStatus.QUOTA_EXHAUSTED, (), request_id, status, message, attempt)
        return SendResult(SendStatus.TRANSIENT, (), request_id, status, message, attempt)
    if status >= 500:
        return SendResult(SendStatus.TRANSIENT, (), request_id, status, message, attempt)
    if status == 400 and "reply token" in message.lower():
        return SendResult(SendStatus.INVALID_REPLY_TOKEN, (), request_id, status, message, attempt)
    return SendResult(SendStatus.PERMANENT, (), request_id, status, message, attempt)


def _error_message(response: Answer) -> str:
    try:
        payload = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if isinstance(payload, dict):
        message = str(payload.get("message", f"HTTP {response.status_code}"))
        details = payload.get("details")
        if details:
            message += " " + "; ".join(f"{d.get('property', '')}: {d.get('message', '')}" for d in details)
        return message[:500]
    return f"HTTP {response.status_code}"


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _json_bytes(body: Any) -> bytes:
    """A JSON body exactly as httpx encodes `json=` (compact, UTF-8, no NaN)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def _proxied() -> bool:
    """Whether the environment names an HTTP proxy (which httpx honours and `_Wire` does not)."""
    return any(
        os.environ.get(name)
        for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "https_proxy", "http_proxy", "all_proxy")
    )


class Answer(Protocol):
    """What the client reads of an HTTP answer: an `httpx.Response`, or a `_WireAnswer`."""

    @property
    def status_code(self) -> int: ...

    @property
    def is_success(self) -> bool: ...

    @property
    def content(self) -> bytes: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


@dataclass(frozen=True, slots=True)
class _WireAnswer:
    """An answer read off a `_Wire` connection (header names in lower case, as the client asks)."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status_code < 300

    def json(self) -> Any:
        return json.loads(self.content)


class _Wire:
    """POSTs to one base URL over HTTP/1.1 keep-alive connections, one per thread (the deliverer's
    sending threads each keep theirs), answered as `_WireAnswer`s and failing with httpx's
    exceptions, so `LineClient` classifies and retries them as it does httpx's own."""

    _RETRIED_ON_A_FRESH_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        url = urlsplit(base_url)
        self._https = url.scheme == "https"
        self._host = url.hostname or "localhost"
        self._port = url.port or (443 if self._https else 80)
        self._prefix = url.path.rstrip("/")
        self._headers = {**headers, "Content-Type": "application/json"}
        self._timeout = timeout
        self._ssl: ssl.SSLContext | None = None
        if self._https:
            import certifi  # httpx's own CA bundle

            self._ssl = ssl.create_default_context(cafile=certifi.where())
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> _WireAnswer:
        for attempt in (1, 2):
            connection, reused = self._connection()
            try:
                connection.request(
                    "POST", self._prefix + path, body=body, headers={**self._headers, **headers}
                )
                raw = connection.getresponse()
                content = raw.read()
            except self._RETRIED_ON_A_FRESH_CONNECTION as exc:
                self._drop(connection)
                if reused and attempt == 1:
                    continue  # the server closed the idle connection before reading this request
                raise httpx.RemoteProtocolError(type(exc).__name__) from exc
            except TimeoutError as exc:
                self._drop(connection)
                raise httpx.ReadTimeout("timed out") from exc
            except ConnectionRefusedError as exc:
                self._drop(connection)
                raise httpx.ConnectError(type(exc).__name__) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(connection)
                raise httpx.NetworkError(type(exc).__name__) from exc
            if raw.will_close:
                self._drop(connection)
            return _WireAnswer(raw.status, {k.lower(): v for k, v in raw.getheaders()}, content)
        raise AssertionError("unreachable")

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection, True
        if self._https:
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._ssl
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._local.connection = connection
        with self._lock:
            self._open.add(connection)
        return connection, False

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None
        with self._lock:
            self._open.discard(connection)

    def close(self) -> None:
        with self._lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            connection.close()
