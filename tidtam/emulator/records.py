"""What the emulator remembers, per chat and overall, for tests and for a simulator page to read.

A chat's record (:class:`ChatLog`) is every turn in order: what the user did (:class:`UserTurn`,
an event the emulator sent to the product), what LINE accepted from the bot (:class:`Delivery`,
a reply, push or multicast, with the month's quota used after it), the loading animation
(:class:`LoadingShown`), and every request LINE refused (:class:`Refusal`, with LINE's error body).
Each turn has a number, increasing across all chats, so a reader can ask for what is new.

The log is shared between the emulator's server thread, the product's threads that send events,
and a page that reads it: every method takes one lock, and readers get copies.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any, TypeVar


@dataclass
class RecordedRequest:
    """One HTTP request the emulator received, and what it answered."""

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
    """Messages LINE accepted for one recipient (one per recipient for multicast).

    ``quota_used`` / ``quota_limit``: the month's push quota after this delivery (a reply is free,
    so it leaves ``quota_used`` as it was; ``quota_limit`` None: no limit). ``seq`` and ``at``
    place it in its chat's record."""

    kind: str  # "reply" | "push" | "multicast"
    to: str  # user, group or room id
    messages: list[dict[str, Any]]
    sent_message_ids: list[str]
    request_id: str
    retry_key: str | None = None
    reply_token: str | None = None
    notification_disabled: bool = False
    time: float = field(default_factory=time.time)
    quote_tokens: list[str | None] = field(default_factory=list)
    quota_used: int = 0
    quota_limit: int | None = None
    seq: int = 0
    at: datetime | None = None

    @property
    def chat_id(self) -> str:
        return self.to

    @property
    def free(self) -> bool:
        """A reply costs nothing; pushes and multicasts count against the monthly quota."""
        return self.kind == "reply"


@dataclass(frozen=True)
class UserTurn:
    """Something a person did in a chat, sent to the product as a signed webhook event.

    ``display_text``: what LINE shows in the chat for a postback with ``displayText``."""

    seq: int
    at: datetime
    chat_id: str
    user_id: str | None
    event: dict[str, Any]
    status: int | None  # the product's answer to the webhook (None: not sent yet or no answer)
    display_text: str | None = None

    @property
    def kind(self) -> str:
        """The message type ("text", "image"...) for a message event, else the event type ("postback")."""
        if self.event.get("type") == "message":
            return str(self.event.get("message", {}).get("type", "message"))
        return str(self.event.get("type"))

    @property
    def message_id(self) -> str | None:
        message = self.event.get("message")
        return str(message["id"]) if isinstance(message, dict) and "id" in message else None


@dataclass(frozen=True)
class LoadingShown:
    """The bot started the loading animation in a one-on-one chat."""

    seq: int
    at: datetime
    chat_id: str
    seconds: int


@dataclass(frozen=True)
class Refusal:
    """A request LINE did not carry out, with LINE's answer.

    ``violation``: LINE refuses such a request in any state (a bug in the sender: a malformed
    Flex message, a text over 5,000 characters); otherwise it was refused for the state of things
    (a used reply token, the monthly quota, a user who blocked the bot) or by a scripted fault
    (``scripted``). ``chat_ids``: the chats the request was meant for, when it names any."""

    seq: int
    at: datetime
    method: str
    path: str
    operation_id: str | None
    status: int
    body: Any  # LINE's error body
    request_body: Any  # what was sent (parsed JSON when it parsed; None for binary or empty)
    violation: bool
    scripted: bool
    chat_ids: tuple[str, ...]
    request_id: str

    @property
    def message(self) -> str:
        return str(self.body.get("message", "")) if isinstance(self.body, dict) else str(self.body)

    @property
    def details(self) -> list[dict[str, str]]:
        details = self.body.get("details") if isinstance(self.body, dict) else None
        return list(details) if isinstance(details, list) else []


ChatTurn = UserTurn | Delivery | LoadingShown | Refusal
T = TypeVar("T", UserTurn, Delivery, LoadingShown, Refusal)
_KINDS: dict[str, type] = {cls.__name__: cls for cls in (UserTurn, Delivery, LoadingShown, Refusal)}


