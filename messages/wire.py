"""The JSON-ready dict of a line-bot-sdk message object, exactly as its own `to_dict()` makes it, faster.

The SDK's models are pydantic v1; their `to_dict()` runs pydantic's `dict(by_alias=True,
exclude_none=True)` and then again `to_dict()` on every nested model to replace what that produced, so a
text with four quick-reply buttons costs about half a millisecond and a Flex card several. Every
generated `to_dict()` does the same thing (the fields in declaration order under their aliases, None
left out, nested models and lists of them as their dicts), which `as_dict` does in one walk. The two
models whose `to_dict()` does something else are handed to it. tests/test_wire.py compares the two,
byte for byte, for the messages the bot sends.

`construct` is pydantic's `Model.construct` (the builders make the SDK's models with it: their values
are their own strings, nothing to validate) with what it looks up per field made once per class: the
same `__dict__` and `__fields_set__`, tests/test_wire.py holds them equal.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic.v1 import BaseModel
from pydantic.v1.utils import smart_deepcopy

M = TypeVar("M", bound=BaseModel)
_IMMUTABLE_DEFAULTS = (type(None), str, int, float, bool)

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


# Per model class: (name, its alias when it is not the name, required, default, how the default is
# given: as it is, copied for each object or made by its factory, as pydantic's `get_default`), and
# whether the class has private attributes.
_AS_IS, _COPIED, _FACTORY = range(3)
_Plan = tuple[tuple[tuple[str, str | None, bool, Any, int], ...], bool]
_PLANS: dict[type, _Plan] = {}


def _plan(cls: type[BaseModel]) -> _Plan:
    fields = []
    for name, field in cls.__fields__.items():
        if field.default_factory is not None:
            default, how = field.default_factory, _FACTORY
        else:
            default = field.default
            how = _AS_IS if isinstance(default, _IMMUTABLE_DEFAULTS) else _COPIED
        fields.append((name, field.alias if field.alt_alias else None, bool(field.required), default, how))
    plan = (tuple(fields), bool(cls.__private_attributes__))
    _PLANS[cls] = plan
    return plan


def construct(cls: type[M], **values: Any) -> M:
    """`cls.construct(**values)`, cheaper (see the module's docstring)."""
    plan = _PLANS.get(cls)
    if plan is None:
        plan = _plan(cls)
    fields, private = plan
    model = cls.__new__(cls)
    fields_values: dict[str, Any] = {}
    for name, alias, required, default, how in fields:
        if alias is not None and alias in values:
            fields_values[name] = values[alias]
        elif name in values:
            fields_values[name] = values[name]
        elif not required:
            fields_values[name] = (
                default if how == _AS_IS else smart_deepcopy(default) if how == _COPIED else default()
            )
    fields_values.update(values)
    object.__setattr__(model, "__dict__", fields_values)
    object.__setattr__(model, "__fields_set__", set(values))
    if private:
        model._init_private_attributes()
    return model
