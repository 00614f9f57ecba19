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


def as_dict(model: BaseModel) -> dict[str, Any]:
    """`model.to_dict()`, the same keys in the same order, without pydantic's passes."""
    if type(model).__name__ in _OWN_TO_DICT:
        return model.to_dict()  # type: ignore[attr-defined, no-any-return]
    values = model.__dict__
    out: dict[str, Any] = {}
    for name, field in model.__fields__.items():
        value = values.get(name)
        if value is not None:
            out[field.alias] = _value(value)
    return out


_PLAIN = frozenset({str, int, bool, float})


def _value(value: Any) -> Any:
    if type(value) in _PLAIN:  # most values: a label, a text, a size
        return value
    if isinstance(value, BaseModel):
        return as_dict(value)
    if isinstance(value, list):
        return [_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_value(item) for item in value)
    if isinstance(value, dict):
        return {key: _value(item) for key, item in value.items()}
    return value
