"""The fast reading of everyday events (bot/event_parse.py `fast_event`) against the SDK's models.

`parse_event` trusts `fast_event` whenever it gives a model, so that model must be the one the SDK's
path (`sdk_parse_event`) gives, in every way a handler can see: the same class at every level, the
same field values of the same types (an `EventMode` member, not a str), the same `__fields_set__`,
`.dict()`, `.to_dict()` and repr. This is checked on the shapes the fast path covers (text messages
and postbacks from users, groups and rooms, with and without their optional keys), on hypothesis'
mutations of them (dropped and added keys, None, bools for ints, floats, huge ints, numbers as
strings, unicode, other pieces of the event) and on values JSON cannot hold (str and int subclasses).
Whatever `fast_event` declines goes to the SDK, so `read_event` must give the same model or the same
MalformedEvent reason with the fast path as without it.
"""

from __future__ import annotations

import copy
import enum
import json
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from linebot.v3.webhooks import EventMode, MessageEvent, PostbackEvent
from pydantic.v1 import BaseModel

from bot import event_parse, processor
from bot.event_parse import fast_event
from bot.processor import MalformedEvent, read_event, sdk_parse_event
from tidtam.emulator import LineEmulator

# Fixed ids (not new_user_id()): a parameter's id names USER, and pytest-xdist's workers must
# collect the same test names.
USER, GROUP = "U" + "0123456789abcdef" * 2, "C" + "fedcba9876543210" * 2
ROOM = "R" + "0123456789abcdef" * 2


def _line_events() -> list[dict[str, Any]]:
    line = LineEmulator()  # not started: only its event builders
    return [
        line.text_event(USER, "สถานะ"),
        line.text_event(USER, "🍎 a\nb", quoted_message_id="468789577898262530"),
        line.group_text_event(GROUP, USER, "รายงานผล"),
        line.postback_event(USER, "v1|cmd|name=help"),
        line.postback_event(USER, "v1|pick", {"date": "2026-07-01"}),
    ]


LINE_EVENTS = _line_events()
TEXT = LINE_EVENTS[0]


