"""The clock, passed in wherever the current time matters.

``SystemClock`` is the one place in the code base that reads the system time; tests use
``FixedClock``, which only moves when told to. All of them give timezone-aware UTC datetimes.

The service's clock is a ``ShiftedClock``: the system time plus an offset, so it runs on at the speed
of the real one. The offset comes from TIDTAM_NOW (an ISO date-time: the clock starts there when the
process starts) or, overriding it, from a move (``scheduler.travel.move_clock``: the demo's simulator,
``tidtam clock``, a simulation), which is stored in the database so that every process of the service
(the web process and its worker) moves together: each one reads it about once a second.
``make_clock`` builds it for every entry point. A process with a real LINE channel never follows a
stored move (and ``tidtam serve`` refuses to start with one: ``real_line_conflict``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from tidtam.settings import Settings

__all__ = [
    "Clock",
    "FixedClock",
    "ShiftedClock",
    "SystemClock",
    "local_today",
    "make_clock",
    "parse_instant",
    "real_line_conflict",
    "start_offset",
]

log = logging.getLogger(__name__)
FOLLOW_SECONDS = 1.0  # how often a following clock reads the stored offset


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


class ShiftedClock:
    """The system time plus an offset: a stored move's (``source``) when there is one, else ``base``
    (TIDTAM_NOW's), else none.

    ``refresh()`` reads the stored offset; ``follow()`` does so every ``FOLLOW_SECONDS`` on a daemon
    thread until ``stop()``, so ``now()`` never touches the database.
    """

    def __init__(
        self,
        system: Clock | None = None,
        *,
        base: timedelta | None = None,
        source: Callable[[], timedelta | None] | None = None,
    ) -> None:
        self.system = system or SystemClock()
        self.base = base
        self._source = source
        self._stored: timedelta | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # One read-and-keep at a time: without it the follower thread could read the offset just before
        # a move commits and keep that old value after the mover's own refresh had kept the new one.
        self._refreshing = threading.Lock()

    @property
    def offset(self) -> timedelta:
        stored = self._stored
        if stored is not None:
            return stored
        return self.base if self.base is not None else timedelta(0)

    @property
    def moved(self) -> bool:
        """Whether a stored move sets the time."""
        return self._stored is not None

    @property
    def simulated(self) -> bool:
        """Whether this is not simply the system time (TIDTAM_NOW is set, or the clock was moved)."""
        return self._stored is not None or self.base is not None

    @property
    def origin(self) -> str:
        """What sets the time: "moved", "TIDTAM_NOW" or "system"."""
        if self._stored is not None:
            return "moved"
        return "TIDTAM_NOW" if self.base is not None else "system"

    def now(self) -> datetime:
        return self.system.now() + self.offset

    def refresh(self) -> None:
        """Read the stored offset now (errors propagate)."""
        if self._source is None:
            return
        with self._refreshing:
            self._keep(self._source())

    def _keep(self, stored: timedelta | None) -> None:
        if stored != self._stored:
            if self._thread is not None:  # a following clock says when another process moved it
                if stored is None:
                    log.info("the service clock was reset")
                else:
                    log.info("the service clock follows a move: offset %s", stored)
            self._stored = stored

    def follow(self) -> ShiftedClock:
        """Keep reading the stored offset on a daemon thread (for a long-running process)."""
        if self._source is None or self._thread is not None:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._follow, name="tidtam-clock", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop following (before the engine the source reads is disposed)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=5)

    def _follow(self) -> None:
        failing = False
        while not self._stop.wait(FOLLOW_SECONDS):
            try:
                self.refresh()
                failing = False
            except Exception:  # keep the last offset; the next read retries
                if not failing:
                    log.warning("reading the service clock's offset failed", exc_info=True)
                failing = True

    def describe(self, tz: ZoneInfo) -> dict[str, object]:
        """For `/healthz` and the simulator: whether it is simulated, and the time in the office's zone."""
        return {
            "simulated": self.simulated,
            "origin": self.origin,
            "now": self.now().astimezone(tz).isoformat(timespec="seconds"),
        }

    def __repr__(self) -> str:
        return f"ShiftedClock({self.origin}, offset {self.offset})"


def local_today(clock: Clock, tz: ZoneInfo) -> date:
    """Today's date in ``tz`` according to ``clock``."""
    return clock.now().astimezone(tz).date()


def parse_instant(text: str, tz: ZoneInfo) -> datetime:
    """An ISO date-time (``2027-01-08T08:30``, ``2027-01-08 08:30+07:00``, ``2027-01-08``) as an aware
    UTC datetime; a date alone (midnight) or a time without an offset is in ``tz``. ValueError if not ISO."""
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def start_offset(settings: Settings, system: Clock | None = None) -> timedelta | None:
    """TIDTAM_NOW's offset from the system time, taken now (None when it is not set): the clock of a
    process starts at TIDTAM_NOW and runs on from there."""
    target = settings.now_at
    if target is None:
        return None
    return target - (system or SystemClock()).now()


def make_clock(
    settings: Settings,
    engine: Engine,
    *,
    system: Clock | None = None,
    base: timedelta | None = None,
    follow: bool = False,
) -> ShiftedClock:
    """The service's clock for an entry point: TIDTAM_NOW's offset (``base`` when a parent process
    hands its own down), overridden by a stored move, read now and, with ``follow``, every second.
    With a real LINE channel a stored move is never followed."""
    from models.clock import stored_offset

    system = system or SystemClock()
    if base is None:
        base = start_offset(settings, system)
    source = None if settings.real_line_channel else (lambda: stored_offset(engine))
    clock = ShiftedClock(system, base=base, source=source)
    clock.refresh()
    return clock.follow() if follow else clock


def real_line_conflict(settings: Settings, engine: Engine) -> str | None:
    """Why a simulated clock and a real LINE channel must not run together, or None when they do not:
    reminders of days that have not come would reach real people."""
    if not settings.real_line_channel:
        return None
    channel = (
        "a real LINE channel is configured (LINE_CHANNEL_SECRET or LINE_CHANNEL_ACCESS_TOKEN is set and "
        f"LINE_API_BASE_URL is {settings.line_api_base_url})"
    )
    if settings.now is not None:
        return (
            f"TIDTAM_NOW is set ({settings.now}) while {channel}: a simulated clock must never reach real "
            "LINE. Unset TIDTAM_NOW, or point LINE_API_BASE_URL at an emulator."
        )
    from models.clock import stored_offset

    if stored_offset(engine) is not None:
        return (
            f"the service clock was moved (tidtam clock) while {channel}: a simulated clock must never "
            "reach real LINE. Run `tidtam clock reset` first."
        )
    return None
