"""Thai text about the service's clock (`tidtam clock`, and the simulator's clock), and reading a date
and time the way Thai users type it.

Pure functions: values in, Thai text out; nothing here reads the clock (``today`` is passed in).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Protocol
from zoneinfo import ZoneInfo

from messages.errors import InputError
from messages.thai_dates import format_date, format_datetime, parse_date
from messages.thai_numbers import normalize_digits

__all__ = [
    "TIME_EXAMPLE",
    "clock_moved",
    "clock_reset",
    "describe_move",
    "no_reminder_ahead",
    "parse_date_time",
    "service_time",
]

TIME_EXAMPLE = "เช่น 15/1/2570 08:30 หรือ 2027-01-15T08:30"
_ORIGINS = {
    "moved": "เวลาจำลอง: เลื่อนนาฬิกาไว้",
    "TIDTAM_NOW": "เวลาจำลอง: ตั้งด้วย TIDTAM_NOW",
    "system": "เวลาจริง",
}
_TRAILING_TIME = re.compile(
    r"^(?P<date>.+?)\s+(?:เวลา\s*)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})\s*(?:น\.?)?$"
)
_DAYS_SHOWN = 10


class _MoveLike(Protocol):
    before: datetime
    after: datetime
    already: list[date]
    busy: list[date]
    dispatch: object | None

    @property
    def days_ticked(self) -> list[date]: ...
    @property
    def queued(self) -> int: ...
    @property
    def sent(self) -> int: ...


def service_time(now: datetime, tz: ZoneInfo, origin: str) -> str:
    """``เวลาของระบบ: 15 ม.ค. 2570 08:30 น. (เวลาจริง)``; ``origin`` is "system", "TIDTAM_NOW" or "moved"."""
    return f"เวลาของระบบ: {format_datetime(now, tz)} ({_ORIGINS.get(origin, _ORIGINS['moved'])})"


def _days(days: Sequence[date]) -> str:
    shown = ", ".join(format_date(d) for d in days[:_DAYS_SHOWN])
    return shown + (f" และอีก {len(days) - _DAYS_SHOWN} วัน" if len(days) > _DAYS_SHOWN else "")


def clock_moved(
    before: datetime,
    after: datetime,
    tz: ZoneInfo,
    *,
    ticked: Sequence[date],
    queued: int,
    already: Sequence[date] = (),
    busy: Sequence[date] = (),
    sent: int | None = None,
) -> list[str]:
    """What a move did, one line each: from when to when, the days ticked, the messages queued and sent
    (``sent`` None: the service sends them itself)."""
    lines = [f"เลื่อนนาฬิกาจาก {format_datetime(before, tz)} เป็น {format_datetime(after, tz)} แล้วค่ะ"]
    if after < before:
        lines.append("เป็นการย้อนเวลา จึงไม่มีการแจ้งเตือนรอบใหม่ค่ะ")
    elif ticked:
        lines.append(f"ทำรอบแจ้งเตือนประจำวัน {len(ticked)} วัน: {_days(ticked)}")
        lines.append(f"เข้าคิวส่ง {queued:,} ข้อความ")
    else:
        lines.append("ไม่มีวันทำการที่ถึงเวลาแจ้งเตือนในช่วงนี้ค่ะ")
    if already:
        lines.append(f"วันที่แจ้งเตือนไปแล้ว ไม่ส่งซ้ำ: {_days(already)}")
    if busy:
        lines.append(f"ยังทำรอบของวันต่อไปนี้ไม่ได้ เพราะอีกเครื่องกำลังทำอยู่: {_days(busy)}")
    if sent is None:
        if queued:
            lines.append("ระบบจะส่งข้อความในคิวเองภายในไม่กี่วินาทีค่ะ")
    else:
        lines.append(f"ส่งแล้ว {sent:,} ข้อความ")
    return lines


def clock_reset(was_moved: bool) -> str:
    if not was_moved:
        return "นาฬิกาไม่ได้ถูกเลื่อนไว้ค่ะ"
    return "คืนนาฬิกาเป็นเวลาปกติแล้วค่ะ (ข้อความที่ส่งไปแล้วยังอยู่)"


def no_reminder_ahead() -> str:
    return "ไม่พบการแจ้งเตือนครั้งถัดไป (ยังไม่มีรอบรายงานที่จะถึงกำหนด) จึงไม่ได้เลื่อนนาฬิกาค่ะ"


def parse_date_time(text: str, *, today: date) -> tuple[date, time]:
    """A date as ``parse_date`` reads it, optionally followed by a time ``08:30`` / ``8.30 น.``
    (midnight when none). Raises ``InputError`` with a Thai message and an example."""
    cleaned = normalize_digits(text).strip()
    at = time(0)
    if match := _TRAILING_TIME.fullmatch(cleaned):
        hour, minute = int(match["hour"]), int(match["minute"])
        if hour > 23 or minute > 59:
            raise InputError(f"ไม่มีเวลา {hour:02d}:{minute:02d} ค่ะ", TIME_EXAMPLE)
        cleaned, at = match["date"], time(hour, minute)
    try:
        return parse_date(cleaned, today=today), at
    except InputError as exc:
        raise InputError(exc.message, TIME_EXAMPLE) from exc


def describe_move(summary: _MoveLike, tz: ZoneInfo) -> list[str]:
    """``clock_moved`` for a ``scheduler.travel.MoveSummary`` (``tidtam clock`` and the simulator)."""
    return clock_moved(
        summary.before,
        summary.after,
        tz,
        ticked=summary.days_ticked,
        queued=summary.queued,
        already=summary.already,
        busy=summary.busy,
        sent=None if summary.dispatch is None else summary.sent,
    )
