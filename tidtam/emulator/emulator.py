"""The LINE emulator: LINE's Messaging API as the product calls it, checked the way LINE checks it.

An ASGI app that answers the Messaging API (``api.line.me``) and the data API
(``api-data.line.me``) paths on one base URL: reply, push, multicast, profile, content download,
the loading animation, quota and consumption, rich menus (create, upload the image, set the
default, link per user or in bulk, aliases, list, delete), groups and the validate endpoints. Every request is
checked against LINE's OpenAPI spec and documented limits first (``rules.py``); what LINE would
refuse is answered as LINE answers it, and recorded.

Use it in either of two ways; the product runs its production path against both:

* on its own loopback port: ``LineEmulator().start()``, then point ``LINE_API_BASE_URL`` and
  ``LINE_DATA_API_BASE_URL`` at ``emulator.base_url`` (what the tests do);
* mounted in an ASGI app (the emulator is itself an ASGI app): ``app.mount("/line", emulator)``,
  then point both base URLs at ``<service URL>/line``.

What happened is readable while it runs, from any thread: ``conversation(chat_id)`` (both sides of
a chat: the person's events, the bot's replies and pushes with the month's quota used, the loading
animation, refused requests), ``refusals()``, ``quota()``, ``rich_menu_of(user_id)``; a person's
actions are sent to the product's ``/callback`` as signed webhooks with ``user_says``,
``user_taps``, ``user_sends_image``, ``user_follows``, ``act`` (``events.py``).

Nothing here ever talks to LINE's servers.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

import httpx

from . import ids, rules
from .events import WebhookMixin
from .records import ChatLog, ChatTurn, Delivery, LoadingShown, RecordedRequest, Refusal
from .rules import (
    DEFAULT_FAULT_MESSAGES,
    MSG_FAILED_TO_SEND,
    MSG_INVALID_REPLY_TOKEN,
    MSG_MONTHLY_LIMIT,
    MSG_NOT_FOUND,
    MSG_RETRY_KEY_ACCEPTED,
    Refused,
    error_body,
)
from .schemas import Operation, messaging_spec
from .server import LOOPBACK_HOSTS, LoopbackServer

DEFAULT_CHANNEL_SECRET = "tidtam-emulator-channel-secret-0"
DEFAULT_ACCESS_TOKEN = "tidtam-emulator-channel-access-token"

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
    "richmenu_link": "linkRichMenuIdToUser",
    "richmenu_list": "getRichMenuList",
    "richmenu_delete": "deleteRichMenu",
    "richmenu_bulk_link": "linkRichMenuIdToUsers",
    "richmenu_alias": "createRichMenuAlias",
}

# Message types that can be quoted, so LINE returns a quoteToken for them in sentMessages.
_QUOTABLE = frozenset({"text", "textV2", "sticker", "image", "video"})

# Operations whose refusals belong in a chat's record (they were meant for that chat).
_CHAT_OPERATIONS = frozenset({"replyMessage", "pushMessage", "multicast", "showLoadingAnimation"})

T = TypeVar("T")


@dataclass(frozen=True)
class Fault:
    """A scripted answer. ``deliver=True``: process the request (messages are delivered) and
    still answer ``status`` - like a 5xx or timeout after LINE accepted the messages."""

    status: int
    deliver: bool = False
    retry_after: float | None = None
    message: str | None = None


@dataclass(frozen=True)
class Quota:
    """The month's push quota: ``limit`` None means no limit; ``month`` ("2027-01") is None when
    the emulator has no clock (one period that never turns)."""

    limit: int | None
    used: int
    month: str | None

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)


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


class LineEmulator(WebhookMixin):
    """LINE's side of the product: start it (or mount it), point the product at it, read its record.

    ``clock``: the product's clock (an aware ``datetime`` each call). It stamps events, ages reply
    tokens and retry keys, and turns the quota's month (in ``timezone``: LINE does not say in
    which zone a Thai account's month turns; Bangkok's is taken). Without one, events carry the
    machine's time, tokens age on a monotonic clock and the quota's month never turns."""

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
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
        timezone: str = "Asia/Bangkok",
    ) -> None:
        if host not in LOOPBACK_HOSTS:
            raise ValueError("the LINE emulator only listens on the loopback interface")
        self.channel_secret = channel_secret
        self.access_token = access_token
        self.webhook_url = webhook_url
        self.bot_user_id = bot_user_id or ids.new_user_id()
        self.reply_token_ttl = reply_token_ttl
        self.retry_key_ttl = retry_key_ttl
        self.quota_limit = quota_limit
        self.webhook_timeout = webhook_timeout
        self.host = host
        self.clock = clock
        self.tz = ZoneInfo(timezone)
        self._spec = messaging_spec()  # loaded once per process (functools.cache)
        self._lock = threading.RLock()
        self._server = LoopbackServer(self, host=host, port=port)
        self.port: int | None = None
        self.log = ChatLog()
        self._expected_violations: list[re.Pattern[str]] = []
        self._expect_all = False
        self.reset()

    # ------------------------------------------------------------------ lifecycle
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("the LINE emulator is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def server_thread(self) -> threading.Thread | None:
        """The thread of its own loopback server, while started (`start`)."""
        return self._server.thread

    def start(self) -> LineEmulator:
        """Serve on the loopback port (a free one unless ``port`` was given); returns self."""
        self._server.start()
        self.port = self._server.port
        return self

    def stop(self) -> None:
        self._server.stop()
        with self._lock:
            client, self._webhook_client = self._webhook_client, None
        if client is not None:
            client.close()

    def __enter__(self) -> LineEmulator:
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
            self._usage: dict[str | None, int] = {}
            self.users: dict[str, dict[str, Any]] = {}
            self.blocked: set[str] = set()
            self.groups: dict[str, dict[str, Any]] = {}
            self.contents: dict[str, tuple[bytes, str]] = {}
            self.rich_menus: dict[str, dict[str, Any]] = {}
            self.rich_menu_images: dict[str, tuple[bytes, str]] = {}
            self.default_rich_menu: str | None = None
            self.user_rich_menus: dict[str, str] = {}
            self.rich_menu_aliases: dict[str, str] = {}  # alias id -> rich menu id
            self._tokens: dict[str, _ReplyToken] = {}
            self._retry_keys: dict[str, _Accepted] = {}
            self._faults: dict[str, deque[Fault]] = defaultdict(deque)
            self._delays: dict[str, deque[float]] = defaultdict(deque)
            self._time_offset = 0.0
            self._expected_violations = []
            self._expect_all = False
            self.log.clear()

    # ------------------------------------------------------------------ keeping the record
    def save_record(self, path: Path) -> None:
        """Write the chats' record, the months' quota use and the rich menus (with their images,
        the default, each user's and the aliases) to ``path`` (JSON), for a restart."""
        with self._lock:
            data = {
                "version": 1,
                "log": self.log.dump(),
                "usage": {k or "": v for k, v in self._usage.items()},
                "rich_menus": {
                    "menus": self.rich_menus,
                    "images": {
                        rid: [base64.b64encode(body).decode("ascii"), kind]
                        for rid, (body, kind) in self.rich_menu_images.items()
                    },
                    "default": self.default_rich_menu,
                    "users": self.user_rich_menus,
                    "aliases": self.rich_menu_aliases,
                },
            }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)

    def load_record(self, path: Path) -> int:
        """Read back what ``save_record`` wrote (nothing when there is no such file, or it is not
        one); returns the number of turns restored."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != 1:
                return 0
            turns = self.log.restore(data["log"])
        except (OSError, ValueError, KeyError, TypeError):
            return 0
        menus = data.get("rich_menus", {})
        with self._lock:
            self._usage = {k or None: int(v) for k, v in data.get("usage", {}).items()}
            self.deliveries = [t for t in turns if isinstance(t, Delivery)]
            self.rich_menus = dict(menus.get("menus", {}))
            self.rich_menu_images = {
                rid: (base64.b64decode(body), kind) for rid, (body, kind) in menus.get("images", {}).items()
            }
            self.default_rich_menu = menus.get("default")
            self.user_rich_menus = dict(menus.get("users", {}))
            self.rich_menu_aliases = dict(menus.get("aliases", {}))
        return len(turns)

    # ------------------------------------------------------------------ clock
    def wall_time(self) -> datetime:
        """Now, by the product's clock when one was given (aware, UTC otherwise)."""
        return self.clock() if self.clock is not None else datetime.now(UTC)

    def _now(self) -> float:
        base = self.clock().timestamp() if self.clock is not None else time.monotonic()
        return base + self._time_offset

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clock forward (reply-token expiry, retry-key window)."""
        with self._lock:
            self._time_offset += seconds

    def _month(self) -> str | None:
        if self.clock is None:
            return None
        return self.clock().astimezone(self.tz).strftime("%Y-%m")

    @property
    def quota_used(self) -> int:
        """Messages counted against this month's quota (pushes × recipients; replies are free)."""
        with self._lock:
            return self._usage.get(self._month(), 0)

    @quota_used.setter
    def quota_used(self, value: int) -> None:
        with self._lock:
            self._usage[self._month()] = value

    def quota(self) -> Quota:
        with self._lock:
            month = self._month()
            return Quota(self.quota_limit, self._usage.get(month, 0), month)

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

    def content(self, message_id: str) -> tuple[bytes, str] | None:
        """(bytes, content type) of what a user sent in message ``message_id`` (a photo), if any."""
        with self._lock:
            return self.contents.get(str(message_id))

    def block(self, user_id: str) -> None:
        """The user blocked the bot (or is not a friend): pushes to them are answered 200 but not
        delivered and not counted (LINE FAQ); their profile answers 404."""
        with self._lock:
            self.blocked.add(user_id)

    def unblock(self, user_id: str) -> None:
        with self._lock:
            self.blocked.discard(user_id)

    def unfollow(self, user_id: str) -> dict[str, Any]:
        """Block ``user_id`` and return the matching unfollow event (send it with ``emulator.send``)."""
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
        """Monthly message quota (None: no limit) and, optionally, what this month has used."""
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

    # ------------------------------------------------------------------ the record, for a page
    def conversation(self, chat_id: str, *, after: int = 0) -> list[ChatTurn]:
        """Both sides of a chat (a user, group or room id) in order, numbered above ``after``:
        :class:`UserTurn`, :class:`Delivery`, :class:`LoadingShown`, :class:`Refusal`."""
        return self.log.conversation(chat_id, after=after)

    def chats(self) -> list[str]:
        """Every chat with something in its record."""
        return self.log.chats()

    def refusals(self, *, after: int = 0) -> list[Refusal]:
        """Every request LINE refused, with LINE's error body, in order."""
        return self.log.refusals(after=after)

    @property
    def last_seq(self) -> int:
        """The number of the latest turn filed in any chat (0: none yet)."""
        return self.log.last_seq

    def wait_for_activity(self, after: int, timeout: float) -> int:
        """Block until something numbered above ``after`` is filed or ``timeout`` seconds pass;
        returns the latest number (a page's long poll; run it off the event loop)."""
        return self.log.wait(after, timeout)

    def profile(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            profile = self.users.get(user_id)
            return dict(profile) if profile is not None else None

    def rich_menu_of(self, user_id: str) -> dict[str, Any] | None:
        """The rich menu LINE shows ``user_id``: the one linked to them, else the default."""
        with self._lock:
            rid = self.user_rich_menus.get(user_id) or self.default_rich_menu
            menu = self.rich_menus.get(rid) if rid else None
            return dict(menu) if menu is not None else None

    def rich_menu_by_alias(self, alias: str) -> dict[str, Any] | None:
        """The rich menu a ``richmenuswitch`` action's ``richMenuAliasId`` names."""
        with self._lock:
            rid = self.rich_menu_aliases.get(alias)
            menu = self.rich_menus.get(rid) if rid else None
            return dict(menu) if menu is not None else None

    def rich_menu_image(self, rich_menu_id: str) -> tuple[bytes, str] | None:
        """(image bytes, content type) uploaded for a rich menu."""
        with self._lock:
            return self.rich_menu_images.get(rich_menu_id)

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
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """The ASGI app: serve it on its own port (``start``) or mount it in the service."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
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
        root = scope.get("root_path", "")
        if root and path.startswith(root + "/"):  # mounted: the paths below the mount point are LINE's
            path = path[len(root) :]
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
        refused: Refused | None = None
        try:
            op, params, allowed = self._spec.match(method, path)
            if op is None:
                if allowed:
                    raise Refused(
                        405, error_body(f"Method {method} is not allowed for {path}"), violation=True
                    )
                raise Refused(404, error_body(MSG_NOT_FOUND), violation=True)
            parsed = rules.check_request(self._spec, op, headers, query, raw, access_token=self.access_token)
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
        except Refused as ans:
            refused = ans
            status, body = ans.status, ans.body
            extra.update(ans.headers)
            if ans.violation:
                self._violation(rules.violation_text(method, path, status, body))
        except Exception as exc:  # a bug in the emulator must be loud, not a silent 500 the product retries
            status, body = 500, error_body("LINE emulator internal error")
            refused = Refused(status, body, violation=True)
            self._violation(f"{method} {path} -> 500: LINE emulator internal error: {exc!r}")
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
            if refused is not None:
                self._file_refusal(record, refused, raw)
        return status, body, extra

    def _pop_delay(self, op: Operation, path: str) -> float | None:
        with self._lock:
            return self._pop_script(self._delays, op, path)

    @staticmethod
    def _fault_answer(fault: Fault) -> Refused:
        headers = {}
        if fault.retry_after is not None:
            headers["retry-after"] = f"{fault.retry_after:g}"
        message = fault.message or DEFAULT_FAULT_MESSAGES.get(fault.status, "Error")
        return Refused(fault.status, error_body(message), headers=headers, scripted=True)

    def _violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def _file_refusal(self, record: RecordedRequest, refused: Refused, raw: bytes) -> None:
        request_body = record.body if not isinstance(record.body, bytes) else _json_or_none(raw)
        if isinstance(request_body, bytes):
            request_body = None
        chat_ids = self._chats_of(record.operation_id, request_body)
        refusal = Refusal(
            seq=0,
            at=self.wall_time(),
            method=record.method,
            path=record.path,
            operation_id=record.operation_id,
            status=record.status,
            body=refused.body,
            request_body=request_body,
            violation=refused.violation,
            scripted=refused.scripted,
            chat_ids=chat_ids,
            request_id=record.request_id,
        )
        self.log.add(chat_ids, refusal)

    def _chats_of(self, operation_id: str | None, body: Any) -> tuple[str, ...]:
        """The chats a refused request was meant for (only for the operations that send to a chat)."""
        if operation_id not in _CHAT_OPERATIONS or not isinstance(body, dict):
            return ()
        if operation_id == "replyMessage":
            reply_token = body.get("replyToken")
            token = self._tokens.get(reply_token) if isinstance(reply_token, str) else None
            return (token.chat_id,) if token is not None else ()
        target = body.get("chatId") if operation_id == "showLoadingAnimation" else body.get("to")
        if isinstance(target, str):
            return (target,)
        if isinstance(target, list):
            return tuple(dict.fromkeys(t for t in target if isinstance(t, str)))
        return ()

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
            raise Refused(
                501, error_body(f"{op.operation_id} is not implemented by the LINE emulator"), violation=True
            )
        result: tuple[int, Any] = handler(
            params=params, headers=headers, body=body, request_id=request_id, extra=extra
        )
        return result

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

    def _deliver(self, delivery: Delivery, sent: list[dict[str, str]], *, reached: bool = True) -> None:
        """Record what LINE accepted: in ``deliveries`` and the chat's record when it reached the
        chat, in ``dropped`` when the user had blocked the bot."""
        delivery.quote_tokens = [s.get("quoteToken") for s in sent]
        delivery.quota_used = self.quota_used
        delivery.quota_limit = self.quota_limit
        delivery.at = self.wall_time()
        if not reached:
            self.dropped.append(delivery)
            return
        self.deliveries.append(self.log.add([delivery.to], delivery))

    def _check_retry_key(self, headers: dict[str, str]) -> tuple[str | None, Refused | None]:
        key = rules.check_retry_key(headers)
        if key is None:
            return None, None
        accepted = self._retry_keys.get(key)
        if accepted is not None and self._now() - accepted.at < self.retry_key_ttl:
            body: dict[str, Any] = {"message": MSG_RETRY_KEY_ACCEPTED}
            if accepted.sent_messages:
                body["sentMessages"] = accepted.sent_messages
            return key, Refused(409, body, headers={"x-line-accepted-request-id": accepted.request_id})
        return key, None

    def _check_quota(self, count: int) -> None:
        if self.quota_limit is not None and count and self.quota_used + count > self.quota_limit:
            raise Refused(429, error_body(MSG_MONTHLY_LIMIT))

    def _op_replyMessage(self, *, body: dict[str, Any], request_id: str, **_: Any) -> tuple[int, Any]:
        token = self._tokens.get(body["replyToken"])
        if token is None or token.used or self._now() - token.issued_at > self.reply_token_ttl:
            raise Refused(400, error_body(MSG_INVALID_REPLY_TOKEN))
        token.used = True
        mids, sent = self._sent_messages(body["messages"])
        delivery = Delivery(
            "reply", token.chat_id, body["messages"], mids, request_id, reply_token=body["replyToken"],
            notification_disabled=bool(body.get("notificationDisabled")),
        )  # fmt: skip
        self._deliver(delivery, sent)
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
            raise Refused(400, error_body(MSG_FAILED_TO_SEND))
        self._check_quota(count)
        self.quota_used += count
        mids, sent = self._sent_messages(body["messages"])
        delivery = Delivery(
            "push", to, body["messages"], mids, request_id, retry_key=key,
            notification_disabled=bool(body.get("notificationDisabled")),
        )  # fmt: skip
        self._deliver(delivery, sent, reached=bool(count))
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
            mids, sent = self._sent_messages(body["messages"])
            delivery = Delivery(
                "multicast", uid, body["messages"], mids, request_id, retry_key=key,
                notification_disabled=bool(body.get("notificationDisabled")),
            )  # fmt: skip
            self._deliver(delivery, sent, reached=uid not in self.blocked)
        if key is not None:
            self._retry_keys[key] = _Accepted(request_id, self._now(), [])
        return 200, {}  # MulticastResponse is an empty object in the spec

    def _op_getProfile(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        uid = params["userId"]
        if uid in self.blocked or not ids.USER_ID_RE.match(uid):
            raise Refused(404, error_body(MSG_NOT_FOUND))
        profile = self.users.get(uid) or {"displayName": f"ผู้ใช้ {uid[-4:]}", "userId": uid, "language": "th"}
        return 200, profile

    def _content(self, message_id: str) -> tuple[bytes, str]:
        found = self.contents.get(message_id)
        if found is None:
            raise Refused(404, error_body(MSG_NOT_FOUND))
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
            raise Refused(400, error_body("The property, 'chatId', in the request body is invalid"))
        seconds = int(body.get("loadingSeconds", 20))
        self.loading_animations.append((chat_id, seconds))
        self.log.add([chat_id], LoadingShown(0, self.wall_time(), chat_id, seconds))
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

    # The channel's webhook settings (`tidtam line setup` / `tidtam line check`). The endpoint set here is
    # only recorded and tested: events keep going to ``webhook_url``, which tests and the demo set.
    def _op_setWebhookEndpoint(self, *, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        self.webhook_endpoint = str(body.get("endpoint", ""))
        return 200, {}

    def _op_getWebhookEndpoint(self, **_: Any) -> tuple[int, Any]:
        endpoint = getattr(self, "webhook_endpoint", "") or self.webhook_url or ""
        return 200, {"endpoint": endpoint, "active": bool(endpoint)}

    def _op_testWebhookEndpoint(self, *, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        """Like the console's "Verify": a signed body with no events, sent to the endpoint."""
        endpoint = str(
            body.get("endpoint") or getattr(self, "webhook_endpoint", "") or self.webhook_url or ""
        )
        payload, headers = self._encode({"destination": self.bot_user_id, "events": []})
        result: dict[str, Any] = {"timestamp": datetime.now(UTC).isoformat(), "detail": ""}
        try:
            response = httpx.post(endpoint, content=payload, headers=headers, timeout=5.0)
        except httpx.HTTPError as exc:
            return 200, {**result, "success": False, "statusCode": 0, "reason": type(exc).__name__}
        ok = response.status_code == 200
        return 200, {
            **result,
            "success": ok,
            "statusCode": response.status_code,
            "reason": "OK" if ok else "ERROR",
        }

    def _group(self, group_id: str) -> dict[str, Any]:
        group = self.groups.get(group_id)
        if group is None:
            raise Refused(404, error_body(MSG_NOT_FOUND))
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
            raise Refused(404, error_body(MSG_NOT_FOUND))
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
            raise Refused(400, error_body("An image has already been uploaded to the richmenu"))
        self.rich_menu_images[rid] = (bytes(body or b""), headers.get("content-type", ""))
        return 200, {}

    def _op_getRichMenuImage(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        image = self.rich_menu_images.get(params["richMenuId"])
        if image is None:
            raise Refused(404, error_body(MSG_NOT_FOUND))
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
        # A deleted menu is no longer shown to anyone: its links and aliases go with it.
        self.user_rich_menus = {u: r for u, r in self.user_rich_menus.items() if r != rid}
        self.rich_menu_aliases = {a: r for a, r in self.rich_menu_aliases.items() if r != rid}
        return 200, {}

    def _op_setDefaultRichMenu(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        rid = params["richMenuId"]
        self._linkable(rid)
        self.default_rich_menu = rid
        return 200, {}

    def _op_getDefaultRichMenuId(self, **_: Any) -> tuple[int, Any]:
        if self.default_rich_menu is None:
            raise Refused(404, error_body("no default richmenu"))
        return 200, {"richMenuId": self.default_rich_menu}

    def _op_cancelDefaultRichMenu(self, **_: Any) -> tuple[int, Any]:
        self.default_rich_menu = None
        return 200, {}

    def _op_linkRichMenuIdToUser(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        rid = params["richMenuId"]
        self._linkable(rid)
        self.user_rich_menus[params["userId"]] = rid
        return 200, {}

    def _op_unlinkRichMenuIdFromUser(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        self.user_rich_menus.pop(params["userId"], None)
        return 200, {}

    def _linkable(self, rid: str) -> None:
        self._rich_menu(rid)
        if rid not in self.rich_menu_images:
            raise Refused(400, error_body("must upload richmenu image before applying it to user"))

    def _op_linkRichMenuIdToUsers(self, *, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        self._linkable(body["richMenuId"])
        for uid in body["userIds"]:
            self.user_rich_menus[uid] = body["richMenuId"]
        return 202, {}

    def _op_unlinkRichMenuIdFromUsers(self, *, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        for uid in body["userIds"]:
            self.user_rich_menus.pop(uid, None)
        return 202, {}

    # Aliases: what a richmenuswitch action names, to switch a person's menu (tabs).
    def _op_createRichMenuAlias(self, *, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        alias, rid = body["richMenuAliasId"], body["richMenuId"]
        self._linkable(rid)
        if alias in self.rich_menu_aliases:
            raise Refused(400, error_body("conflict richmenu alias id"))
        self.rich_menu_aliases[alias] = rid
        return 200, {}

    def _alias(self, alias: str) -> str:
        rid = self.rich_menu_aliases.get(alias)
        if rid is None:
            raise Refused(404, error_body("richmenu alias not found"))
        return rid

    def _op_getRichMenuAlias(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        alias = params["richMenuAliasId"]
        return 200, {"richMenuAliasId": alias, "richMenuId": self._alias(alias)}

    def _op_getRichMenuAliasList(self, **_: Any) -> tuple[int, Any]:
        aliases = [{"richMenuAliasId": a, "richMenuId": r} for a, r in self.rich_menu_aliases.items()]
        return 200, {"aliases": aliases}

    def _op_updateRichMenuAlias(
        self, *, params: dict[str, str], body: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        alias = params["richMenuAliasId"]
        self._alias(alias)
        self._linkable(body["richMenuId"])
        self.rich_menu_aliases[alias] = body["richMenuId"]
        return 200, {}

    def _op_deleteRichMenuAlias(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        alias = params["richMenuAliasId"]
        self._alias(alias)
        del self.rich_menu_aliases[alias]
        return 200, {}

    def _op_getRichMenuIdOfUser(self, *, params: dict[str, str], **_: Any) -> tuple[int, Any]:
        rid = self.user_rich_menus.get(params["userId"])
        if rid is None:
            raise Refused(404, error_body("the user has no richmenu"))
        return 200, {"richMenuId": rid}


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return None
