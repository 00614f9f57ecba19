"""The clock, passed in wherever the current time matters.

``SystemClock`` is the one place in the code base that reads the system time; tests use
``FixedClock``, which only moves when told to. Both give timezone-aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["Clock", "FixedClock", "SystemClock", "local_today"]


class Clock(Protocol):
    """Something that tells the current time."""

    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


def _as_utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError("FixedClock needs a timezone-aware datetime")
    return dt.astimezone(UTC)


class FixedClock:
    """A clock that stands still until moved with ``advance`` or ``set``."""

    def __init__(self, dt: datetime) -> None:
        self._now = _as_utc(dt)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        """Move the clock by ``delta`` (which may be negative)."""
        self._now = self._now + delta

    def set(self, dt: datetime) -> None:
        """Put the clock at ``dt`` (timezone-aware)."""
        self._now = _as_utc(dt)

    def __repr__(self) -> str:
        return f"FixedClock({self._now.isoformat()})"


def local_today(clock: Clock, tz: ZoneInfo) -> date:
    """Today's date in ``tz`` according to ``clock``."""
    return clock.now().astimezone(tz).date()
