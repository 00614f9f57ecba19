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

import json
import logging
import math
import os
import random
import re
import select
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
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


Attempt = tuple[SendResult, float | None]  # one attempt's outcome and the Retry-After it was given


@dataclass(frozen=True, slots=True)
class Send:
    """A reply, push or multicast to make: the API path, the JSON body, the push's retry key, and the
    body's bytes when they were built from JSON already encoded (`reply_call`'s `messages_json`)."""

    path: str
    body: dict[str, Any]
    retry_key: str | None = None
    encoded: bytes | None = None

    def body_bytes(self) -> bytes:
        """The body as sent: `encoded`, or `body` encoded as httpx encodes `json=`."""
        return self.encoded if self.encoded is not None else _json_bytes(self.body)


def reply_call(
    reply_token: str, messages: Sequence[dict[str, Any]], *, messages_json: str | None = None
) -> Send:
    """A reply; with `messages_json` (the messages already encoded as `_json_bytes` encodes them:
    the outbox row's own JSON, models/outbox.py `insert_replies`) the body's bytes are spliced
    from it instead of encoding the messages a second time."""
    body = {"replyToken": reply_token, "messages": list(messages)}
    if messages_json is None:
        return Send("/v2/bot/message/reply", body)
    encoded = f'{{"replyToken":{_encode_json(reply_token)},"messages":{messages_json}}}'.encode()
    return Send("/v2/bot/message/reply", body, None, encoded)


def push_call(to: str, messages: Sequence[dict[str, Any]], *, retry_key: str) -> Send:
    return Send("/v2/bot/message/push", {"to": to, "messages": list(messages)}, retry_key)


def multicast_call(to: Sequence[str], messages: Sequence[dict[str, Any]], *, retry_key: str) -> Send:
    return Send("/v2/bot/message/multicast", {"to": list(to), "messages": list(messages)}, retry_key)


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

    def _post(
        self, path: str, body: dict[str, Any], headers: dict[str, str], encoded: bytes | None = None
    ) -> Answer:
        """POST `body` as JSON to the Messaging API: the same bytes either way (httpx's encoding);
        `encoded`: those bytes, already made (`Send.encoded`)."""
        if self._wire is None:
            return self._api.post(path, json=body, headers=headers)
        return self._wire.post(path, encoded if encoded is not None else _json_bytes(body), headers)

    # --- sending ---------------------------------------------------------------------------------

    def reply(self, reply_token: str, messages: Sequence[dict[str, Any]]) -> SendResult:
        return self.send(reply_call(reply_token, messages))

    def push(self, to: str, messages: Sequence[dict[str, Any]], *, retry_key: str) -> SendResult:
        return self.send(push_call(to, messages, retry_key=retry_key))

    def multicast(
        self, to: Sequence[str], messages: Sequence[dict[str, Any]], *, retry_key: str
    ) -> SendResult:
        return self.send(multicast_call(to, messages, retry_key=retry_key))

    def send(self, call: Send, *, first: Attempt | None = None) -> SendResult:
        """Send `call` with the retry policy; `first`: its first attempt's outcome, already made
        (`first_attempts`), which the policy goes on from (no request at all when it is final)."""
        headers = {"X-Line-Retry-Key": call.retry_key} if call.retry_key else {}
        attempt = 1
        last, retry_after = first if first is not None else self._attempt(call, headers, attempt)
        while True:
            if last.status is not SendStatus.TRANSIENT:
                return last
            if call.retry_key is None and last.error == "timeout":
                # A reply that timed out may have been delivered; a second try would fail on the used
                # token anyway. Report it and let the caller decide.
                return last
            if attempt >= self.retry.attempts:
                break
            self.retry.sleep(self.retry.delay(attempt, retry_after))
            attempt += 1
            last, retry_after = self._attempt(call, headers, attempt)
        log.warning("LINE %s still failing after %d attempts: %s", call.path, last.attempts, last.error)
        return last

    def _attempt(self, call: Send, headers: dict[str, str], attempt: int) -> Attempt:
        try:
            response = self._post(call.path, call.body, headers, call.encoded)
        except httpx.TransportError as exc:
            return _judge(exc, attempt, call.retry_key is not None)
        return _judge(response, attempt, call.retry_key is not None)

    @property
    def multiplexes(self) -> bool:
        """Whether `first_attempts` can be used: the sends go over `_Wire`, not a test's or a
        simulation's transport, or a proxy."""
        return self._wire is not None

    def first_attempts(self, calls: Sequence[Send], width: int) -> list[Attempt]:
        """Each call's first attempt, made from this thread over up to `width` keep-alive connections
        at once (`_Wire.exchange`), judged as `send` judges an attempt: what `send(call, first=...)`
        goes on from. Only when the client `multiplexes`."""
        wire = self._wire
        if wire is None:
            raise RuntimeError("first_attempts needs the client's own wire (multiplexes)")
        requests: list[bytes | httpx.TransportError] = []
        for call in calls:
            headers = {"X-Line-Retry-Key": call.retry_key} if call.retry_key else {}
            try:
                requests.append(wire.request(call.path, call.body_bytes(), headers))
            except httpx.TransportError as exc:  # refused before any byte is sent, as `post` does
                requests.append(exc)
        answers = wire.exchange(requests, width)
        return [
            _judge(answer, 1, call.retry_key is not None) for call, answer in zip(calls, answers, strict=True)
        ]

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