def _turn_data(turn: ChatTurn, chats: list[str]) -> dict[str, Any]:
    data = asdict(turn)
    data["at"] = turn.at.isoformat() if turn.at is not None else None
    return {"kind": type(turn).__name__, "chats": chats, "turn": data}


def _turn_from(data: dict[str, Any]) -> tuple[ChatTurn, list[str]]:
    cls = _KINDS[data["kind"]]
    values = dict(data["turn"])
    values = {f.name: values[f.name] for f in fields(cls) if f.name in values}
    if values.get("at") is not None:
        values["at"] = datetime.fromisoformat(values["at"])
    if "chat_ids" in values:
        values["chat_ids"] = tuple(values["chat_ids"])
    return cls(**values), list(data["chats"])


class ChatLog:
    """Every chat's turns, in order, and every refusal; safe to use from several threads."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._seq = 0
        self._chats: dict[str, list[ChatTurn]] = defaultdict(list)
        self._refusals: list[Refusal] = []

    @property
    def last_seq(self) -> int:
        with self._changed:
            return self._seq

    def add(self, chat_ids: tuple[str, ...] | list[str], turn: T) -> T:
        """File ``turn`` under each of ``chat_ids`` with the next number (a copy is returned) and
        wake whoever waits for news. Numbering and filing are one step, so a reader that saw
        number n has seen every turn numbered up to n."""
        with self._changed:
            self._seq += 1
            numbered = replace(turn, seq=self._seq)
            for chat_id in dict.fromkeys(chat_ids):
                self._chats[chat_id].append(numbered)
            if isinstance(numbered, Refusal):
                self._refusals.append(numbered)
            self._changed.notify_all()
            return numbered

    def update(self, chat_id: str, turn: ChatTurn) -> None:
        """Put ``turn`` in place of the turn with its number in ``chat_id`` (e.g. a user's event
        once the product has answered it)."""
        with self._changed:
            turns = self._chats.get(chat_id, [])
            for i, old in enumerate(turns):
                if old.seq == turn.seq:
                    turns[i] = turn
            self._changed.notify_all()

    def conversation(self, chat_id: str, *, after: int = 0) -> list[ChatTurn]:
        with self._changed:
            return [t for t in self._chats.get(chat_id, ()) if t.seq > after]

    def chats(self) -> list[str]:
        with self._changed:
            return list(self._chats)

    def refusals(self, *, after: int = 0) -> list[Refusal]:
        with self._changed:
            return [r for r in self._refusals if r.seq > after]

    def wait(self, after: int, timeout: float) -> int:
        """Block until a turn numbered above ``after`` is filed, or ``timeout`` seconds pass;
        returns the last number filed (for a page that long-polls)."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > after, timeout=max(0.0, timeout))
            return self._seq

    def clear(self) -> None:
        with self._changed:
            self._chats.clear()
            self._refusals.clear()
            self._changed.notify_all()

    def dump(self) -> dict[str, Any]:
        """Everything filed, as JSON-ready data (each turn once, with the chats it is filed under)."""
        with self._changed:
            filed: dict[int, tuple[ChatTurn, list[str]]] = {}
            for chat_id, turns in self._chats.items():
                for turn in turns:
                    filed.setdefault(turn.seq, (turn, []))[1].append(chat_id)
            for refusal in self._refusals:
                filed.setdefault(refusal.seq, (refusal, []))
            return {
                "seq": self._seq,
                "turns": [_turn_data(turn, chats) for _, (turn, chats) in sorted(filed.items())],
            }

    def restore(self, data: dict[str, Any]) -> list[ChatTurn]:
        """Put back what ``dump`` gave (replacing what is filed); returns the turns, in order."""
        with self._changed:
            self._chats.clear()
            self._refusals.clear()
            restored = []
            for item in data.get("turns", []):
                turn, chats = _turn_from(item)
                for chat_id in chats:
                    self._chats[chat_id].append(turn)
                if isinstance(turn, Refusal):
                    self._refusals.append(turn)
                restored.append(turn)
            self._seq = max(int(data.get("seq", 0)), max((t.seq for t in restored), default=0))
            self._changed.notify_all()
            return restored
