"""The JSON-ready dict of a line-bot-sdk message object, exactly as its own `to_dict()` makes it, faster.

The SDK's models are pydantic v1; their `to_dict()` runs pydantic's `dict(by_alias=True,
exclude_none=True)` and then again `to_dict()` on every nested model to replace what that produced, so a
text with four quick-reply buttons costs about half a millisecond and a Flex card several. Every
generated `to_dict()` does the same thing (the fields in declaration order under their aliases, None
left out, nested models and lists of them as their dicts), which `as_dict` does in one walk. The two
models whose `to_dict()` does something else are handed to it. tests/test_wire.py compares the two,
byte for byte, for the messages the bot sends.
"""

from __future__ import annotations

from typing import Any

from pydantic.v1 import BaseModel

# Their generated `to_dict()` differs from the rule: a None it keeps, falsy dict values it drops.
_OWN_TO_DICT = frozenset({"Membership", "TextMessageV2"})
_PLAIN = frozenset({str, int, bool, float})
# What a value of each type is, found once per type (pydantic's isinstance on its models is slow):
# a model's (field name, alias) pairs, or None for a model with its own `to_dict()`; else its kind.
_MODEL, _OWN, _LIST, _TUPLE, _DICT, _OTHER = range(6)
_KINDS: dict[type, int] = {}
_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {}


def _kind(cls: type) -> int:
    kind = _KINDS.get(cls)
    if kind is None:
        if issubclass(cls, BaseModel):
            kind = _OWN if cls.__name__ in _OWN_TO_DICT else _MODEL
            _FIELDS[cls] = tuple((name, field.alias) for name, field in cls.__fields__.items())
        elif issubclass(cls, list):
            kind = _LIST
        elif issubclass(cls, tuple):
            kind = _TUPLE
        elif issubclass(cls, dict):
            kind = _DICT
        else:
            kind = _OTHER
        _KINDS[cls] = kind
    return kind


def as_dict(model: BaseModel) -> dict[str, Any]:
    """`model.to_dict()`, the same keys in the same order, without pydantic's passes."""
    cls = type(model)
    if _kind(cls) == _OWN:
        return model.to_dict()  # type: ignore[attr-defined, no-any-return]
    values = model.__dict__
    out: dict[str, Any] = {}
    for name, alias in _FIELDS[cls]:
        value = values.get(name)
        if value is not None:
            out[alias] = value if type(value) in _PLAIN else _value(value)
    return out


def _value(value: Any) -> Any:
    cls = type(value)
    if cls in _PLAIN:  # most values: a label, a text, a size
        return value
    kind = _KINDS.get(cls)
    if kind is None:
        kind = _kind(cls)
    if kind == _LIST:
        return [_value(item) for item in value]
    if kind in (_MODEL, _OWN):
        return as_dict(value)
    if kind == _TUPLE:
        return tuple(_value(item) for item in value)
    if kind == _DICT:
        return {key: _value(item) for key, item in value.items()}
    return value
