"""Reading LINE's everyday events into line-bot-sdk's models without validating them twice.

`Event.from_dict` (bot/processor.py `parse_event`) validates every nested model with pydantic v1
(`parse_obj` + `validate_model` for the event, its source, its delivery context and its message):
about 35 us of CPU per event, 6-8% of the worker's CPU per handled event (issue 18). Nearly all
traffic is a few shapes: a text message or a postback, from a user, a group or a room. `fast_event`
checks such an event's shape itself (exact key sets, exact types, only values the SDK keeps as they
are) and builds the models the SDK would build: the same classes, field values, `EventMode` members
and `__fields_set__`. Anything else (an unknown or missing key, a value of another type, None where
the SDK wants a value, a mention, emojis) gives None and the caller takes the SDK's path, so odd input
is read, converted or refused exactly as before (`read_event` also skips its depth walk for the
events read here, which nest three deep at most). tests/test_fast_event_parse.py checks that both
paths agree, on these shapes and on generated variations of them.

The SDK's `from_dict` passes every field of a model to `parse_obj` (None for an absent key), so each
model has all of its fields in `__fields_set__`, and an absent optional key reads like a None one.
`_model` does the same without validation. Should an SDK upgrade change these models' fields,
`_SDK_MATCHES` is false and every event takes the SDK's path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from linebot.v3.webhooks import (
    DeliveryContext,
    Event,
    EventMode,
    GroupSource,
    MessageEvent,
    PostbackContent,
    PostbackEvent,
    RoomSource,
    Source,
    TextMessageContent,
    UserSource,
)

_MODES = {mode.value: mode for mode in EventMode}
# The JSON keys each shape may have: (required, optional).
_EVENT_KEYS = {"type", "source", "timestamp", "mode", "webhookEventId", "deliveryContext"}, {"replyToken"}
_TEXT_KEYS = {"type", "id", "text", "quoteToken"}, {"quotedMessageId", "markAsReadToken", "emojis", "mention"}
_POSTBACK_KEYS = {"data"}, {"params"}
# The field names `_model` fills for each class, in the SDK's order (its `__fields__`).
_FIELDS: dict[type[Any], tuple[str, ...]] = {
    MessageEvent: (
        "type", "source", "timestamp", "mode", "webhook_event_id", "delivery_context", "reply_token", "message",
    ),
    PostbackEvent: (
        "type", "source", "timestamp", "mode", "webhook_event_id", "delivery_context", "reply_token", "postback",
    ),
    TextMessageContent: (
        "type", "id", "text", "emojis", "mention", "quote_token", "quoted_message_id", "mark_as_read_token",
    ),
    PostbackContent: ("data", "params"),
    UserSource: ("type", "user_id"),
    GroupSource: ("type", "group_id", "user_id"),
    RoomSource: ("type", "user_id", "room_id"),
    DeliveryContext: ("is_redelivery",),
}  # fmt: skip
_SDK_MATCHES = all(
    tuple(cls.__fields__) == names and not cls.__private_attributes__ for cls, names in _FIELDS.items()
)


def _model(cls: type[Any], **values: Any) -> Any:
    """`cls.parse_obj(values)` for values it would keep as they are, with every field given."""
    model = object.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    object.__setattr__(model, "__fields_set__", set(values))
    return model


def _keys_fit(obj: object, keys: tuple[set[str], set[str]]) -> bool:
    """Whether `obj` is a dict with all of the required keys and no others than the optional ones."""
    required, optional = keys
    return type(obj) is dict and required <= obj.keys() and obj.keys() - required <= optional


def _is_str(value: object) -> bool:
    return type(value) is str


def _is_optional_str(value: object) -> bool:
    return value is None or type(value) is str


def _source(raw: Any) -> Source | None:
    if type(raw) is not dict:
        return None
    kind, user_id = raw.get("type"), raw.get("userId")
    if not _is_str(kind):
        return None
    if kind == "user" and raw.keys() == {"type", "userId"} and _is_str(user_id):
        return _model(UserSource, type=kind, user_id=user_id)
    if not _is_optional_str(user_id):
        return None
    if kind == "group" and _keys_fit(raw, ({"type", "groupId"}, {"userId"})) and _is_str(raw["groupId"]):
        return _model(GroupSource, type=kind, group_id=raw["groupId"], user_id=user_id)
    if kind == "room" and _keys_fit(raw, ({"type", "roomId"}, {"userId"})) and _is_str(raw["roomId"]):
        return _model(RoomSource, type=kind, user_id=user_id, room_id=raw["roomId"])
    return None


def _text(raw: Any) -> TextMessageContent | None:
    if not _keys_fit(raw, _TEXT_KEYS) or not _is_str(raw["type"]) or raw["type"] != "text":
        return None
    text, message_id, quote_token = raw["text"], raw["id"], raw["quoteToken"]
    quoted, read_token = raw.get("quotedMessageId"), raw.get("markAsReadToken")
    if not (_is_str(text) and _is_str(message_id) and _is_str(quote_token)):
        return None
    if not (_is_optional_str(quoted) and _is_optional_str(read_token)):
        return None
    if raw.get("emojis") is not None or raw.get("mention") is not None:
        return None  # nested models of their own: the SDK's path
    return _model(
        TextMessageContent,
        type="text",
        id=message_id,
        text=text,
        emojis=None,
        mention=None,
        quote_token=quote_token,
        quoted_message_id=quoted,
        mark_as_read_token=read_token,
    )


def _postback(raw: Any) -> PostbackContent | None:
    if not _keys_fit(raw, _POSTBACK_KEYS):
        return None
    data, params = raw["data"], raw.get("params")
    if not _is_str(data):
        return None
    if params is not None:
        if type(params) is not dict or not all(_is_str(k) and _is_str(v) for k, v in params.items()):
            return None
        params = dict(params)  # pydantic's Dict field makes a new dict
    return _model(PostbackContent, data=data, params=params)


# Per event type: its model, the key of its content, the reader of that content and the event's keys.
_KINDS: dict[str, tuple[type[Any], str, Callable[[Any], Any], tuple[set[str], set[str]]]] = {
    kind: (cls, key, read, (_EVENT_KEYS[0] | {key}, _EVENT_KEYS[1]))
    for kind, cls, key, read in [
        ("message", MessageEvent, "message", _text),
        ("postback", PostbackEvent, "postback", _postback),
    ]
}


def fast_event(raw: dict[str, Any]) -> Event | None:
    """The SDK model `Event.from_dict(raw)` would give, for a text message or a postback event of
    the usual shape; None for anything else (the caller then asks the SDK)."""
    if not _SDK_MATCHES or type(raw) is not dict:
        return None
    kind = raw.get("type")
    if not _is_str(kind) or kind not in _KINDS:
        return None
    cls, content_key, read_content, keys = _KINDS[kind]
    if not _keys_fit(raw, keys):
        return None
    content = read_content(raw[content_key])
    timestamp, mode, event_id = raw["timestamp"], raw["mode"], raw["webhookEventId"]
    reply_token, delivery = raw.get("replyToken"), raw["deliveryContext"]
    if content is None or type(timestamp) is not int or type(mode) is not str or mode not in _MODES:
        return None
    if not (_is_str(event_id) and _is_optional_str(reply_token)):
        return None
    if type(delivery) is not dict or delivery.keys() != {"isRedelivery"}:
        return None
    redelivery = delivery["isRedelivery"]
    source = _source(raw["source"])
    if type(redelivery) is not bool or source is None:
        return None
    return _model(
        cls,
        type=kind,
        source=source,
        timestamp=timestamp,
        mode=_MODES[mode],
        webhook_event_id=event_id,
        delivery_context=_model(DeliveryContext, is_redelivery=redelivery),
        reply_token=reply_token,
        **{content_key: content},
    )
