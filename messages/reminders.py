"""What the scheduler says: the one daily message per person (reminders, overdue notices, approvals,
draft nudges), escalations and announcements to the planning group, and the weekly digest.

Pure functions: plain data in (``Item``), messages out. ``daily_message`` returns a line-bot-sdk
``FlexMessage``; ``daily_message_dict`` returns the same message as LINE's JSON, which is what LINE is
sent: validating every message through the SDK's models costs about half a millisecond, and a tick
for a 30,000-school office queues well over 100,000 of them (stored compact, ``messages.stored``, and
rendered by ``daily_message_dict`` when sent). Tests check that every dict is accepted by the SDK (and
by the fake LINE platform, which validates against LINE's spec).

One voice: short, polite, statements end with "ค่ะ". Dates are Buddhist Era ("11 ม.ค. 2570").
Limits: altText ≤ 1,500 characters (UTF-16 units), a bubble's JSON ≤ 30 KB; long lists are cut and
end with "และอีก N รายการ".
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from linebot.v3.messaging import FlexMessage

from messages.thai_dates import format_date
from messages.thai_numbers import format_number
from messages.vocabulary import WORDS

__all__ = [
    "ALT_TEXT_LIMIT",
    "BUBBLE_LIMIT_BYTES",
    "Item",
    "ItemKind",
    "Line",
    "daily_message",
    "daily_message_dict",
    "item_text",
    "message_lines",
]

ALT_TEXT_LIMIT = 1500
BUBBLE_LIMIT_BYTES = 30_000
_TITLE = "ติดตาม · แจ้งเตือน"


class ItemKind(StrEnum):
    """What an item is about, declared most urgent first: a message lists its items in this order."""

    REPORT_OVERDUE = "report_overdue"
    APPROVER_OVERDUE = "approver_overdue"
    LATE_ESCALATION = "late_escalation"
    REPORT_DUE = "report_due"
    APPROVAL_ESCALATION = "approval_escalation"
    STUCK_REPORTS = "stuck_reports"
    APPROVAL_PENDING = "approval_pending"
    DRAFT_IDLE = "draft_idle"
    BUDGET_NOTICE = "budget_notice"
    REMINDER_SUMMARY = "reminder_summary"
    STEP_CLOSING = "step_closing"
    STEP_OPEN = "step_open"
    DIGEST = "digest"
    UNDELIVERED = "undelivered"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {kind: position for position, kind in enumerate(ItemKind)}


class Line(NamedTuple):
    """One listed thing: a project (code, name), an office (code, name, detail), a step, a count.
    A named tuple, not a dataclass: a big tick hashes millions of them (identical messages are
    grouped into multicasts), and a tuple's hash is computed in C."""

    code: str
    text: str
    detail: str = ""


@dataclass(frozen=True)
class Item:
    """One thing a message tells. ``quarter`` is (fiscal year, quarter); ``on`` the date it is about
    (due date, window end); ``days`` working days left or late, or days idle; ``total`` how many
    things there are (``lines`` may hold fewer); ``figures`` named counts (digest, budget)."""

    kind: ItemKind
    subject: str
    quarter: tuple[int, int] | None = None
    on: date | None = None
    days: int = 0
    total: int = 0
    lines: tuple[Line, ...] = ()
    figures: tuple[tuple[str, int], ...] = ()

    def __hash__(self) -> int:
        # The generated hash would hash the kind with the enum's hash, a Python call per item; a big
        # tick hashes hundreds of thousands of items (identical messages are grouped by them). Equal
        # items have equal kinds, so their kinds' values hash alike.
        return hash((self.kind._value_, self.subject, self.quarter, self.on, self.days, self.total, self.lines,
                     self.figures))  # fmt: skip


# --- wording --------------------------------------------------------------------------------------


def _quarter(item: Item) -> str:
    if item.quarter is None:
        return ""
    fy, q = item.quarter
    return f"ไตรมาส {q}/{fy}"


def _headline(item: Item) -> str:
    return _headline_of(item.kind, item.quarter, item.on, item.days, item.total)