def _variant(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`base` with top-level keys changed (a value of `...` drops the key); `message__x`/`source__x`
    change a key of that object."""
    event = copy.deepcopy(base)
    for key, value in changes.items():
        where, _, name = key.rpartition("__")
        target = event[where] if where else event
        if value is ...:
            del target[name]
        else:
            target[name] = value
    return event


# The shapes the fast path covers (each must be read by it: see test_the_fast_path_reads_its_shapes).
FAST_SHAPES: dict[str, dict[str, Any]] = {
    "user text": TEXT,
    "quoting text": LINE_EVENTS[1],
    "group text": LINE_EVENTS[2],
    "postback": LINE_EVENTS[3],
    "postback with params": LINE_EVENTS[4],
    "group text without userId": _variant(LINE_EVENTS[2], source__userId=...),
    "room text": _variant(TEXT, source={"type": "room", "roomId": ROOM, "userId": USER}),
    "room postback without userId": _variant(LINE_EVENTS[3], source={"type": "room", "roomId": ROOM}),
    "group postback": _variant(LINE_EVENTS[4], source={"type": "group", "groupId": GROUP, "userId": USER}),
    "standby, redelivered": _variant(TEXT, mode="standby", deliveryContext={"isRedelivery": True}),
    "no replyToken": _variant(TEXT, replyToken=...),
    "None replyToken": _variant(TEXT, replyToken=None),
    "markAsReadToken": _variant(TEXT, message__markAsReadToken="30yhdy232"),
    "None optionals": _variant(
        TEXT,
        message__quotedMessageId=None,
        message__markAsReadToken=None,
        message__emojis=None,
        message__mention=None,
    ),
    "None params": _variant(LINE_EVENTS[3], postback__params=None),
    "empty params": _variant(LINE_EVENTS[3], postback__params={}),
    "rich menu switch params": _variant(
        LINE_EVENTS[3], postback__params={"newRichMenuAliasId": "richmenu-alias-b", "status": "SUCCESS"}
    ),
    "empty strings": _variant(TEXT, message__text="", message__id="", replyToken="", webhookEventId=""),
    "huge and negative timestamps": _variant(TEXT, timestamp=-(10**30)),
    "unicode": _variant(TEXT, message__text="ก\u0e48\u200b\ud800🍎\x00" * 50),
}
# Shapes left to the SDK on purpose (the fast path must decline them; the SDK reads them).
SDK_SHAPES: dict[str, dict[str, Any]] = {
    "mention": _variant(
        TEXT, message__mention={"mentionees": [{"index": 0, "length": 4, "type": "user", "userId": USER}]}
    ),
    "emojis": _variant(TEXT, message__emojis=[{"index": 0, "length": 6, "productId": "5ac1", "emojiId": "001"}]),
    "sticker": _variant(TEXT, message={"type": "sticker", "id": "1", "quoteToken": "q", "packageId": "1", "stickerId": "2", "stickerResourceType": "STATIC"}),
    "follow": {**_variant(TEXT, type="follow", message=...), "follow": {"isUnblocked": False}},
    "extra key": _variant(TEXT, destination="U" + "0" * 32),
    "extra message key": _variant(TEXT, message__contentProvider={"type": "line"}),
    "float timestamp": _variant(TEXT, timestamp=1.7e12),
    "bool timestamp": _variant(TEXT, timestamp=True),
    "no source": _variant(TEXT, source=...),
}  # fmt: skip


# ----------------------------------------------------------------------------------- the comparison
def assert_same_value(fast: Any, slow: Any, where: str) -> None:
    assert type(fast) is type(slow), (where, type(fast), type(slow))
    if isinstance(slow, BaseModel):
        assert list(fast.__dict__) == list(slow.__dict__), where
        assert fast.__fields_set__ == slow.__fields_set__, where
        for name in slow.__dict__:
            assert_same_value(fast.__dict__[name], slow.__dict__[name], f"{where}.{name}")
    elif isinstance(slow, dict):
        assert list(fast) == list(slow), where
        for key in slow:
            assert_same_value(fast[key], slow[key], f"{where}[{key!r}]")
    elif isinstance(slow, list):
        assert len(fast) == len(slow), where
        for i, (a, b) in enumerate(zip(fast, slow, strict=True)):
            assert_same_value(a, b, f"{where}[{i}]")
    else:
        assert fast == slow, where
        if isinstance(slow, enum.Enum):
            assert fast is slow, where


def agree(raw: dict[str, Any]) -> bool:
    """Whether `fast_event` read `raw` (False: it declined); when it did, its model is the SDK's."""
    before = copy.deepcopy(raw)
    fast = fast_event(raw)
    assert raw == before  # nothing of the caller's dict is changed
    if fast is None:
        return False
    slow = sdk_parse_event(copy.deepcopy(raw))  # a fast model's event must be one the SDK can read
    assert_same_value(fast, slow, "event")
    assert fast.dict() == slow.dict()
    assert fast.dict(by_alias=True) == slow.dict(by_alias=True)
    assert fast.to_dict() == slow.to_dict()
    assert fast.to_json() == slow.to_json()
    assert repr(fast) == repr(slow)
    if isinstance(fast, PostbackEvent) and fast.postback.params is not None:
        assert fast.postback.params is not raw["postback"]["params"]  # pydantic makes a new dict
    return True


def test_the_sdk_models_are_the_ones_the_fast_path_knows() -> None:
    """An SDK upgrade that changes these models switches the fast path off (`_SDK_MATCHES`): these
    tests then fail, to have bot/event_parse.py brought up to date."""
    assert event_parse._SDK_MATCHES


@pytest.mark.parametrize("name", FAST_SHAPES)
def test_the_fast_path_reads_its_shapes(name: str) -> None:
    assert agree(copy.deepcopy(FAST_SHAPES[name]))


def test_what_the_handlers_see() -> None:
    event = fast_event(copy.deepcopy(TEXT))
    assert isinstance(event, MessageEvent)
    assert event.mode is EventMode.ACTIVE and event.message.text == "สถานะ"
    assert event.source.user_id == USER and event.reply_token == TEXT["replyToken"]
    assert event.delivery_context.is_redelivery is False
    postback = fast_event(copy.deepcopy(LINE_EVENTS[4]))
    assert isinstance(postback, PostbackEvent) and postback.postback.params == {"date": "2026-07-01"}


@pytest.mark.parametrize("name", SDK_SHAPES)
def test_other_shapes_are_left_to_the_sdk(name: str) -> None:
    assert fast_event(copy.deepcopy(SDK_SHAPES[name])) is None
    sdk_parse_event(copy.deepcopy(SDK_SHAPES[name]))  # and the SDK reads them


class _Str(str):
    pass


class _Int(int):
    pass


class _IntEnum(enum.IntEnum):
    ONE = 1


class _StrEnum(enum.StrEnum):
    ACTIVE = "active"


@pytest.mark.parametrize(
    "changes",
    [
        {"mode": _StrEnum.ACTIVE},
        {"mode": EventMode.ACTIVE},
        {"mode": _Str("active")},
        {"type": _Str("message")},
        {"timestamp": _Int(5)},
        {"timestamp": _IntEnum.ONE},
        {"message__text": _Str("x")},
        {"source__userId": _Str(USER)},
        {"deliveryContext": {"isRedelivery": 0}},
    ],
    ids=repr,
)
def test_values_json_cannot_hold_are_left_to_the_sdk(changes: dict[str, Any]) -> None:
    """parse_event takes dicts from tests and benches too: a str or int subclass is not read by the
    fast path (the SDK keeps some and refuses others)."""
    assert fast_event(_variant(TEXT, **changes)) is None


# ----------------------------------------------------------------------------------- mutations
KEYS = sorted(
    {"type", "source", "timestamp", "mode", "webhookEventId", "deliveryContext", "replyToken", "message"}
    | {"postback", "id", "text", "quoteToken", "quotedMessageId", "markAsReadToken", "emojis", "mention"}
    | {"userId", "groupId", "roomId", "isRedelivery", "data", "params", "destination", "foo"}
)
ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 1.0, 1.5, -0.0, 2**63, 10**40, -(2**70), 1e300,
    "", "x", "1", "1700000000000", "true", "null", "active", "standby", "ACTIVE", "user", "group",
    "room", "text", "message", "postback", "sticker", USER, GROUP, ROOM, "ก🍎\u200b", "\ud800",
    [], {}, [None], {"type": "user"}, {"type": "text"}, {"isRedelivery": False}, {"a": "b"}, {"a": 1},
]  # fmt: skip


