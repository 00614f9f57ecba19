"""Typed, versioned postback payloads (`v1|action|key=value|…`) and one registry of their handlers.

A payload that does not parse, has an unknown version or action, or lacks a field its handler needs is
answered politely by the caller; it never raises out of the event handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

VERSION = "v1"
MAX_DATA_LENGTH = 300  # LINE's limit on postback data
MAX_FIELDS = 12  # more than any payload we build
MAX_ID = 2**31 - 1  # our ids are 32-bit integers; anything larger is not ours
_ASCII_DIGITS = frozenset("0123456789")
_MAX_DIGITS = 20  # leading zeros allowed, but no conversion of an arbitrarily long string
_KEY_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def parse_int(value: str | None, *, max_value: int = MAX_ID) -> int | None:
    """`value` as a non-negative integer when it is plain ASCII digits no larger than `max_value`;
    None otherwise. (`str.isdigit()` accepts "²" and "١", and `int()` of a long string is slow or
    raises: neither is let near a tampered payload.)"""
    if not value or len(value) > _MAX_DIGITS or not set(value) <= _ASCII_DIGITS:
        return None
    number = int(value)
    return number if number <= max_value else None


@dataclass(frozen=True)
class Postback:
    action: str
    params: dict[str, str] = field(default_factory=dict)

    def encode(self) -> str:
        parts = [VERSION, self.action, *(f"{k}={v}" for k, v in sorted(self.params.items()))]
        for part in parts:
            if "|" in part:
                raise ValueError("postback fields may not contain '|'")
        data = "|".join(parts)
        if len(data) > MAX_DATA_LENGTH:
            raise ValueError("postback data longer than LINE allows")
        return data

    def int_param(self, key: str, *, max_value: int = MAX_ID) -> int | None:
        """The field as an id or count (ASCII digits, at most `max_value`); None when it is not one."""
        return parse_int(self.params.get(key), max_value=max_value)


def decode(data: object) -> Postback | None:
    """Parse postback data we issued; None for anything else (old formats, tampering): longer than
    LINE allows, more fields than we ever send, a field named twice or oddly."""
    if not isinstance(data, str) or len(data) > MAX_DATA_LENGTH:
        return None
    parts = data.split("|")
    if len(parts) < 2 or len(parts) > MAX_FIELDS + 2 or parts[0] != VERSION or not _is_key(parts[1]):
        return None
    params: dict[str, str] = {}
    for part in parts[2:]:
        key, sep, value = part.partition("=")
        if not sep or not _is_key(key) or key in params:
            return None
        params[key] = value
    return Postback(parts[1], params)


def _is_key(name: str) -> bool:
    return 0 < len(name) <= 16 and set(name) <= _KEY_CHARACTERS


C = TypeVar("C")


class PostbackRegistry(Generic[C]):
    """Maps an action name to the function that handles it."""

    def __init__(self) -> None:
        self._handlers: dict[str, Callable[[C, Postback], None]] = {}

    def register(
        self, action: str
    ) -> Callable[[Callable[[C, Postback], None]], Callable[[C, Postback], None]]:
        def decorator(fn: Callable[[C, Postback], None]) -> Callable[[C, Postback], None]:
            if action in self._handlers:
                raise ValueError(f"postback action {action!r} registered twice")
            self._handlers[action] = fn
            return fn

        return decorator

    def get(self, action: str) -> Callable[[C, Postback], None] | None:
        return self._handlers.get(action)
