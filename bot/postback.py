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

    def int_param(self, key: str) -> int | None:
        value = self.params.get(key)
        return int(value) if value is not None and value.isdigit() else None


def decode(data: str) -> Postback | None:
    """Parse postback data we issued; None for anything else (old formats, tampering)."""
    parts = data.split("|")
    if len(parts) < 2 or parts[0] != VERSION or not parts[1]:
        return None
    params: dict[str, str] = {}
    for part in parts[2:]:
        key, sep, value = part.partition("=")
        if not sep or not key:
            return None
        params[key] = value
    return Postback(parts[1], params)


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