def _judge(answer: Answer | httpx.TransportError, attempt: int, has_retry_key: bool) -> Attempt:
    """An attempt's outcome: LINE's answer classified, or the transport's failure (TRANSIENT)."""
    if isinstance(answer, httpx.TimeoutException):
        return SendResult(SendStatus.TRANSIENT, error="timeout", attempts=attempt), None
    if isinstance(answer, httpx.TransportError):
        return SendResult(
            SendStatus.TRANSIENT, error=f"transport: {type(answer).__name__}", attempts=attempt
        ), None
    return _classify(answer, attempt, has_retry_key), _retry_after(answer)


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


# What `json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)` builds anew on
# every call (keyword arguments other than the defaults make it construct an encoder), built once.
_encode_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def _json_bytes(body: Any) -> bytes:
    """A JSON body exactly as httpx encodes `json=` (compact, UTF-8, no NaN)."""
    return _encode_json(body).encode("utf-8")


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


# `_Wire`'s bounds on an answer: a larger head, more header lines, a longer chunk-size line or a
# larger body is refused (`httpx.RemoteProtocolError`) rather than read on. LINE's answers to a send
# are a few hundred bytes.
_MAX_HEAD = 65536
_MAX_HEADERS = 100
_MAX_BODY = 16 * 1024 * 1024
_MAX_INTERIM = 8  # 1xx answers skipped before the real one
_RECV = 65536
_HEX = re.compile(rb"[0-9A-Fa-f]{1,16}")


class _Closed(Exception):
    """The server closed the connection (or reset it) before a byte of the answer."""


