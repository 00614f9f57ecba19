"""The office's clock for tests: its time zone, and the machine clock pinned to one instant.

No test takes "today" from the machine's date or time zone. Tests that call `models/` or the
scheduler pass a `FixedClock` or fixed datetimes; tests that go through an entry point which reads
the system clock itself (the `tidtam` commands, the service under uvicorn, with the fake LINE
platform stamping its events) take the `office_clock` fixture (tests/conftest.py), which travels the
machine clock (time-machine) to `PINNED_AT` for the test, so the product, the fake and the test
agree on one timeline whatever the real hour.

`PINNED_AT` is chosen so that the machine's UTC date is wrong: 06:30 on 1 October 2026 in Bangkok
is still 30 September, and fiscal year 2569, in UTC. A test or a product path that takes the UTC
date (or the process's zone, when TZ=UTC) gets the wrong day, quarter and fiscal year and fails.
It is inside the default quiet hours (20:00-07:00), in which the scheduler's outbox dispatcher sends
nothing (what the event processor delivers itself is not held): a test that runs the scheduler on
this clock should set TIDTAM_QUIET_HOURS.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from zoneinfo import ZoneInfo

import time_machine

from scheduler.clock import SystemClock, local_today

__all__ = ["OFFICE_TZ", "PINNED_AT", "OfficeClock", "machine_clock_at", "office_today"]

OFFICE_TZ = ZoneInfo("Asia/Bangkok")
PINNED_AT = datetime(2026, 10, 1, 6, 30, tzinfo=OFFICE_TZ)


def office_today(moment: datetime) -> date:
    """The office's date at ``moment`` (an aware datetime)."""
    return moment.astimezone(OFFICE_TZ).date()


class OfficeClock(SystemClock):
    """The system clock, which a test reads while the machine clock is pinned; `today` in Bangkok."""

    @property
    def today(self) -> date:
        return local_today(self, OFFICE_TZ)


@contextmanager
def machine_clock_at(moment: datetime) -> Iterator[OfficeClock]:
    """The machine clock (`time.time`, `datetime.now`, `date.today`, ...) travelled to ``moment``.

    It keeps ticking from there (`tick=True`): leases, retry delays, link-code expiry and the fake
    platform's timestamps behave as in real time. `time.monotonic` is not travelled (time-machine
    leaves it alone), so asyncio, uvicorn and every timeout keep working. The destination is given
    as a timestamp, not as a datetime with a `ZoneInfo`: with a zone, time-machine would also set the
    process's TZ, hiding exactly the bugs that depend on it.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("machine_clock_at needs a timezone-aware datetime")
    with time_machine.travel(moment.timestamp(), tick=True):
        yield OfficeClock()
