"""A fake LINE platform: a real HTTP server on 127.0.0.1 that checks every request against LINE's
OpenAPI spec and LINE's documented limits, and records what the product sent.

It serves the Messaging API (api.line.me) and the data API (api-data.line.me) paths on one base
URL.  Nothing here ever talks to LINE's servers.
"""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import parse_qs

import uvicorn

from . import ids, limits
from .events import WebhookMixin
from .schemas import Operation, is_uuid, messaging_spec

DEFAULT_CHANNEL_SECRET = "fakeline-channel-secret-0000000"
DEFAULT_ACCESS_TOKEN = "fakeline-channel-access-token"

MSG_RATE_LIMIT = "The API rate limit has been exceeded. Try again later."
MSG_MONTHLY_LIMIT = "You have reached your monthly limit."
MSG_INVALID_REPLY_TOKEN = "Invalid reply token"
MSG_RETRY_KEY_ACCEPTED = "The retry key is already accepted"
MSG_FAILED_TO_SEND = "Failed to send messages"
MSG_NOT_FOUND = "Not found"
MSG_AUTH = (
    "Authentication failed due to the following reason: invalid token. "
    "Confirm that the access token in the authorization header is valid."
)

# Short names accepted by fail_next / delay_next (besides operationIds and paths).
KINDS: dict[str, str] = {
    "reply": "replyMessage",
    "push": "pushMessage",
    "multicast": "multicast",
    "profile": "getProfile",
    "content": "getMessageContent",
    "loading": "showLoadingAnimation",
    "quota": "getMessageQuota",
    "quota_consumption": "getMessageQuotaConsumption",
    "group_summary": "getGroupSummary",
    "group_members_count": "getGroupMemberCount",
    "richmenu_create": "createRichMenu",
    "richmenu_image": "setRichMenuImage",
    "richmenu_default": "setDefaultRichMenu",
}

_DEFAULT_FAULT_MESSAGES = {
    400: "Bad request",
    401: MSG_AUTH,
    403: "Access to this API is not available for your account",
    404: MSG_NOT_FOUND,
    409: MSG_RETRY_KEY_ACCEPTED,
    429: MSG_RATE_LIMIT,
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}

# Message types that can be quoted, so LINE returns a quoteToken for them in sentMessages.
_QUOTABLE = frozenset({"text", "textV2", "sticker", "image", "video"})

T = TypeVar("T")


