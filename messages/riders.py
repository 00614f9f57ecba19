"""Due items riding on a free reply: the short text added after the answer to what a person asked.

A push costs quota; a reply is free. When a person writes to the bot, what is due for them (an
approval request, the outcome of a report, today's reminder) is added to the reply as one short text
after the answer, at most once a day, instead of a push later. Each outbox row that may ride carries
its own line (``rider``); ``rider_message`` joins them under one heading.

Pure functions; one voice with the rest of the bot (short, polite, "ค่ะ").
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from messages.evaluation import EVALUATION_WORDS
from messages.forms import truncate
from messages.reminders import Item, item_text
from messages.thai_dates import format_date, format_quarter
from messages.thai_numbers import format_number
from messages.vocabulary import WORDS

__all__ = [
    "RIDER_HEADING",
    "approval_rider",
    "approved_rider",
    "campaign_rider",
    "daily_rider",
    "is_rider",
    "one_push",
    "returned_rider",
    "rider_message",
]

RIDER_HEADING = "มีเรื่องแจ้งเพิ่มเติมค่ะ"  # no pronoun: riders reach teachers and directors alike
RIDER_LINES = 8  # lines shown before "and N more"
_RIDER_CHARS = 1200  # a short message, well under LINE's 5,000


def approval_rider(project: str, quarter: object) -> str:
    return f"รอท่านอนุมัติ: {truncate(project, 80)} {format_quarter(quarter)}"  # type: ignore[arg-type]


def approved_rider(project: str, quarter: object) -> str:
    return f"อนุมัติแล้ว: {truncate(project, 80)} {format_quarter(quarter)}"  # type: ignore[arg-type]


def returned_rider(project: str, quarter: object, reason: str) -> str:
    return (
        f"ส่งกลับให้แก้ไข: {truncate(project, 80)} {format_quarter(quarter)}"  # type: ignore[arg-type]
        f" เหตุผล: {truncate(reason, 120)}"
    )


def stuck_rider(project: str, quarter: object) -> str:
    """To a planner: a submitted report that nobody in the system can approve."""
    return f"ไม่มีผู้อนุมัติ: {truncate(project, 80)} {format_quarter(quarter)} กรุณากำหนดผู้อนุมัติในข้อมูลหน่วยงาน"  # type: ignore[arg-type]


def campaign_rider(title: str, closes_on: date, *, reminder: bool = False) -> str:
    """An evaluation campaign's invitation (or its reminder) as a rider line."""
    lead = "ยังไม่ได้ตอบแบบประเมิน" if reminder else "เชิญตอบแบบประเมิน"
    return f"{lead}: {truncate(title, 80)} ตอบได้ถึง {format_date(closes_on)}"


def daily_rider(items: Sequence[Item]) -> str:
    """The day's items in a few lines: each headline and the codes it lists."""
    lines = []
    for item in items:
        headline = item_text(item, max_lines=0)[0]
        codes = [line.code for line in item.lines if line.code]
        lines.append(f"{headline} {', '.join(codes[:6])}".rstrip() if codes else headline)
    return "\n".join(lines)


def _hints(lines: Sequence[str]) -> list[str]:
    joined = "\n".join(lines)
    hints = []
    if "รอท่านอนุมัติ" in joined:
        hints.append(f'พิมพ์ "{WORDS["PENDING"][0]}" เพื่อดูและอนุมัติ')
    if "ส่งกลับให้แก้ไข" in joined or "ยังไม่ได้ส่ง" in joined:
        hints.append(f'พิมพ์ "{WORDS["REPORT"][0]}" เพื่อรายงานหรือแก้ไข')
    if "แบบประเมิน:" in joined:
        hints.append(f'พิมพ์ "{EVALUATION_WORDS[0]}" เพื่อเริ่มตอบ')
    return hints


def rider_message(riders: Sequence[str]) -> dict[str, Any]:
    """One LINE text message carrying the riders (each may hold several lines), as LINE's JSON."""
    lines = [line for rider in riders for line in rider.splitlines() if line.strip()]
    shown = lines[:RIDER_LINES]
    body = [RIDER_HEADING, *(f"• {line}" for line in shown)]
    if len(lines) > len(shown):
        body.append(f"และอีก {format_number(len(lines) - len(shown))} รายการค่ะ")
    body.extend(_hints(lines))
    text = "\n".join(body)
    if len(text) > _RIDER_CHARS:
        text = text[: _RIDER_CHARS - 1] + "…"
    return {"type": "text", "text": text}


def is_rider(message: dict[str, Any]) -> bool:
    """Whether a message (LINE's JSON) is the riders' text."""
    return message.get("type") == "text" and str(message.get("text", "")).startswith(RIDER_HEADING)


# --- a day's held messages folded into one push ------------------------------------------------------

MAX_MESSAGES = 5  # message objects in one push
CAROUSEL_BUBBLES = 12
CAROUSEL_BYTES = 45_000  # under LINE's 50 KB for a carousel
_CAROUSEL_ALT = "มีรายงานรอท่านพิจารณา {n} รายการค่ะ"


def _is_bubble(message: dict[str, Any]) -> bool:
    return message.get("type") == "flex" and message.get("contents", {}).get("type") == "bubble"


def _carousels(bubbles: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Cards as carousels of up to 12 (``mega``-sized) bubbles, each under LINE's size limit."""
    out: list[list[dict[str, Any]]] = []
    size = 0
    for message in bubbles:
        bubble = {**message["contents"], "size": "mega"}
        weight = len(json.dumps(bubble, ensure_ascii=False).encode())
        if not out or len(out[-1]) >= CAROUSEL_BUBBLES or size + weight > CAROUSEL_BYTES:
            out.append([])
            size = 0
        out[-1].append(bubble)
        size += weight
    return [
        {
            "type": "flex",
            "altText": _CAROUSEL_ALT.format(n=format_number(len(group))),
            "contents": {"type": "carousel", "contents": group},
        }
        if len(group) > 1
        else {"type": "flex", "altText": _CAROUSEL_ALT.format(n="1"), "contents": group[0]}
        for group in out
    ]


def one_push(first: Sequence[dict[str, Any]], held: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages of one push: ``first`` (the day's reminder bubble), then the held messages with
    several cards as a carousel; texts beyond LINE's five message objects are joined into one."""
    cards = [m for m in held if _is_bubble(m)]
    others = [m for m in held if not _is_bubble(m)]
    messages = [*first, *(_carousels(cards) if len(cards) > 1 else cards)]
    room = MAX_MESSAGES - len(messages)
    if len(others) <= room:
        return [*messages, *others][:MAX_MESSAGES]
    keep, rest = others[: max(0, room - 1)], others[max(0, room - 1) :]
    texts = [str(m.get("text") or m.get("altText") or "") for m in rest]
    joined = "\n\n".join(t for t in texts if t)
    return [*messages, *keep, {"type": "text", "text": joined[:4999]}][:MAX_MESSAGES]