@lru_cache(maxsize=8192)
def _headline_of(
    kind: ItemKind, quarter: tuple[int, int] | None, on_day: date | None, days: int, total: int
) -> str:
    # Thousands of people share the same headline on a tick; it is worded once.
    item = Item(kind, "", quarter, on_day, days, total)
    q, n = _quarter(item), format_number(item.total)
    on = format_date(item.on) if item.on else ""
    match item.kind:
        case ItemKind.REPORT_OVERDUE:
            return f"รายงาน{q} เลยกำหนดส่ง ({on}) แล้ว ยังไม่ได้ส่ง {n} โครงการค่ะ"
        case ItemKind.APPROVER_OVERDUE:
            return f"โครงการที่ท่านกำกับยังไม่ส่งรายงาน{q} ซึ่งครบกำหนด {on} จำนวน {n} โครงการค่ะ"
        case ItemKind.LATE_ESCALATION:
            return f"รายงาน{q} ค้างส่งเกิน {item.days} วันทำการ (ครบกำหนด {on}) รวม {n} โครงการ แยกตามหน่วยงานค่ะ"
        case ItemKind.REPORT_DUE if item.days == 0:
            return f"วันนี้ ({on}) เป็นวันสุดท้ายของการส่งรายงาน{q} ยังไม่ได้ส่ง {n} โครงการค่ะ"
        case ItemKind.REPORT_DUE:
            return f"อีก {item.days} วันทำการ ครบกำหนดส่งรายงาน{q} ({on}) ยังไม่ได้ส่ง {n} โครงการค่ะ"
        case ItemKind.APPROVAL_ESCALATION:
            return f"รายงานรออนุมัติเกิน {item.days} วันทำการ {n} รายการค่ะ"
        case ItemKind.STUCK_REPORTS:
            return f"รายงานที่ยังไม่มีผู้อนุมัติ {n} รายการ รบกวนกำหนดผู้อนุมัติระดับถัดไปให้ด้วยค่ะ"
        case ItemKind.APPROVAL_PENDING:
            return f"มีรายงานรอท่านอนุมัติมา {item.days} วันทำการ {n} รายการค่ะ"
        case ItemKind.DRAFT_IDLE:
            return f"รายงานฉบับร่างไม่ได้แก้ไขมา {item.days} วันขึ้นไป {n} รายการ รบกวนทำให้เสร็จและส่งด้วยนะคะ"
        case ItemKind.BUDGET_NOTICE:
            return "ใช้โควตาข้อความ LINE ของเดือนนี้ไปมากแล้ว จากนี้การแจ้งเตือนรายบุคคลจะส่งเป็นสรุปถึงกลุ่มนโยบายและแผนแทนค่ะ"
        case ItemKind.REMINDER_SUMMARY:
            return f"สรุปการแจ้งเตือนวันนี้ที่งดส่งรายบุคคลเพื่อประหยัดโควตา ({n} คน) ค่ะ"
        case ItemKind.STEP_CLOSING:
            return f"ขั้นตอนตามคู่มือที่ใกล้สิ้นสุด {n} ขั้นตอนค่ะ"
        case ItemKind.STEP_OPEN:
            return f"เริ่มช่วงเวลาของขั้นตอนตามคู่มือ {n} ขั้นตอนค่ะ"
        case ItemKind.DIGEST:
            return f"สรุปประจำสัปดาห์ รายงาน{q} (ครบกำหนด {on}) ค่ะ"
        case ItemKind.UNDELIVERED:
            return f"ข้อความที่ส่งไม่ถึงผู้รับในสัปดาห์ที่ผ่านมา {n} รายการค่ะ"
    raise ValueError(item.kind)  # pragma: no cover - every kind has a headline


_PERIOD_CODE = re.compile(r"^(\d{4})Q([1-4])$")


@lru_cache(maxsize=1024)
def _detail(detail: str) -> str:
    """A line's detail as people read it: a period code (`2570Q1`) becomes `ไตรมาส 1/2570`."""
    found = _PERIOD_CODE.match(detail)
    return f"ไตรมาส {found.group(2)}/{found.group(1)}" if found else detail


def _line_text(line: Line) -> str:
    code, text, detail = line
    head = f"{code} {text}" if code and text else code or text
    return f"{head} — {_detail(detail)}" if detail else head


def _figures_text(item: Item) -> str:
    return " · ".join(f"{label} {format_number(value)}" for label, value in item.figures)


# Kinds whose "and N more" counts the lines left, not the things the item is about.
_MORE_OF_LINES = frozenset({ItemKind.DIGEST, ItemKind.BUDGET_NOTICE})


