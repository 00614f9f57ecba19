"""LINE limits that the OpenAPI spec does not encode (LINE's API reference and FAQ).

How LINE counts characters (developers.line.biz "Counting text characters", ja/en):

* Message text, ``altText`` and most string properties are counted in **UTF-16 code units**: a
  character outside the Basic Multilingual Plane (most emoji, e.g. 🍎) counts as 2, "\\r\\n" as 2.
  All Thai characters are in the BMP, so for Thai this equals the number of Unicode code points
  (a consonant with a vowel and a tone mark, e.g. "ที่", is 3, not 1).
* Labels and texts of action objects, template messages and rich menus are counted in
  **grapheme clusters** (what a user sees as one character), so "ที่" is 1 there.

The spec's own ``maxLength`` checks (e.g. postback ``data`` 300) are done by jsonschema, which
counts code points; that can only be stricter than LINE for these properties.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterator
from typing import Any

MAX_MESSAGES = 5
MAX_MULTICAST_RECIPIENTS = 500
MAX_TEXT = 5000  # UTF-16 code units
MAX_QUICK_REPLY_ITEMS = 13
MAX_ACTION_LABEL = 20  # grapheme clusters (12 in image carousel columns)
MAX_IMAGE_CAROUSEL_LABEL = 12
MAX_POSTBACK_DATA = 300
MAX_FLEX_ALT_TEXT = 1500  # UTF-16 code units
MAX_TEMPLATE_ALT_TEXT = 400
MAX_IMAGEMAP_ALT_TEXT = 1500
# "Max size of a bubble: 30 KB", "carousel: 50 KB". Measured as compact UTF-8 JSON and read
# as 30,000 / 50,000 bytes: the stricter reading of "KB", so what passes here passes at LINE.
MAX_BUBBLE_BYTES = 30_000
MAX_CAROUSEL_BYTES = 50_000
MAX_CAROUSEL_BUBBLES = 12

_ACTION_TYPES = frozenset(
    {
        "postback",
        "message",
        "uri",
        "datetimepicker",
        "camera",
        "cameraRoll",
        "location",
        "richmenuswitch",
        "clipboard",
    }
)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, LINE's unit for message text."""
    return len(text.encode("utf-16-le")) // 2


_EXTENDERS = frozenset({0x200D, 0x0E33, 0x0EB3})  # ZWJ; Thai/Lao SARA AM are SpacingMark in UAX #29


def grapheme_len(text: str) -> int:
    """Approximate count of extended grapheme clusters (UAX #29) without third-party packages.

    A new cluster starts at every code point except combining marks (Mn/Mc/Me), variation
    selectors, emoji skin-tone modifiers, the Thai/Lao SARA AM, the code point after a ZWJ, the
    second of a regional-indicator pair, and the LF of CRLF.  Good enough for Thai and emoji.
    """
    count = 0
    prev = ""
    ri_open = False
    for ch in text:
        cp = ord(ch)
        joins = (
            unicodedata.category(ch) in ("Mn", "Mc", "Me")
            or cp in _EXTENDERS
            or 0xFE00 <= cp <= 0xFE0F
            or 0x1F3FB <= cp <= 0x1F3FF
            or 0xE0020 <= cp <= 0xE007F
            or (prev and ord(prev) == 0x200D)
            or (prev == "\r" and ch == "\n")
        )
        if 0x1F1E6 <= cp <= 0x1F1FF:
            if ri_open:
                joins = True
                ri_open = False
            else:
                ri_open = True
        else:
            ri_open = False
        if not joins or count == 0:
            count += 1
        prev = ch
    return count


