"""Messages as the outbox stores them, and as LINE gets them.

A big office's daily tick queues well over 100,000 reminders in one transaction. As LINE's Flex JSON
each is about 1.5 KB (Thai is three bytes a character in UTF-8), and most of it, the bubble's
skeleton, its styles, its buttons and the alt text, says again what every other row says: building
that text was most of the tick's row building, and storing it most of its write. So the day's
reminder is stored as the data it is made from, one ``tidtam.daily`` entry in the row's messages::

    {"type":"tidtam.daily","day":"2027-01-08","max_lines":10,"personal":true,
     "items":[[kind, subject, [fiscal year, quarter] | null, "2027-01-11" | null, days, total,
               [[code, text, detail], ...], [[label, value], ...]], ...]}

(of a long list, only the lines its message shows: ``message_lines``), and `expand` renders it (``daily_message_dict``) wherever stored messages leave storage: before LINE,
when a held row is folded into a push, when the simulation reads what was sent. The Flex it gives is
exactly what the tick stored before (``daily_message_json``). Every other message (replies, pushes
queued by handlers, rows stored before this form) is LINE's JSON already and passes through as it is.
LINE itself would refuse the unknown type: a stored entry that was not expanded cannot reach anyone.

Pure functions, like the rest of ``messages/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from messages.reminders import Item, ItemKind, Line, daily_message_dict, message_lines

__all__ = ["DAILY_TYPE", "daily_stored_json", "expand"]

DAILY_TYPE = "tidtam.daily"

# The C encoder, set up once: the items are plain strings, ints and tuples (`Line` is one), which it
# walks without a Python call per value.
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


def daily_stored_json(items: Sequence[Item], day: date, *, max_lines: int = 10, personal: bool = True) -> str:
    """The stored form of ``daily_message_dict(items, day, max_lines=..., personal=...)`` as compact
    JSON text (one message of a row's messages); `expand` turns it into that message. A long list
    keeps only the lines its message shows (`message_lines`)."""
    if not items:
        raise ValueError("a daily message needs at least one item")
    rows = [
        (
            item.kind._value_,
            item.subject,
            item.quarter,
            item.on.isoformat() if item.on is not None else None,
            item.days,
            item.total,
            message_lines(item, max_lines),
            item.figures,
        )
        for item in items
    ]
    return (
        f'{{"type":"{DAILY_TYPE}","day":"{day.isoformat()}","max_lines":{int(max_lines)},'
        f'"personal":{"true" if personal else "false"},"items":{_encode(rows)}}}'
    )


def expand(messages: Iterable[Any]) -> list[Any]:
    """A row's stored messages as LINE's messages: each ``tidtam.daily`` entry rendered to its Flex
    message, every other message as it is."""
    return [
        _daily(message) if isinstance(message, dict) and message.get("type") == DAILY_TYPE else message
        for message in messages
    ]


def _daily(stored: dict[str, Any]) -> dict[str, Any]:
    items = [
        Item(
            ItemKind(kind),
            subject,
            (quarter[0], quarter[1]) if quarter is not None else None,
            date.fromisoformat(on) if on is not None else None,
            days,
            total,
            tuple(Line(*line) for line in lines),
            tuple((label, value) for label, value in figures),
        )
        for kind, subject, quarter, on, days, total, lines, figures in stored["items"]
    ]
    return daily_message_dict(
        items, date.fromisoformat(stored["day"]), max_lines=stored["max_lines"], personal=stored["personal"]
    )