def _paths(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*path, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*path, i)))
    return out


def _at(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _replacements(old: Any, doc: Any) -> st.SearchStrategy[Any]:
    """Values to put where `old` was: other types, bools for ints, floats, huge ints, numbers as
    strings, unicode, a piece of the event."""
    options: list[st.SearchStrategy[Any]] = [
        st.sampled_from(ODD_VALUES).map(copy.deepcopy),
        st.sampled_from([_at(doc, p) for p in _paths(doc)]).map(copy.deepcopy),
        st.text(max_size=20),
        st.integers(),
        st.just([old]),
    ]
    if isinstance(old, bool):
        options.append(st.sampled_from([int(old), float(old), str(old).lower(), None]))
    elif isinstance(old, int) and abs(old) < 10**300:  # float() and str() refuse far larger ones
        options.append(st.sampled_from([str(old), float(old), old + 1, -old, bool(old), old * 10**9, None]))
    elif isinstance(old, str):
        options.append(st.sampled_from([old.upper(), old + " ", old[:1], old * 2, None]))
        if (
            old.isascii() and old.isdigit() and len(old) <= 4000
        ):  # int() reads these (not "²", nor 4,001+ digits)
            options.append(st.just(int(old)))
    elif isinstance(old, dict):
        options.append(st.just({k: v for k, v in old.items() if k != "type"}))
        options.append(
            st.dictionaries(st.text(max_size=5), st.one_of(st.text(max_size=5), st.none()), max_size=3)
        )
    return st.one_of(options)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[dict[str, Any]]) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_paths(doc)))
        target = _at(doc, path)
        kind = draw(st.sampled_from(["drop", "replace", "add", "replace"]))
        if kind == "add" and isinstance(target, dict):
            key = draw(st.sampled_from(KEYS))
            target[key] = draw(_replacements(target.get(key), doc))
        elif kind == "drop" and path:
            del _at(doc, path[:-1])[path[-1]]
        elif path:
            _at(doc, path[:-1])[path[-1]] = draw(_replacements(target, doc))
        else:
            doc = draw(_replacements(doc, doc))
    return json.loads(json.dumps(doc))  # plain JSON, as read from the stored payload


SEEDS = list(FAST_SHAPES.values()) + list(SDK_SHAPES.values())
FUZZ = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(mutated(SEEDS))
def test_mutated_events_read_the_same(raw: Any) -> None:
    if isinstance(raw, dict):
        agree(raw)
    else:
        assert fast_event(raw) is None


def _read(payload: str, *, fast: bool) -> tuple[str, Any]:
    """What `read_event` gives: ("ok", model) or ("malformed", reason), with or without the fast path."""
    with mock.patch.object(processor, "fast_event", fast_event if fast else lambda raw: None):
        try:
            return "ok", read_event(payload)[1]
        except MalformedEvent as exc:
            return "malformed", exc.reason


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(SEEDS))
def test_read_event_gives_the_same_with_and_without_the_fast_path(raw: Any) -> None:
    payload = json.dumps(raw)
    fast, slow = _read(payload, fast=True), _read(payload, fast=False)
    assert fast[0] == slow[0], (fast, slow)
    if fast[0] == "ok":
        assert_same_value(fast[1], slow[1], "event")
    else:
        assert fast[1] == slow[1]


def test_the_mutations_reach_both_verdicts() -> None:
    """The fuzzing above is not only of events the fast path declines (or only of ones it reads)."""
    seen: set[bool] = set()

    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(mutated(SEEDS))
    def count(raw: Any) -> None:
        seen.add(isinstance(raw, dict) and agree(raw))

    count()
    assert seen == {True, False}


def _deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize(
    "changes",
    [{"foo": _deep(30)}, {"postback__params": {"a": _deep(30)}}, {"source__userId": _deep(30)}],
    ids=["extra key", "params", "userId"],
)
def test_deep_events_are_still_refused_as_too_deep(changes: dict[str, Any]) -> None:
    """read_event skips the depth walk for an event the fast path reads (it nests three deep at
    most): one nested deeper anywhere is declined by the fast path and refused as before."""
    payload = json.dumps(_variant(LINE_EVENTS[4], **changes))
    assert _read(payload, fast=True) == _read(payload, fast=False) == ("malformed", "nested too deeply")