def _more(item: Item, shown: int) -> str | None:
    rest = max(item.total, len(item.lines)) - shown
    if item.kind in _MORE_OF_LINES:
        rest = len(item.lines) - shown
    return f"และอีก {format_number(rest)} รายการค่ะ" if rest > 0 else None


def message_lines(item: Item, max_lines: int) -> tuple[Line, ...]:
    """The lines of ``item`` that its message at ``max_lines`` depends on: the lines shown, or all of
    them where the count of the rest comes from the lines (`_more`). The item with only these lines
    gives the same message (what the outbox stores of a long list, ``messages.stored``)."""
    lines = item.lines
    if len(lines) > max_lines and len(lines) <= item.total and item.kind not in _MORE_OF_LINES:
        return lines[:max_lines]
    return lines


def item_text(item: Item, max_lines: int = 10) -> list[str]:
    """An item as plain text lines: the headline, figures, then its lines (cut at ``max_lines``)."""
    out = [_headline(item)]
    if item.figures:
        out.append(_figures_text(item))
    shown = item.lines[:max_lines]
    out.extend(f"• {_line_text(line)}" for line in shown)
    more = _more(item, len(shown))
    if more:
        out.append(more)
    return out


# --- Flex ------------------------------------------------------------------------------------------

_URGENT = frozenset({ItemKind.REPORT_OVERDUE, ItemKind.APPROVER_OVERDUE, ItemKind.LATE_ESCALATION})
_COLOUR = {True: "#C62828", False: "#1B5E20"}


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "text", "text": text[:2000], "wrap": True, **style}


def _item_contents(item: Item, max_lines: int) -> list[dict[str, Any]]:
    # Two texts per item (headline, then the rest joined by line breaks): few JSON objects per message
    # keeps a 100,000-message tick fast to encode and small to store.
    lines = item_text(item, max_lines)
    contents = [_text(lines[0], weight="bold", size="sm", color=_COLOUR[item.kind in _URGENT])]
    if len(lines) > 1:
        contents.append(_text("\n".join(lines[1:]), size="xs", color="#555555"))
    return contents


def _alt_text(items: Sequence[Item]) -> str:
    text = "ติดตาม: " + " / ".join(_headline(item) for item in items)
    # A character is one or two UTF-16 units: a text of at most half the limit fits uncounted.
    if 2 * len(text) <= ALT_TEXT_LIMIT or _utf16_len(text) <= ALT_TEXT_LIMIT:
        return text
    cut = text[: ALT_TEXT_LIMIT - 1]
    while _utf16_len(cut) > ALT_TEXT_LIMIT - 1:
        cut = cut[:-1]
    return cut + "…"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# The button a reminder carries is what its recipient does next: report, decide, or look at the area.
_REPORTING = frozenset({ItemKind.REPORT_OVERDUE, ItemKind.REPORT_DUE, ItemKind.DRAFT_IDLE})
_DECIDING = frozenset({ItemKind.APPROVAL_PENDING, ItemKind.APPROVAL_ESCALATION})
_OVERSEEING = frozenset({ItemKind.APPROVER_OVERDUE})
_WATCHING = frozenset({ItemKind.LATE_ESCALATION, ItemKind.DIGEST, ItemKind.REMINDER_SUMMARY})


def button_words(items: Sequence[Item]) -> tuple[str, ...]:
    """The commands of a reminder's buttons, most urgent item's first, at most two."""
    words: list[str] = []
    for item in items:
        if item.kind in _REPORTING:
            word = "REPORT"
        elif item.kind in _DECIDING:
            word = "PENDING"
        elif item.kind in _OVERSEEING:
            word = "SCHOOL_STATUS"
        elif item.kind in _WATCHING:
            word = "AREA_OVERVIEW"
        else:
            continue
        if WORDS[word][0] not in words:
            words.append(WORDS[word][0])
    return tuple(words[:2]) or (WORDS["HELP"][0],)


@lru_cache(maxsize=64)
def _footer(words: tuple[str, ...]) -> dict[str, Any]:
    return {
        "type": "box",
        "layout": "horizontal" if len(words) > 1 else "vertical",
        "spacing": "sm",
        "contents": [
            {
                "type": "button",
                "style": "primary" if index == 0 else "secondary",
                "height": "sm",
                "action": {"type": "message", "label": word, "text": word},
            }
            for index, word in enumerate(words)
        ],
    }


@lru_cache(maxsize=64)
def _footer_json(words: tuple[str, ...]) -> str:
    return ',"footer":' + _compact(_footer(words))


