"""The formats of the ids LINE sends, checked before any of them touches the database or a URL.

A signed webhook body is LINE's, but its events are still input: an id with a NUL, a lone surrogate or
10,000 characters is refused by PostgreSQL or SQLite (and failed every request of its group commit),
and a message id with `../` in it reached another endpoint with the bot's token. LINE's own formats
(Messaging API reference): user, group and room ids are a letter and 32 lowercase hex digits; message
ids are decimal digits; webhook event ids are ULIDs (26 characters of Crockford base 32). The event id
check is a little wider than a ULID (letters, digits, `-`, `_`, at most 64): any such text is safe to
store and to index, and the store only needs it unique.
"""

from __future__ import annotations

import re
from typing import Any

_USER = re.compile(r"U[0-9a-f]{32}")
_GROUP = re.compile(r"C[0-9a-f]{32}")
_ROOM = re.compile(r"R[0-9a-f]{32}")
_MESSAGE = re.compile(r"[0-9]{1,20}")
_EVENT = re.compile(r"[0-9A-Za-z_-]{1,64}")
_TOKEN = re.compile(r"[!-~]{1,255}")  # printable ASCII, no spaces: what fits the outbox's column
_EVENT_TYPE = re.compile(r"[A-Za-z]{1,32}")


def _full(pattern: re.Pattern[str], value: object) -> bool:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def is_user_id(value: object) -> bool:
    return _full(_USER, value)


def is_group_id(value: object) -> bool:
    return _full(_GROUP, value)


def is_room_id(value: object) -> bool:
    return _full(_ROOM, value)


def is_message_id(value: object) -> bool:
    """A message id fit to go into a content URL: ASCII decimal digits only (`str.isdigit()` also
    accepts superscripts and other scripts' digits)."""
    return _full(_MESSAGE, value)


def is_webhook_event_id(value: object) -> bool:
    return _full(_EVENT, value)


def is_reply_token(value: object) -> bool:
    return _full(_TOKEN, value)


def is_event_type(value: object) -> bool:
    return _full(_EVENT_TYPE, value)


def source_problem(source: Any) -> str | None:
    """Why an event's `source` cannot be used (None when it can, or when there is none): the ids it
    names must be LINE's, and its type must match the id it carries."""
    if source is None:
        return None
    if not isinstance(source, dict):
        return "source is not an object"
    kind = source.get("type")
    if "userId" in source and not is_user_id(source["userId"]):
        return "malformed userId"
    if kind == "user":
        return None if "userId" in source else "user source without userId"
    if kind == "group":
        return None if is_group_id(source.get("groupId")) else "malformed groupId"
    if kind == "room":
        return None if is_room_id(source.get("roomId")) else "malformed roomId"
    return "unknown source type"