def _compact_size(obj: Any) -> int:
    return len(json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def _walk_actions(
    node: Any, path: str, image_carousel: bool = False
) -> Iterator[tuple[dict[str, Any], str, bool]]:
    """Yield (action dict, property path, inside an image carousel column) for every action."""
    if isinstance(node, dict):
        is_ic = image_carousel or node.get("type") == "image_carousel"
        for key, value in node.items():
            sub = f"{path}.{key}" if path else key
            if (
                key in ("action", "defaultAction")
                and isinstance(value, dict)
                and value.get("type") in _ACTION_TYPES
            ):
                yield value, sub, is_ic
            if key == "actions" and isinstance(value, list):
                for i, a in enumerate(value):
                    if isinstance(a, dict) and a.get("type") in _ACTION_TYPES:
                        yield a, f"{sub}[{i}]", is_ic
            if isinstance(value, dict | list):
                yield from _walk_actions(value, sub, is_ic)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk_actions(item, f"{path}[{i}]", image_carousel)


def message_errors(messages: Any, prefix: str = "messages") -> list[tuple[str, str]]:
    """(property, message) pairs for LINE limits broken by a list of message objects."""
    errors: list[tuple[str, str]] = []
    if not isinstance(messages, list):
        return errors
    if not 1 <= len(messages) <= MAX_MESSAGES:
        errors.append((prefix, f"Size must be between 1 and {MAX_MESSAGES}"))
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            continue
        p = f"{prefix}[{i}]"
        mtype = msg.get("type")
        text = msg.get("text")
        if mtype in ("text", "textV2") and isinstance(text, str):
            if utf16_len(text) > MAX_TEXT:
                errors.append((f"{p}.text", f"Length must be between 0 and {MAX_TEXT}"))
            if not text:
                errors.append((f"{p}.text", "May not be empty"))
        alt = msg.get("altText")
        alt_max = {
            "flex": MAX_FLEX_ALT_TEXT,
            "template": MAX_TEMPLATE_ALT_TEXT,
            "imagemap": MAX_IMAGEMAP_ALT_TEXT,
        }
        if mtype in alt_max and isinstance(alt, str):
            if utf16_len(alt) > alt_max[mtype]:
                errors.append((f"{p}.altText", f"Length must be between 0 and {alt_max[mtype]}"))
            if not alt:
                errors.append((f"{p}.altText", "May not be empty"))
        if mtype == "flex" and isinstance(msg.get("contents"), dict):
            errors.extend(_flex_errors(msg["contents"], f"{p}.contents"))
        qr = msg.get("quickReply")
        if isinstance(qr, dict):
            items = qr.get("items")
            if isinstance(items, list):
                if not 1 <= len(items) <= MAX_QUICK_REPLY_ITEMS:
                    errors.append(
                        (f"{p}.quickReply.items", f"Size must be between 1 and {MAX_QUICK_REPLY_ITEMS}")
                    )
                for j, item in enumerate(items):
                    if isinstance(item, dict) and not isinstance(item.get("action"), dict):
                        errors.append((f"{p}.quickReply.items[{j}].action", "must be specified"))
                    elif isinstance(item, dict) and not item["action"].get("label"):
                        errors.append((f"{p}.quickReply.items[{j}].action.label", "must be specified"))
        for action, apath, in_ic in _walk_actions(msg, p):
            label = action.get("label")
            limit = MAX_IMAGE_CAROUSEL_LABEL if in_ic else MAX_ACTION_LABEL
            if isinstance(label, str) and grapheme_len(label) > limit:
                errors.append((f"{apath}.label", f"Length must be between 0 and {limit}"))
            data = action.get("data")
            if isinstance(data, str) and grapheme_len(data) > MAX_POSTBACK_DATA:
                errors.append((f"{apath}.data", f"Length must be between 0 and {MAX_POSTBACK_DATA}"))
    return errors


def _flex_errors(container: dict[str, Any], p: str) -> list[tuple[str, str]]:
    errors: list[tuple[str, str]] = []
    if container.get("type") == "bubble":
        if _compact_size(container) > MAX_BUBBLE_BYTES:
            errors.append((p, f"Size of a bubble must be at most {MAX_BUBBLE_BYTES} bytes"))
    elif container.get("type") == "carousel":
        bubbles = container.get("contents")
        if isinstance(bubbles, list):
            if not 1 <= len(bubbles) <= MAX_CAROUSEL_BUBBLES:
                errors.append((f"{p}.contents", f"Size must be between 1 and {MAX_CAROUSEL_BUBBLES}"))
            for k, b in enumerate(bubbles):
                if isinstance(b, dict) and _compact_size(b) > MAX_BUBBLE_BYTES:
                    errors.append(
                        (f"{p}.contents[{k}]", f"Size of a bubble must be at most {MAX_BUBBLE_BYTES} bytes")
                    )
        if _compact_size(container) > MAX_CAROUSEL_BYTES:
            errors.append((p, f"Size of a carousel must be at most {MAX_CAROUSEL_BYTES} bytes"))
    return errors