def _bubble(items: Sequence[Item], day: date, max_lines: int, personal: bool) -> dict[str, Any]:
    body: list[dict[str, Any]] = [_text(f"{_TITLE} {format_date(day)}", weight="bold", size="md")]
    for item in items:
        body.append({"type": "separator", "margin": "md"})
        body.extend(_item_contents(item, max_lines))
    bubble: dict[str, Any] = {
        "type": "bubble",
        "size": "giga",
        "body": {"type": "box", "layout": "vertical", "spacing": "sm", "contents": body},
    }
    if personal:
        bubble["footer"] = _footer(button_words(items))
    return bubble


def daily_message_dict(
    items: Sequence[Item], day: date, *, max_lines: int = 10, personal: bool = True
) -> dict[str, Any]:
    """The one Flex message for a recipient's day, as LINE's JSON; items most urgent first.

    ``personal`` adds the buttons of what the recipient does next (not for group chats). The bubble is kept under
    LINE's 30 KB by listing fewer lines per item when it would not fit.
    """
    if not items:
        raise ValueError("a daily message needs at least one item")
    ordered = sorted(items, key=lambda item: (item.kind.rank, item.subject))
    lines = max_lines
    bubble = _bubble(ordered, day, lines, personal)
    # Only long messages can come near the limit; measuring is skipped for the usual short ones.
    if sum(min(len(item.lines), lines) for item in ordered) > 40:
        while lines > 1 and len(json.dumps(bubble, ensure_ascii=False).encode()) > BUBBLE_LIMIT_BYTES:
            lines = max(1, lines // 2)
            bubble = _bubble(ordered, day, lines, personal)
    return {"type": "flex", "altText": _alt_text(ordered), "contents": bubble}


def daily_message_json(
    items: Sequence[Item], day: date, *, max_lines: int = 10, personal: bool = True
) -> str:
    """``daily_message_dict`` as compact JSON text (no spaces, non-ASCII kept), built from string pieces
    for the common short message (the tick's held rows store it; encoding each dict with ``json.dumps``
    was once most of a big tick's time). Long messages go through the dict builder."""
    if not items:
        raise ValueError("a daily message needs at least one item")
    ordered = sorted(items, key=lambda item: (item.kind.rank, item.subject))
    if sum(min(len(item.lines), max_lines) for item in ordered) > 40:
        return _compact(daily_message_dict(ordered, day, max_lines=max_lines, personal=personal))
    parts = [_title_json(day)]
    for item in ordered:
        lines = item_text(item, max_lines)
        parts.append(_SEPARATOR)
        parts.append(_TEXT_OPEN)
        parts.append(encode_basestring(lines[0][:2000]))
        parts.append(_HEAD_STYLE[item.kind in _URGENT])
        if len(lines) > 1:
            parts.append(_TEXT_OPEN)
            parts.append(encode_basestring("\n".join(lines[1:])[:2000]))
            parts.append(_BODY_STYLE)
    body = "".join(parts)
    footer = _footer_json(button_words(ordered)) if personal else ""
    return (
        f'{{"type":"flex","altText":{encode_basestring(_alt_text(ordered))},"contents":{{"type":"bubble",'
        f'"size":"giga","body":{{"type":"box","layout":"vertical","spacing":"sm","contents":[{body}]}}{footer}}}}}'
    )


@lru_cache(maxsize=16)
def _title_json(day: date) -> str:
    return _TEXT_OPEN[1:] + encode_basestring(f"{_TITLE} {format_date(day)}"[:2000]) + _TITLE_STYLE


def _compact(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


_TEXT_OPEN = ',{"type":"text","text":'
_TITLE_STYLE = ',"wrap":true,"weight":"bold","size":"md"}'
_SEPARATOR = ',{"type":"separator","margin":"md"}'
_HEAD_STYLE = {
    urgent: f',"wrap":true,"weight":"bold","size":"sm","color":"{_COLOUR[urgent]}"}}'
    for urgent in (True, False)
}
_BODY_STYLE = ',"wrap":true,"size":"xs","color":"#555555"}'


def daily_message(
    items: Sequence[Item], day: date, *, max_lines: int = 10, personal: bool = True
) -> FlexMessage:
    """``daily_message_dict`` as a validated line-bot-sdk ``FlexMessage``."""
    return FlexMessage.from_dict(daily_message_dict(items, day, max_lines=max_lines, personal=personal))
