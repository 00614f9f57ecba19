"""A pytest plugin that runs the selected tests again and again, the machine clock and time zone set
differently each time ("legs"): how tests/test_any_hour.py proves the suite passes whatever the hour.

    TIDTAM_TEST_CLOCK=2026-10-01T00:05+07:00,2026-12-31T23:55+07:00 \\
    TIDTAM_TEST_ZONES=UTC,Asia/Bangkok TZ=UTC PYTHONPATH=tests pytest -p clock_travel TEST_IDS...

runs every selected test once per (zone, moment) pair, zones outermost, in that order.

- The clock goes to the first moment, and TZ to the first zone, when this module is imported, which
  `-p` does before any conftest or test module: a "today" taken at import or collection time is
  caught too. Without TIDTAM_TEST_ZONES the process keeps the TZ it was started with.
- Before the first test of each later leg the clock and TZ move to that leg's; the tests' own
  function-scoped fixtures (the office a test seeds, the service it starts) are set up after it.
- The clock keeps ticking (`tick=True`). `time.monotonic` is not travelled (time-machine leaves it
  alone), so timeouts, asyncio and uvicorn work as usual.
- TZ is set in the environment and applied with `time.tzset()`, as at process start; the clock's
  destination is handed to time-machine as a timestamp, since with a datetime in a `ZoneInfo` (or
  UTC) it would set TZ itself.
- Tests that pin the clock themselves (`office_clock`) travel again, inside this travel.
- A failed test's report names its leg.
"""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

CLOCK_ENV = "TIDTAM_TEST_CLOCK"
ZONES_ENV = "TIDTAM_TEST_ZONES"


def _moments() -> list[datetime]:
    value = os.environ.get(CLOCK_ENV, "")
    moments = []
    for part in value.split(","):
        try:
            moment = datetime.fromisoformat(part.strip())
        except ValueError:
            raise pytest.UsageError(
                f"-p clock_travel needs {CLOCK_ENV}=<ISO datetime with offset>[,...], got {value!r}"
            ) from None
        if moment.utcoffset() is None:
            raise pytest.UsageError(f"{CLOCK_ENV}: {part!r} has no UTC offset")
        moments.append(moment)
    return moments


def _zones() -> list[str]:
    value = os.environ.get(ZONES_ENV, "").strip()
    if not value:
        return [os.environ.get("TZ", "")]  # the process's own
    return [zone.strip() for zone in value.split(",")]


LEGS = [(zone, moment) for zone in _zones() for moment in _moments()]
_state = {"per_leg": 0, "started": 0, "leg": 0}


def _set_zone(zone: str) -> None:
    if zone:
        os.environ["TZ"] = zone
    else:
        os.environ.pop("TZ", None)
    time.tzset()


def describe(leg: int) -> str:
    zone, moment = LEGS[leg]
    return f"{moment.isoformat()} TZ={zone!r}"


_set_zone(LEGS[0][0])
_travel = time_machine.travel(LEGS[0][1].timestamp(), tick=True)
_traveller = _travel.start()


def pytest_configure(config: pytest.Config) -> None:
    drift = datetime.now(UTC) - LEGS[0][1]
    if not timedelta(0) <= drift < timedelta(minutes=1):
        raise pytest.UsageError(f"clock travel to {describe(0)} did not take (now {datetime.now(UTC)})")


def pytest_report_header(config: pytest.Config) -> str:
    return "clock_travel: each test at " + "; ".join(describe(leg) for leg in range(len(LEGS)))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    _state["per_leg"] = len(items)
    items[:] = list(items) * len(LEGS)  # the same items again for each leg, in the same order


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    leg = _state["started"] // max(1, _state["per_leg"])
    _state["started"] += 1
    if leg != _state["leg"]:
        _state["leg"] = leg
        zone, moment = LEGS[leg]
        _set_zone(zone)
        _traveller.move_to(moment.timestamp())
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        report.sections.append(("clock_travel", f"leg at {describe(_state['leg'])}"))
    return report


def pytest_unconfigure(config: pytest.Config) -> None:
    _travel.stop()