@dataclass
class RecordedRequest:
    """One HTTP request the fake received, and what it answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: Any  # parsed JSON, raw bytes for binary bodies, None when empty
    status: int
    response: Any
    operation_id: str | None
    request_id: str
    time: float  # time.time()


@dataclass
class Delivery:
    """Messages LINE accepted for one recipient (one per recipient for multicast)."""

    kind: str  # "reply" | "push" | "multicast"
    to: str  # user, group or room id
    messages: list[dict[str, Any]]
    sent_message_ids: list[str]
    request_id: str
    retry_key: str | None = None
    reply_token: str | None = None
    notification_disabled: bool = False
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Fault:
    """A scripted answer. ``deliver=True``: process the request (messages are delivered) and
    still answer ``status`` - like a 5xx or timeout after LINE accepted the messages."""

    status: int
    deliver: bool = False
    retry_after: float | None = None
    message: str | None = None


@dataclass
class _ReplyToken:
    chat_id: str
    issued_at: float
    used: bool = False


@dataclass
class _Accepted:
    request_id: str
    at: float
    sent_messages: list[dict[str, str]]


class _Answer(Exception):
    """Raised inside request handling to answer right away."""

    def __init__(
        self, status: int, body: Any, *, violation: bool = False, headers: dict[str, str] | None = None
    ):
        super().__init__(status, body)
        self.status = status
        self.body = body
        self.violation = violation
        self.headers = headers or {}


def _error(message: str, details: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message}
    if details:
        body["details"] = [{"message": m, "property": p} for p, m in details]
    return body


class _Server(uvicorn.Server):
    """uvicorn's server with a 10 ms (not 100 ms) exit poll and a quick graceful shutdown, so a
    fake per test costs milliseconds."""

    async def main_loop(self) -> None:
        ticks = 0
        while not self.should_exit:
            if ticks % 100 == 0:
                await self.on_tick(0)  # refreshes the Date header
            ticks += 1
            await asyncio.sleep(0.01)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.config.timeout_graceful_shutdown or 2)
        while (self.server_state.connections or self.server_state.tasks) and not self.force_exit:
            if loop.time() >= deadline:
                break
            await asyncio.sleep(0.01)
        for task in list(self.server_state.tasks):
            task.cancel()
        for server in self.servers:
            await server.wait_closed()


class FakeLine(WebhookMixin):
    """The fake LINE platform. Start it, point the product at ``base_url``, assert on its state."""

    def __init__(
        self,
        *,
        channel_secret: str = DEFAULT_CHANNEL_SECRET,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        webhook_url: str | None = None,
        bot_user_id: str | None = None,
        reply_token_ttl: float = 60.0,
        retry_key_ttl: float = 24 * 3600.0,
        quota_limit: int | None = None,
        webhook_timeout: float = 10.0,
        host: str = "127.0.0.1",
    ) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the fake LINE platform only listens on the loopback interface")
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.webhook_url = webhook_url
        self.bot_user_id = bot_user_id or ids.new_user_id()
        self.reply_token_ttl = reply_token_ttl
        self.retry_key_ttl = retry_key_ttl
        self.quota_limit = quota_limit
        self.webhook_timeout = webhook_timeout
        self.host = host
        self._spec = messaging_spec()  # loaded once per process (functools.cache)
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port: int | None = None
        self._expected_violations: list[re.Pattern[str]] = []
        self._expect_all = False
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("FakeLine is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> FakeLine:
        if self._thread is not None:
            return self
        sock = socket.socket(socket.AF_INET6 if self.host == "::1" else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._asgi,
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            server_header=False,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
        self._server = _Server(config)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.run(sockets=[sock]), name="fakeline", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                self.stop()
                raise RuntimeError("fake LINE server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10.0)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout=5.0)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None
        client = getattr(self, "_webhook_client", None)
        if client is not None:
            client.close()
            self._webhook_client = None

    def __enter__(self) -> FakeLine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything recorded and scripted (configuration is kept)."""
        with self._lock:
            self.requests: list[RecordedRequest] = []
            self.deliveries: list[Delivery] = []
            self.dropped: list[Delivery] = []  # accepted (200) but not delivered: blocked users
            self.violations: list[str] = []
            self.loading_animations: list[tuple[str, int]] = []
            self.quota_used = 0
            self.users: dict[str, dict[str, Any]] = {}
            self.blocked: set[str] = set()
            self.groups: dict[str, dict[str, Any]] = {}
            self.contents: dict[str, tuple[bytes, str]] = {}
            self.rich_menus: dict[str, dict[str, Any]] = {}
            self.rich_menu_images: dict[str, tuple[bytes, str]] = {}
            self.default_rich_menu: str | None = None
            self.user_rich_menus: dict[str, str] = {}
            self._tokens: dict[str, _ReplyToken] = {}
            self._retry_keys: dict[str, _Accepted] = {}
            self._faults: dict[str, deque[Fault]] = defaultdict(deque)
            self._delays: dict[str, deque[float]] = defaultdict(deque)
            self._time_offset = 0.0
            self._expected_violations = []
            self._expect_all = False

    # ------------------------------------------------------------------ clock
    def _now(self) -> float:
        return time.monotonic() + self._time_offset

    def advance_time(self, seconds: float) -> None:
        """Move the fake's clock forward (reply-token expiry, retry-key window)."""
        with self._lock:
            self._time_offset += seconds

    # ------------------------------------------------------------------ state set-up
    def add_user(
        self,
        display_name: str = "ผู้ใช้ทดสอบ",
        *,
        user_id: str | None = None,
        language: str | None = "th",
        picture_url: str | None = None,
        status_message: str | None = None,
    ) -> str:
        """Register a friend with a profile; returns the (new, unless given) user id."""
        uid = user_id or ids.new_user_id()
        profile: dict[str, Any] = {"displayName": display_name, "userId": uid}
        for key, value in (
            ("language", language),
            ("pictureUrl", picture_url),
            ("statusMessage", status_message),
        ):
            if value is not None:
                profile[key] = value
        with self._lock:
            self.users[uid] = profile
            self.blocked.discard(uid)
        return uid

    def add_group(
        self,
        name: str = "กลุ่มทดสอบ",
        *,
        group_id: str | None = None,
        member_count: int = 3,
        picture_url: str | None = None,
    ) -> str:
        """Register a group the bot is a member of; returns the (new, unless given) group id."""
        gid = group_id or ids.new_group_id()
        with self._lock:
            self.groups[gid] = {
                "groupId": gid,
                "groupName": name,
                "memberCount": member_count,
                "pictureUrl": picture_url,
            }
        return gid

    def add_content(self, message_id: str, content: bytes, content_type: str) -> None:
        """Make ``content`` downloadable at /v2/bot/message/{message_id}/content."""
        with self._lock:
            self.contents[str(message_id)] = (bytes(content), content_type)

    def block(self, user_id: str) -> None:
        """The user blocked the bot (or is not a friend): pushes to them are answered 200 but not
        delivered and not counted (LINE FAQ); their profile answers 404."""
        with self._lock:
            self.blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        with self._lock:
            self.blocked.discard(user_id)

    def unfollow(self, user_id: str) -> dict[str, Any]:
        """Block ``user_id`` and return the matching unfollow event (send it with ``fake.send``)."""
        return self.unfollow_event(user_id)

    def _set_friend(self, user_id: str, friend: bool) -> None:
        if friend:
            self.unblock(user_id)
        else:
            self.block(user_id)

    def _set_group_member(self, group_id: str, joined: bool) -> None:
        with self._lock:
            if joined:
                if group_id not in self.groups:
                    self.add_group(group_id=group_id)
            else:
                self.groups.pop(group_id, None)

    def set_quota(self, limit: int | None, used: int | None = None) -> None:
        """Monthly message quota (None: no limit) and, optionally, what is already used."""
        with self._lock:
            self.quota_limit = limit
            if used is not None:
                self.quota_used = used

    def issue_reply_token(self, source_id: str) -> str:
        """A reply token valid for ``reply_token_ttl`` seconds that replies into ``source_id``."""
        token = ids.reply_token()
        with self._lock:
            self._tokens[token] = _ReplyToken(source_id, self._now())
        return token

    # ------------------------------------------------------------------ faults
    @staticmethod
    def _target(path_or_kind: str) -> str:
        return KINDS.get(path_or_kind, path_or_kind)

    def fail_next(
        self,
        path_or_kind: str,
        statuses: Iterable[int | Fault] | int | Fault,
        *,
        retry_after: float | None = None,
    ) -> None:
        """Script the next answers for ``path_or_kind`` ("push", an operationId, a path template
        like "/v2/bot/message/push", a concrete path, or "*"). Each entry is consumed by one
        request; 200 lets that request through normally. ``retry_after`` adds a Retry-After header
        to scripted 429s (LINE itself sends none)."""
        items = [statuses] if isinstance(statuses, int | Fault) else list(statuses)
        with self._lock:
            queue = self._faults[self._target(path_or_kind)]
            for item in items:
                fault = item if isinstance(item, Fault) else Fault(int(item))
                if retry_after is not None and fault.status == 429 and fault.retry_after is None:
                    fault = Fault(fault.status, fault.deliver, retry_after, fault.message)
                queue.append(fault)

    def delay_next(self, path_or_kind: str, seconds: float, *, times: int = 1) -> None:
        """The next ``times`` matching requests wait ``seconds`` before being processed (the
        request still takes effect if the client gives up meanwhile, like LINE)."""
        with self._lock:
            self._delays[self._target(path_or_kind)].extend([seconds] * times)

    def _pop_script(self, scripts: dict[str, deque[T]], op: Operation, path: str) -> T | None:
        for key in (op.operation_id, op.template, path, "*"):
            queue = scripts.get(key)
            if queue:
                return queue.popleft()
        return None

    # ------------------------------------------------------------------ assertions
    def deliveries_to(self, recipient: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.to == recipient]

    def messages_to(self, recipient: str) -> list[dict[str, Any]]:
        """Every message object delivered to a user/group id, in order."""
        return [m for d in self.deliveries_to(recipient) for m in d.messages]

    def texts_to(self, recipient: str) -> list[str]:
        """Text of text messages and altText of flex/template/imagemap messages sent to recipient."""
        out = []
        for m in self.messages_to(recipient):
            if m.get("type") in ("text", "textV2"):
                out.append(m.get("text", ""))
            elif "altText" in m:
                out.append(m["altText"])
        return out

    def sent_message(self, message_id: str) -> tuple[Delivery, dict[str, Any]] | None:
        """The delivery and message object that got ``message_id`` in sentMessages."""
        with self._lock:
            for d in self.deliveries:
                if message_id in d.sent_message_ids:
                    return d, d.messages[d.sent_message_ids.index(message_id)]
        return None

    def requests_to(self, path_or_kind: str) -> list[RecordedRequest]:
        target = self._target(path_or_kind)
        with self._lock:
            return [r for r in self.requests if target in (r.operation_id, r.path)]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
        """Poll ``predicate`` until it returns something truthy (returned); TimeoutError after
        ``timeout`` seconds. Blocks the calling thread: from async code use ``wait_for_async``."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            time.sleep(interval)

    async def wait_for_async(
        self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01
    ) -> T:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"condition not met within {timeout} s")
            await asyncio.sleep(interval)

    def expect_violations(self, pattern: str | None = None) -> None:
        """Declare that this test provokes violations on purpose. With ``pattern`` (a regex) only
        violations matching it are excused."""
        with self._lock:
            if pattern is None:
                self._expect_all = True
            else:
                self._expected_violations.append(re.compile(pattern))

    def unexpected_violations(self) -> list[str]:
        with self._lock:
            if self._expect_all:
                return []
            return [v for v in self.violations if not any(p.search(v) for p in self._expected_violations)]

    # ------------------------------------------------------------------ HTTP
    async def _asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        raw = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method = scope["method"]
        path = scope["path"]
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        status, body, extra = await self._handle(method, path, query, headers, raw)
        if isinstance(body, tuple):  # (bytes, content type)
            payload, ctype = body
        else:
            payload, ctype = json.dumps(body, ensure_ascii=False).encode("utf-8"), "application/json"
        out_headers = [(b"content-type", ctype.encode()), (b"content-length", str(len(payload)).encode())]
        out_headers += [(k.lower().encode(), str(v).encode()) for k, v in extra.items()]
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], raw: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        request_id = ids.request_id()
        extra: dict[str, str] = {"x-line-request-id": request_id}
        op: Operation | None = None
        parsed: Any = raw if raw else None
        try:
            op, params, allowed = self._spec.match(method, path)
            if op is None:
                if allowed:
                    raise _Answer(405, _error(f"Method {method} is not allowed for {path}"), violation=True)
                raise _Answer(404, _error(MSG_NOT_FOUND), violation=True)
            parsed = self._check_request(op, headers, query, raw)
            delay = self._pop_delay(op, path)
            if delay:
                await asyncio.sleep(delay)
            with self._lock:
                fault = self._pop_script(self._faults, op, path)
            if fault is not None and fault.status == 200:
                fault = None
            if fault is not None and not fault.deliver:
                raise self._fault_answer(fault)
            with self._lock:
                status, body = self._dispatch(op, params, headers, parsed, request_id, extra)
            if fault is not None:
                raise self._fault_answer(fault)
        except _Answer as ans:
            status, body = ans.status, ans.body
            extra.update(ans.headers)
            if ans.violation:
                self._violation(method, path, status, body)
        except Exception as exc:  # a bug in the fake must be loud, not a silent 500 the product retries
            status, body = 500, _error("fakeline internal error")
            with self._lock:
                self.violations.append(f"{method} {path} -> 500: fakeline internal error: {exc!r}")
        record = RecordedRequest(
            method=method,
            path=path,
            query=query,
            headers=headers,
            body=parsed,
            status=status,
            response=body if not isinstance(body, tuple) else body[1],
            operation_id=op.operation_id if op else None,
            request_id=request_id,
            time=time.time(),
        )
        with self._lock:
            self.requests.append(record)
        return status, body, extra

    def _pop_delay(self, op: Operation, path: str) -> float | None:
        with self._lock:
            return self._pop_script(self._delays, op, path)

    @staticmethod
    def _fault_answer(fault: Fault) -> _Answer:
        headers = {}
        if fault.retry_after is not None:
            headers["retry-after"] = f"{fault.retry_after:g}"
        message = fault.message or _DEFAULT_FAULT_MESSAGES.get(fault.status, "Error")
        return _Answer(fault.status, _error(message), headers=headers)

    def _violation(self, method: str, path: str, status: int, body: Any) -> None:
        text = f"{method} {path} -> {status}: {body.get('message') if isinstance(body, dict) else body}"
        if isinstance(body, dict) and body.get("details"):
            text += " [" + "; ".join(f"{d['property']}: {d['message']}" for d in body["details"]) + "]"
        with self._lock:
            self.violations.append(text)

    # -- request checks against the spec and LINE's limits ---------------------------------------
    def _check_request(
        self, op: Operation, headers: dict[str, str], query: dict[str, list[str]], raw: bytes
    ) -> Any:
        if headers.get("authorization") != f"Bearer {self.access_token}":
            raise _Answer(401, _error(MSG_AUTH), violation=True)
        known_headers = {name for name, _ in op.header_params}
        if "x-line-retry-key" in headers and "x-line-retry-key" not in known_headers:
            # LINE: X-Line-Retry-Key on an API that does not support it is answered 400.
            raise _Answer(
                400, _error("The X-Line-Retry-Key header is not supported by this API"), violation=True
            )
        missing = [name for name, required in op.header_params if required and name not in headers]
        missing += [name for name, required in op.query_params if required and name not in query]
        if missing:
            raise _Answer(400, _error(f"Missing required parameter(s): {', '.join(missing)}"), violation=True)
        if not op.body_content_types:
            return raw or None
        if not raw:
            if op.body_required:
                raise _Answer(400, _error("The request body is required"), violation=True)
            return None
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if "application/json" not in op.body_content_types:
            return self._check_binary(op, ctype, raw)
        if ctype != "application/json":
            raise _Answer(415, _error(f"The content type, '{ctype}', is not supported"), violation=True)
        try:
            parsed = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            line, col = getattr(exc, "lineno", "-"), getattr(exc, "colno", "-")
            raise _Answer(
                400,
                _error(f"The request body could not be parsed as JSON (line: {line}, column: {col})"),
                violation=True,
            ) from exc
        details: list[tuple[str, str]] = []
        if op.body_schema:
            details = [(e.property, e.message) for e in self._spec.errors(op.body_schema, parsed)]
        if not details and isinstance(parsed, dict):
            details = self._limit_errors(op, parsed)
        if details:
            # Failing a validate/* endpoint is its answer, not a product bug.
            is_violation = not op.template.startswith("/v2/bot/message/validate/")
            raise _Answer(
                400, _error(f"The request body has {len(details)} error(s)", details), violation=is_violation
            )
        return parsed

    @staticmethod
    def _limit_errors(op: Operation, body: dict[str, Any]) -> list[tuple[str, str]]:
        details = limits.message_errors(body["messages"]) if "messages" in body else []
        if op.operation_id == "multicast" and isinstance(body.get("to"), list):
            if len(body["to"]) > limits.MAX_MULTICAST_RECIPIENTS:
                details.append(("to", f"Size must be between 1 and {limits.MAX_MULTICAST_RECIPIENTS}"))
            for i, uid in enumerate(body["to"]):
                if not (isinstance(uid, str) and ids.USER_ID_RE.match(uid)):
                    details.append((f"to[{i}]", "invalid user ID (multicast accepts user IDs only)"))
        if op.operation_id == "showLoadingAnimation":
            seconds = body.get("loadingSeconds", 20)
            if isinstance(seconds, int) and seconds % 5:
                details.append(("loadingSeconds", "must be a multiple of 5"))
        if op.operation_id in ("createRichMenu", "validateRichMenuObject"):
            details.extend(_rich_menu_errors(body))
        return details

    @staticmethod
    def _check_binary(op: Operation, ctype: str, raw: bytes) -> bytes:
        if op.operation_id == "setRichMenuImage":
            if ctype not in ("image/jpeg", "image/png"):
                raise _Answer(400, _error(f"The content type, '{ctype}', is not supported"), violation=True)
            if len(raw) > 1024 * 1024:
                raise _Answer(400, _error("The image size must be at most 1 MB"), violation=True)
        return raw

    # -- operations ------------------------------------------------------------------------------
    def _dispatch(
        self,
        op: Operation,
        params: dict[str, str],
        headers: dict[str, str],
        body: Any,
        request_id: str,
        extra: dict[str, str],
    ) -> tuple[int, Any]:
        handler = getattr(self, f"_op_{op.operation_id}", None)
        if handler is None:
            raise _Answer(
                501, _error(f"{op.operation_id} is not implemented by the fake LINE platform"), violation=True
            )
        return handler(params=params, headers=headers, body=body, request_id=request_id, extra=extra)

    def _sent_messages(self, messages: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, str]]]:
        mids, sent = [], []
        for m in messages:
            mid = ids.message_id()
            mids.append(mid)
            entry = {"id": mid}
            if m.get("type") in _QUOTABLE:
                entry["quoteToken"] = ids.quote_token()
            sent.append(entry)
        return mids, sent

    def _check_retry_key(self, headers: dict[str, str]) -> tuple[str | None, _Answer | None]:
        key = headers.get("x-line-retry-key")
        if key is None:
            return None, None
        if not is_uuid(key):
            raise _Answer(400, _error("The retry key must be a UUID in hexadecimal format"), violation=True)
        key = key.lower()
        accepted = self._retry_keys.get(key)
        if accepted is not None and self._now() - accepted.at < self.retry_key_ttl:
            body: dict[str, Any] = {"message": MSG_RETRY_KEY_ACCEPTED}
            if accepted.sent_messages:
                body["sentMessages"] = accepted.sent_messages
            return key, _Answer(409, body, headers={"x-line-accepted-request-id": accepted.request_id})
        return key, None

    def _check_quota(self, count: int) -> None:
        if self.quota_limit is not None and count and self.quota_used + count > self.quota_limit:
            raise _Answer(429, _error(MSG_MONTHLY_LIMIT))

    def _op_replyMessage(self, *, body: dict[str, Any], request_id: str, **_: Any) -> tuple[int, Any]:
        token = self._tokens.get(body["replyToken"])
        if token is None or token.used or self._now() - token.issued_at > self.reply_token_ttl:
            raise _Answer(400, _error(MSG_INVALID_REPLY_TOKEN))
        token.used = True
        mids, sent = self._sent_messages(body["messages"])
        self.deliveries.append(
            Delivery(
                "reply",
                token.chat_id,
                body["messages"],
                mids,
                request_id,
                reply_token=body["replyToken"],
                notification_disabled=bool(body.get("notificationDisabled")),
            )
        )
        return 200, {"sentMessages": sent}

    def _op_pushMessage(
        self, *, headers: dict[str, str], body: dict[str, Any], request_id: str, **_: Any
    ) -> tuple[int, Any]:
        key, conflict = self._check_retry_key(headers)
        if conflict is not None:
            raise conflict
        to = body["to"]
        if ids.USER_ID_RE.match(to):
            count = 0 if to in self.blocked else 1
        elif (ids.GROUP_ID_RE.match(to) or ids.ROOM_ID_RE.match(to)) and to in self.groups:
            count = int(self.groups[to]["memberCount"])
        else:
            # LINE FAQ: a user/group id that does not exist (for this provider) is answered 400.
            raise _Answer(400, _error(MSG_FAILED_TO_SEND))
        self._check_quota(count)
        self.quota_used += count
        mids, sent = self._sent_messages(body["messages"])
        delivery = Delivery(
            "push", to, body["messages"], mids, request_id, retry_key=key,
            notification_disabled=bool(body.get("notificationDisabled")),
        )  # fmt: skip
        (self.deliveries if count else self.dropped).append(delivery)
        if key is not None:
            self._retry_keys[key] = _Accepted(request_id, self._now(), sent)
        return 200, {"sentMessages": sent}

    def _op_multicast(
        self, *, headers: dict[str, str], body: dict[str, Any], request_id: str, **_: Any
    ) -> tuple[int, Any]:
        key, conflict = self._check_retry_key(headers)
        if conflict is not None:
            raise conflict
        recipients = list(dict.fromkeys(body["to"]))
        reachable = [u for u in recipients if u not in self.blocked]
        self._check_quota(len(reachable))
        self.quota_used += len(reachable)
        for uid in recipients:
            mids, _sent = self._sent_messages(body["messages"])
            delivery = Delivery(
                "multicast", uid, body["messages"], mids, request_id, retry_key=key,
                notification_disabled=bool(body.get("notificationDisabled")),
            )  # fmt: skip
            (self.deliveries if uid not in self.blocked else self.dropped).append(delivery)
        if key is not None:
            self._retry_keys[key] = _Accepted(request_id, self._now(), [])
        return 200, {}  # MulticastResponse is an empty object in the spec

    def _op_getProfile(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        uid = params["userId"]
        if uid in self.blocked or not ids.USER_ID_RE.match(uid):
            raise _Answer(404, _error(MSG_NOT_FOUND))
        profile = self.users.get(uid) or {"displayName": f"ผู้ใช้ {uid[-4:]}", "userId": uid, "language": "th"}
        return 200, profile

    def _content(self, message_id: str) -> tuple[bytes, str]:
        found = self.contents.get(message_id)
        if found is None:
            raise _Answer(404, _error(MSG_NOT_FOUND))
        return found

    def _op_getMessageContent(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        return 200, self._content(params["messageId"])

    def _op_getMessageContentPreview(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        return 200, self._content(params["messageId"])

    def _op_getMessageContentTranscodingByMessageId(
        self, *, params: dict[str, str], **_: Any
    ) -> tuple[int, Any]:
        self._content(params["messageId"])
        return 200, {"status": "succeeded"}

    def _op_showLoadingAnimation(self, *, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        chat_id = body["chatId"]
        if not ids.USER_ID_RE.match(chat_id):
            # One-on-one chats only.
            raise _Answer(400, _error("The property, 'chatId', in the request body is invalid"))
        self.loading_animations.append((chat_id, int(body.get("loadingSeconds", 20))))
        return 202, {}

    def _op_getMessageQuota(self, **_: Any) -> tuple[int, Any]:
        if self.quota_limit is None:
            return 200, {"type": "none"}
        return 200, {"type": "limited", "value": self.quota_limit}

    def _op_getMessageQuotaConsumption(self, **_: Any) -> tuple[int, Any]:
        return 200, {"totalUsage": self.quota_used}

    def _op_getBotInfo(self, **_: Any) -> tuple[int, Any]:
        return 200, {
            "userId": self.bot_user_id,
            "basicId": "@000fake",
            "displayName": "Tidtam (fake)",
            "chatMode": "bot",
            "markAsReadMode": "manual",
        }

    def _group(self, group_id: str) -> dict[str, Any]:
        group = self.groups.get(group_id)
        if group is None:
            raise _Answer(404, _error(MSG_NOT_FOUND))
        return group

    def _op_getGroupSummary(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        g = self._group(params["groupId"])
        out = {"groupId": g["groupId"], "groupName": g["groupName"]}
        if g.get("pictureUrl"):
            out["pictureUrl"] = g["pictureUrl"]
        return 200, out

    def _op_getGroupMemberCount(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        return 200, {"count": int(self._group(params["groupId"])["memberCount"])}

    def _op_leaveGroup(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        self._group(params["groupId"])
        del self.groups[params["groupId"]]
        return 200, {}

    # validate/* endpoints: the request was already checked; reaching here means it is valid.
    def _op_validateReply(self, **_: Any) -> tuple[int, Any]:
        return 200, {}

    _op_validatePush = _op_validateMulticast = _op_validateBroadcast = _op_validateNarrowcast = (
        _op_validateReply
    )
    _op_validateRichMenuObject = _op_validateReply

    # -- rich menus ----------------------------------------------------------------------------
    def _rich_menu(self, rich_menu_id: str) -> dict[str, Any]:
        menu = self.rich_menus.get(rich_menu_id)
        if menu is None:
            raise _Answer(404, _error(MSG_NOT_FOUND))
        return menu

    def _op_createRichMenu(self, *, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        rid = "richmenu-" + ids.reply_token()
        self.rich_menus[rid] = {"richMenuId": rid, **body}
        return 200, {"richMenuId": rid}

    def _op_setRichMenuImage(
        self, *, params: dict[str, str], headers: dict[str, str], body: Any, **_: Any
    ) -> tuple[int, Any]:
        rid = params["richMenuId"]
        self._rich_menu(rid)
        if rid in self.rich_menu_images:
            raise _Answer(400, _error("An image has already been uploaded to the richmenu"))
        self.rich_menu_images[rid] = (bytes(body or b""), headers.get("content-type", ""))
        return 200, {}

    def _op_getRichMenuImage(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        image = self.rich_menu_images.get(params["richMenuId"])
        if image is None:
            raise _Answer(404, _error(MSG_NOT_FOUND))
        return 200, image

    def _op_getRichMenu(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        return 200, self._rich_menu(params["richMenuId"])

    def _op_getRichMenuList(self, **_: Any) -> tuple[int, Any]:
        return 200, {"richmenus": list(self.rich_menus.values())}

    def _op_deleteRichMenu(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        rid = params["richMenuId"]
        self._rich_menu(rid)
        del self.rich_menus[rid]
        self.rich_menu_images.pop(rid, None)
        if self.default_rich_menu == rid:
            self.default_rich_menu = None
        return 200, {}

    def _op_setDefaultRichMenu(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        rid = params["richMenuId"]
        self._rich_menu(rid)
        if rid not in self.rich_menu_images:
            raise _Answer(400, _error("must upload richmenu image before applying it to user"))
        self.default_rich_menu = rid
        return 200, {}

    def _op_getDefaultRichMenuId(self, **_: Any) -> tuple[int, Any]:
        if self.default_rich_menu is None:
            raise _Answer(404, _error("no default richmenu"))
        return 200, {"richMenuId": self.default_rich_menu}

    def _op_cancelDefaultRichMenu(self, **_: Any) -> tuple[int, Any]:
        self.default_rich_menu = None
        return 200, {}

    def _op_linkRichMenuIdToUser(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        rid = params["richMenuId"]
        self._rich_menu(rid)
        if rid not in self.rich_menu_images:
            raise _Answer(400, _error("must upload richmenu image before applying it to user"))
        self.user_rich_menus[params["userId"]] = rid
        return 200, {}

    def _op_unlinkRichMenuIdFromUser(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        self.user_rich_menus.pop(params["userId"], None)
        return 200, {}

    def _op_getRichMenuIdOfUser(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        rid = self.user_rich_menus.get(params["userId"])
        if rid is None:
            raise _Answer(404, _error("the user has no richmenu"))
        return 200, {"richMenuId": rid}


def _rich_menu_errors(body: dict[str, Any]) -> list[tuple[str, str]]:
    """Rich menu object limits from LINE's reference (size, areas)."""
    details: list[tuple[str, str]] = []
    for key in ("size", "selected", "name", "chatBarText", "areas"):
        if key not in body:
            details.append((key, "must be specified"))
    size = body.get("size") or {}
    width, height = size.get("width"), size.get("height")
    if (
        isinstance(width, int)
        and isinstance(height, int)
        and (not 800 <= width <= 2500 or height < 250 or width / height < 1.45)
    ):
        details.append(("size", "width must be 800-2500, height at least 250, width/height at least 1.45"))
    areas = body.get("areas")
    if isinstance(areas, list) and len(areas) > 20:
        details.append(("areas", "Size must be between 0 and 20"))
    return details