class _Connection:
    """One keep-alive socket and what has been read off it past the last answer."""

    __slots__ = ("buffer", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def close(self) -> None:
        self.sock.close()


class _Wire:
    """POSTs to one base URL over HTTP/1.1 keep-alive connections, one per thread for `post` (the
    deliverer's sending threads each keep theirs) and a set of idle ones for `exchange` (a batch's
    first attempts, several connections at once from one thread), answered as `_WireAnswer`s and
    failing with httpx's exceptions, so `LineClient` classifies and retries them as it does httpx's
    own.

    A minimal HTTP/1.1 client on a raw socket (TLS through `ssl` for https): the request line, the
    headers and the body go out in one `sendall`; the answer's head is read with `recv` into a buffer
    and split by hand, its body by Content-Length, chunked transfer-encoding, or to the end of the
    connection. `http.client` parsed every answer's headers with the email package, about a third of
    a reply's CPU. Failures: a timeout is `httpx.ReadTimeout`; a refused connection `ConnectError`;
    a reused connection the server had closed (or reset) before answering is retried once on a fresh
    one, and is otherwise `RemoteProtocolError`, as is a malformed or oversized answer; an answer cut
    short, and any other `OSError`, is `NetworkError`."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float) -> None:
        url = urlsplit(base_url)
        self._https = url.scheme == "https"
        self._host = url.hostname or "localhost"
        self._port = url.port or (443 if self._https else 80)
        self._prefix = url.path.rstrip("/")
        self._timeout = timeout
        self._ssl: ssl.SSLContext | None = None
        if self._https:
            import certifi  # httpx's own CA bundle

            self._ssl = ssl.create_default_context(cafile=certifi.where())
        # What every request's head says but its path and length, as http.client wrote it: Host (with
        # the port unless it is the scheme's own), Accept-Encoding: identity, then the client's headers.
        host = f"[{self._host}]" if ":" in self._host else self._host
        if self._port != (443 if self._https else 80):
            host = f"{host}:{self._port}"
        fixed = {"Host": host, "Accept-Encoding": "identity", **headers, "Content-Type": "application/json"}
        self._fixed = "".join(f"{name}: {_header_value(value)}\r\n" for name, value in fixed.items())
        self._heads: dict[str, bytes] = {}  # path → the head up to "Content-Length: "
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[_Connection] = set()
        self._idle: list[_Connection] = []  # `exchange`'s connections between exchanges
        self._openers: ThreadPoolExecutor | None = None  # opens an exchange's new connections at once

    def request(self, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        """The bytes of a POST: its head (`headers` after the fixed ones) and `body`."""
        head = self._heads.get(path)
        if head is None:
            head = self._heads[path] = self._head(path)
        extra = "".join(f"{name}: {_header_value(value)}\r\n" for name, value in headers.items())
        return b"".join((head, b"%d\r\n" % len(body), extra.encode("latin-1"), b"\r\n", body))

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> _WireAnswer:
        request = self.request(path, body, headers)
        for attempt in (1, 2):
            connection, reused = self._connection()
            try:
                connection.sock.sendall(request)
                status, answer_headers, content, keep = _read_answer(connection)
            except (_Closed, OSError, httpx.TransportError) as exc:
                self._forget(connection)
                failure = self._failure(connection, exc)  # the one naming of a failure, as `exchange`'s
                if failure is exc:
                    raise
                if failure is None:
                    if reused and attempt == 1:
                        continue  # the server closed the idle connection before reading this request
                    failure = _disconnected(exc)
                raise failure from exc
            if not keep:
                self._drop(connection)
            return _WireAnswer(status, answer_headers, content)
        raise AssertionError("unreachable")

    def _head(self, path: str) -> bytes:
        target = self._prefix + path
        if not target or any(c <= " " or c == "\x7f" for c in target):
            raise httpx.NetworkError("InvalidURL")  # http.client's refusal, as it was reported
        return f"POST {target} HTTP/1.1\r\n{self._fixed}Content-Length: ".encode("latin-1")

    def exchange(self, requests: Sequence[bytes | httpx.TransportError], width: int) -> list[_Answered]:
        """Send each request once and read its answer, from this thread over up to `width`
        connections at once: each connection carries one request at a time, the next as soon as
        its answer is read; the answers are waited for together (`poll`) and read with
        `_read_answer`. An answer, or the exception `post` would have raised for that attempt, per
        request in order (a request given as an exception stays one, unsent).

        The connections come from (and go back to) a set of idle ones of their own, beside the
        threads' connections `post` uses, and are opened as `post` opens them when there are too few.
        Failures are `post`'s: a reused connection the server had closed (or reset) before a byte of
        the answer has the request sent again once, on a fresh connection; no answer within the
        timeout of the request's sending is `ReadTimeout`; and so on. A connection that failed, or
        whose answer says it closes, is closed."""
        answers: list[_Answered | None] = [
            exc if isinstance(exc, httpx.TransportError) else None for exc in requests
        ]
        todo = deque(i for i, request in enumerate(requests) if not isinstance(request, httpx.TransportError))
        if not todo:
            return answers  # type: ignore[return-value]
        with self._lock:
            take = min(width, len(todo), len(self._idle))
            free = [self._idle.pop() for _ in range(take)]
        free = self._unclosed(free)
        # The connections the exchange will need opened at once, not one round trip after another.
        opened = self._open_many(min(width, len(todo)) - len(free))
        fresh: set[int] = set()  # requests to send again on a new connection
        waiting: dict[_Connection, tuple[int, float, bool]] = {}  # → request, deadline, reused
        owned = len(free)
        poller = select.poll()  # no system call to (un)register: cheaper than epoll for a few
        by_fd: dict[int, _Connection] = {}

        def failed(connection: _Connection, exc: BaseException, index: int, reused: bool) -> None:
            """A connection failed the request on it: closed; the request sent again once on a fresh
            connection when a reused one was closed or reset before answering, else its failure."""
            nonlocal owned
            owned -= 1
            failure = self._failure(connection, exc)
            if failure is None and reused and index not in fresh:
                fresh.add(index)
                todo.appendleft(index)
            else:
                answers[index] = failure or _disconnected(exc)

        try:
            while todo or waiting:
                while todo and (free or owned < width):
                    index = todo.popleft()
                    if free and index not in fresh:
                        connection, reused = free.pop(), True
                    else:
                        if free and owned >= width:
                            self._retire(free.pop())  # as idle as the one that failed: not trusted
                            owned -= 1
                        try:
                            made = opened.pop() if opened else self._open_connection()
                            if isinstance(made, httpx.TransportError):
                                raise made
                            connection = made
                        except httpx.TransportError as exc:
                            answers[index] = exc
                            continue
                        owned += 1
                        reused = False
                    try:
                        connection.sock.sendall(requests[index])  # type: ignore[arg-type]
                    except OSError as exc:
                        failed(connection, exc, index, reused)
                        continue
                    waiting[connection] = (index, time.monotonic() + self._timeout, reused)
                    by_fd[connection.sock.fileno()] = connection
                    poller.register(connection.sock, select.POLLIN)
                if not waiting:
                    continue
                now = time.monotonic()
                wait = max(0.0, min(deadline for _i, deadline, _r in waiting.values()) - now)
                for fd, _events in poller.poll(math.ceil(wait * 1000)):
                    connection = by_fd.pop(fd)
                    poller.unregister(fd)
                    index, _deadline, reused = waiting.pop(connection)
                    try:
                        status, answer_headers, content, keep = _read_answer(connection)
                    except (_Closed, OSError, httpx.TransportError) as exc:
                        failed(connection, exc, index, reused)
                        continue
                    answers[index] = _WireAnswer(status, answer_headers, content)
                    if keep:
                        free.append(connection)
                    else:
                        owned -= 1
                        self._retire(connection)
                now = time.monotonic()
                for connection, (index, deadline, _reused) in list(waiting.items()):
                    if deadline <= now:
                        del waiting[connection]
                        fd = connection.sock.fileno()
                        del by_fd[fd]
                        poller.unregister(fd)
                        owned -= 1
                        self._retire(connection)
                        answers[index] = httpx.ReadTimeout("timed out")
        finally:
            for connection in waiting:  # only after an unexpected error: their answers are not read
                self._retire(connection)
            with self._lock:
                self._idle.extend(free)
                self._idle.extend(c for c in opened if isinstance(c, _Connection))
        return answers  # type: ignore[return-value]

    def _unclosed(self, connections: list[_Connection]) -> list[_Connection]:
        """Idle connections but those the server closed meanwhile (readable while idle: its close,
        or bytes nobody asked for), which are closed: one `poll`, not a request sent in vain."""
        if not connections:
            return connections
        poller = select.poll()
        for connection in connections:
            poller.register(connection.sock, select.POLLIN)
        closed = {fd for fd, _events in poller.poll(0)}
        if not closed:
            return connections
        kept = []
        for connection in connections:
            if connection.sock.fileno() in closed:
                self._retire(connection)
            else:
                kept.append(connection)
        return kept

    def _open_many(self, count: int) -> list[_Connection | httpx.TransportError]:
        """`count` new connections (or each one's failure), opened at once on threads of their own
        when there are several: each is a TCP (and TLS) handshake, round trips to LINE."""
        if count <= 0:
            return []
        if count == 1:
            return [self._opened()]
        with self._lock:
            if self._openers is None:
                self._openers = ThreadPoolExecutor(16, thread_name_prefix="tidtam-connect")
            openers = self._openers
        return list(openers.map(lambda _n: self._opened(), range(count)))

    def _opened(self) -> _Connection | httpx.TransportError:
        try:
            return self._open_connection()
        except httpx.TransportError as exc:
            return exc

    def _failure(self, connection: _Connection, exc: BaseException) -> httpx.TransportError | None:
        """Close a connection an exchange failed on and name the failure as `post` does; None for a
        close or reset before a byte of the answer (sent again once on a fresh connection when the
        connection was a reused one; otherwise `_disconnected`)."""
        self._retire(connection)
        if isinstance(exc, (_Closed, ConnectionResetError, BrokenPipeError)):
            return None
        if isinstance(exc, TimeoutError):
            return httpx.ReadTimeout("timed out")
        if isinstance(exc, httpx.TransportError):
            return exc
        return httpx.NetworkError(type(exc).__name__)

    def _retire(self, connection: _Connection) -> None:
        connection.close()
        with self._lock:
            self._open.discard(connection)

    def _connection(self) -> tuple[_Connection, bool]:
        connection: _Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection, True
        connection = self._open_connection()
        self._local.connection = connection
        return connection, False

    def _open_connection(self) -> _Connection:
        try:
            sock = socket.create_connection((self._host, self._port), timeout=self._timeout)
        except ConnectionRefusedError as exc:
            raise httpx.ConnectError(type(exc).__name__) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out") from exc
        except OSError as exc:
            raise httpx.NetworkError(type(exc).__name__) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self._ssl is not None:
                sock = self._ssl.wrap_socket(sock, server_hostname=self._host)
        except TimeoutError as exc:
            sock.close()
            raise httpx.ReadTimeout("timed out") from exc
        except OSError as exc:
            sock.close()
            raise httpx.NetworkError(type(exc).__name__) from exc
        connection = _Connection(sock)
        with self._lock:
            self._open.add(connection)
        return connection

    def _drop(self, connection: _Connection) -> None:
        self._forget(connection)
        self._retire(connection)

    def _forget(self, connection: _Connection) -> None:
        """This thread's connection for `post` is not `connection` any more."""
        if getattr(self._local, "connection", None) is connection:
            self._local.connection = None

    def close(self) -> None:
        with self._lock:
            connections, self._open, self._idle = list(self._open), set(), []
            openers, self._openers = self._openers, None
        if openers is not None:
            openers.shutdown(wait=True)
        for connection in connections:
            connection.close()


_Answered = _WireAnswer | httpx.TransportError


def _disconnected(exc: BaseException) -> httpx.RemoteProtocolError:
    """`post`'s failure for a connection closed or reset before a byte of the answer."""
    return httpx.RemoteProtocolError("RemoteDisconnected" if isinstance(exc, _Closed) else type(exc).__name__)


def _header_value(value: str) -> str:
    """A header value as sent; one that would end the header line is refused, as http.client did."""
    value = str(value)
    if "\r" in value or "\n" in value:
        raise ValueError(f"Invalid header value {value!r}")
    return value


def _read_answer(connection: _Connection) -> tuple[int, dict[str, str], bytes, bool]:
    """Read one answer off `connection`: (status, lower-case headers, body, whether the connection
    stays open). `_Closed` if the server closed before a byte of it; `RemoteProtocolError` for a
    malformed or oversized answer; `NetworkError` for one cut short."""
    sock = connection.sock
    buffer = connection.buffer
    connection.buffer = b""
    for _interim in range(_MAX_INTERIM + 1):
        # The head: up to the blank line.
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                skip = 4
                break
            end = buffer.find(b"\n\n")  # a server that ends its lines with LF alone
            if end >= 0:
                skip = 2
                break
            if len(buffer) > _MAX_HEAD:
                raise httpx.RemoteProtocolError("answer head too large")
            data = sock.recv(_RECV)
            if not data:
                if buffer:
                    raise httpx.NetworkError("IncompleteRead")
                raise _Closed()
            buffer += data
        if end > _MAX_HEAD:
            raise httpx.RemoteProtocolError("answer head too large")
        lines = buffer[:end].decode("latin-1").replace("\r\n", "\n").split("\n")
        buffer = buffer[end + skip :]
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if (
            not version.startswith("HTTP/")
            or len(code) != 3
            or not (code.isascii() and code.isdigit())
            or rest[3:4] not in ("", " ")
        ):
            raise httpx.RemoteProtocolError("malformed status line")
        status = int(code)
        if len(lines) > _MAX_HEADERS + 1:
            raise httpx.RemoteProtocolError("too many answer headers")
        headers: dict[str, str] = {}
        last = ""
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name[0] in " \t" or name[-1] in " \t":  # the rare shapes
                if line[:1] in (" ", "\t") and headers:  # an obsolete folded continuation
                    headers[last] = f"{headers[last]} {line.strip()}"
                    continue
                name = name.rstrip(" \t")
                if not colon or not name or name[0] in " \t":
                    raise httpx.RemoteProtocolError("malformed answer header")
            last = name.lower()
            headers[last] = value.strip()
        if 100 <= status < 200:
            continue  # an interim answer (100 Continue...): the real one follows
        break
    else:
        raise httpx.RemoteProtocolError("too many interim answers")
    connection_tokens = headers.get("connection", "").lower()
    if version == "HTTP/1.1":
        keep = "close" not in connection_tokens
    else:  # HTTP/1.0 keeps the connection only when it says so
        keep = "keep-alive" in connection_tokens or "keep-alive" in headers
    if status in (204, 304):
        content = b""
    elif headers.get("transfer-encoding", "").lower().rstrip().endswith("chunked"):
        content, buffer = _read_chunked(sock, buffer)
    elif "content-length" in headers:
        declared = headers["content-length"]
        if not (declared.isascii() and declared.isdigit()):
            raise httpx.RemoteProtocolError("malformed Content-Length")
        length = int(declared)
        if length > _MAX_BODY:
            raise httpx.RemoteProtocolError("answer body too large")
        parts = [buffer]
        have = len(buffer)
        while have < length:
            data = sock.recv(max(_RECV, length - have))
            if not data:
                raise httpx.NetworkError("IncompleteRead")
            parts.append(data)
            have += len(data)
        whole = b"".join(parts) if len(parts) > 1 else buffer
        content, buffer = whole[:length], whole[length:]
    else:  # the body runs to the end of the connection
        parts = [buffer]
        have = len(buffer)
        while True:
            data = sock.recv(_RECV)
            if not data:
                break
            have += len(data)
            if have > _MAX_BODY:
                raise httpx.RemoteProtocolError("answer body too large")
            parts.append(data)
        content, buffer, keep = b"".join(parts), b"", False
    if buffer:
        keep = False  # bytes nobody asked for: the connection's next answer could not be trusted
    return status, headers, content, keep


def _read_line(sock: socket.socket, buffer: bytes, limit: int, too_long: str) -> tuple[bytes, bytes]:
    """The next line of an answer from `buffer` and then `sock` (stripped of its line break), and
    what was read past it; `RemoteProtocolError(too_long)` once `limit` bytes hold no line break."""
    end = buffer.find(b"\n")
    while end < 0:
        if len(buffer) > limit:
            raise httpx.RemoteProtocolError(too_long)
        data = sock.recv(_RECV)
        if not data:
            raise httpx.NetworkError("IncompleteRead")
        buffer += data
        end = buffer.find(b"\n")
    return buffer[:end], buffer[end + 1 :]


def _read_chunked(sock: socket.socket, buffer: bytes) -> tuple[bytes, bytes]:
    """A chunked body from `buffer` and then `sock`: (the body, what was read past it)."""
    parts: list[bytes] = []
    size = 0
    while True:
        line, buffer = _read_line(sock, buffer, 1024, "malformed chunk size line")
        line = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(line):
            raise httpx.RemoteProtocolError("malformed chunk size line")
        chunk = int(line, 16)
        if chunk == 0:
            break
        size += chunk
        if size > _MAX_BODY:
            raise httpx.RemoteProtocolError("answer body too large")
        while len(buffer) < chunk + 2:  # the chunk and its CRLF
            data = sock.recv(max(_RECV, chunk + 2 - len(buffer)))
            if not data:
                raise httpx.NetworkError("IncompleteRead")
            buffer += data
        if buffer[chunk : chunk + 2] != b"\r\n":
            raise httpx.RemoteProtocolError("malformed chunk")
        parts.append(buffer[:chunk])
        buffer = buffer[chunk + 2 :]
    # Trailers, if any, up to the blank line.
    for _line in range(_MAX_HEADERS + 1):
        line, buffer = _read_line(sock, buffer, _MAX_HEAD, "answer trailers too large")
        if not line.strip():
            return b"".join(parts), buffer
    raise httpx.RemoteProtocolError("too many answer trailers")
