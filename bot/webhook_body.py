"""A webhook body's events, each with its own text exactly as LINE sent it.

The event store keeps every event's raw JSON. Parsing the body and serialising each event again cost
more than the parsing did (the webhook's hot path); instead the body is walked once with the standard
library's JSON scanner, which tells where each event's text starts and ends.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")


def split_events(text: str) -> list[tuple[dict[str, Any], str]]:
    """Each event of a webhook body as (parsed, its exact text). ValueError when the body is not JSON
    or not a webhook body (an object whose "events" is an array of objects). As with `json.loads`, a
    key given twice counts once, by its last value."""
    try:
        return _split(text)
    except IndexError:  # the text ended where a value or a delimiter should be
        raise ValueError("truncated JSON") from None


def _split(text: str) -> list[tuple[dict[str, Any], str]]:
    scan, space = _DECODER.raw_decode, _SPACE.match
    at = space(text, 0).end()
    if text[at] != "{":
        raise ValueError("not a JSON object")
    at = space(text, at + 1).end()
    events: list[tuple[dict[str, Any], str]] | None = None
    if text[at] == "}":
        at += 1
    else:
        while True:
            if text[at] != '"':
                raise ValueError(f"expected a key at {at}")
            key, at = scan(text, at)
            at = space(text, at).end()
            if text[at] != ":":
                raise ValueError(f"expected ':' at {at}")
            at = space(text, at + 1).end()
            if key == "events" and text[at] == "[":
                events, at = _array(text, at)
            else:
                _, at = scan(text, at)
                if key == "events":
                    events = None  # not an array: refused below, as json.loads' last value would be
            at = space(text, at).end()
            if text[at] == "}":
                at += 1
                break
            if text[at] != ",":
                raise ValueError(f"expected ',' or '}}' at {at}")
            at = space(text, at + 1).end()
    if space(text, at).end() != len(text):
        raise ValueError("extra data after the body")
    if events is None:
        raise ValueError("not a webhook body")
    return events


def _array(text: str, at: int) -> tuple[list[tuple[dict[str, Any], str]], int]:
    """The objects of the array at `at`, with their texts, and the index after the array."""
    scan, space = _DECODER.raw_decode, _SPACE.match
    items: list[tuple[dict[str, Any], str]] = []
    at = space(text, at + 1).end()
    if text[at] == "]":
        return items, at + 1
    while True:
        start = at
        value, at = scan(text, at)
        if not isinstance(value, dict):
            raise ValueError("an event is not a JSON object")
        items.append((value, text[start:at]))
        at = space(text, at).end()
        if text[at] == "]":
            return items, at + 1
        if text[at] != ",":
            raise ValueError(f"expected ',' or ']' at {at}")
        at = space(text, at + 1).end()
