"""Tests for scheduler.fiscal (Thai fiscal year and quarters) and scheduler.clock."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.clock import Clock, FixedClock, SystemClock, local_today
from scheduler.fiscal import (
    FiscalQuarter,
    be_year,
    ce_year,
    fiscal_year_bounds,
    fiscal_year_of,
    quarter_containing,
    quarter_of,
    quarters_of,
)

BANGKOK = ZoneInfo("Asia/Bangkok")
dates = st.dates(min_value=date(1950, 1, 1), max_value=date(2150, 12, 31))
fiscal_years = st.integers(min_value=2490, max_value=2690)


# --- years --------------------------------------------------------------------------------------


def test_be_and_ce_years() -> None:
    assert be_year(2027) == 2570
    assert ce_year(2570) == 2027
    assert ce_year(be_year(1999)) == 1999


@pytest.mark.parametrize(
    ("d", "fy"),
    [
        (date(2026, 9, 30), 2569),
        (date(2026, 10, 1), 2570),
        (date(2026, 12, 31), 2570),
        (date(2027, 1, 1), 2570),
        (date(2027, 9, 30), 2570),
        (date(2027, 10, 1), 2571),
        (date(2028, 2, 29), 2571),
    ],
)
def test_fiscal_year_of(d: date, fy: int) -> None:
    assert fiscal_year_of(d) == fy


def test_fiscal_year_bounds() -> None:
    assert fiscal_year_bounds(2570) == (date(2026, 10, 1), date(2027, 9, 30))
    assert fiscal_year_bounds(2571) == (date(2027, 10, 1), date(2028, 9, 30))


# --- quarters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d", "quarter"),
    [
        (date(2026, 9, 30), 4),
        (date(2026, 10, 1), 1),
        (date(2026, 12, 31), 1),
        (date(2027, 1, 1), 2),
        (date(2027, 3, 31), 2),
        (date(2027, 4, 1), 3),
        (date(2027, 6, 30), 3),
        (date(2027, 7, 1), 4),
        (date(2028, 2, 29), 2),
    ],
)
def test_quarter_of(d: date, quarter: int) -> None:
    assert quarter_of(d) == quarter


def test_quarter_bounds_of_fiscal_year_2570() -> None:
    bounds = [(q.start, q.end) for q in quarters_of(2570)]
    assert bounds == [
        (date(2026, 10, 1), date(2026, 12, 31)),
        (date(2027, 1, 1), date(2027, 3, 31)),
        (date(2027, 4, 1), date(2027, 6, 30)),
        (date(2027, 7, 1), date(2027, 9, 30)),
    ]


def test_quarter_containing_at_the_year_boundary() -> None:
    assert quarter_containing(date(2026, 9, 30)) == FiscalQuarter(2569, 4)
    assert quarter_containing(date(2026, 10, 1)) == FiscalQuarter(2570, 1)
    assert quarter_containing(date(2026, 12, 31)) == FiscalQuarter(2570, 1)
    assert quarter_containing(date(2027, 1, 1)) == FiscalQuarter(2570, 2)


def test_leap_day_quarter() -> None:
    q = quarter_containing(date(2028, 2, 29))
    assert q == FiscalQuarter(2571, 2)
    assert q.end == date(2028, 3, 31)
    assert q.contains(date(2028, 2, 29))


def test_next_and_previous_cross_fiscal_years() -> None:
    assert FiscalQuarter(2570, 4).next() == FiscalQuarter(2571, 1)
    assert FiscalQuarter(2571, 1).previous() == FiscalQuarter(2570, 4)
    assert FiscalQuarter(2570, 2).next() == FiscalQuarter(2570, 3)
    assert FiscalQuarter(2570, 2).previous() == FiscalQuarter(2570, 1)


@pytest.mark.parametrize("quarter", [0, 5, -1])
def test_quarter_number_is_checked(quarter: int) -> None:
    with pytest.raises(ValueError):
        FiscalQuarter(2570, quarter)


def test_quarters_are_ordered_and_hashable() -> None:
    assert FiscalQuarter(2570, 4) < FiscalQuarter(2571, 1)
    assert len({FiscalQuarter(2570, 1), FiscalQuarter(2570, 1)}) == 1


@given(dates)
def test_every_date_lies_within_its_quarter_and_year(d: date) -> None:
    q = quarter_containing(d)
    assert q.start <= d <= q.end
    assert q.fiscal_year == fiscal_year_of(d)
    start, end = fiscal_year_bounds(q.fiscal_year)
    assert start <= d <= end


@given(fiscal_years)
def test_quarters_tile_the_fiscal_year(fy: int) -> None:
    quarters = quarters_of(fy)
    start, end = fiscal_year_bounds(fy)
    assert quarters[0].start == start
    assert quarters[-1].end == end
    for earlier, later in pairwise(quarters):
        assert later.start == earlier.end + timedelta(days=1)
        assert earlier.next() == later
        assert later.previous() == earlier
    assert sum((q.end - q.start).days + 1 for q in quarters) == (end - start).days + 1


@given(fiscal_years)
def test_fiscal_years_tile_time(fy: int) -> None:
    assert fiscal_year_bounds(fy + 1)[0] == fiscal_year_bounds(fy)[1] + timedelta(days=1)
    assert FiscalQuarter(fy, 4).next().start == fiscal_year_bounds(fy + 1)[0]


@given(dates)
def test_next_then_previous_is_identity(d: date) -> None:
    q = quarter_containing(d)
    assert q.next().previous() == q
    assert q.previous().next() == q
    assert q.next().start == q.end + timedelta(days=1)


# --- clock --------------------------------------------------------------------------------------


def test_fixed_clock_stands_still_until_moved() -> None:
    clock = FixedClock(datetime(2027, 1, 15, 1, 30, tzinfo=UTC))
    assert clock.now() == datetime(2027, 1, 15, 1, 30, tzinfo=UTC)
    clock.advance(timedelta(hours=2))
    assert clock.now() == datetime(2027, 1, 15, 3, 30, tzinfo=UTC)
    clock.set(datetime(2027, 2, 1, tzinfo=UTC))
    assert clock.now() == datetime(2027, 2, 1, tzinfo=UTC)


def test_fixed_clock_converts_to_utc() -> None:
    clock = FixedClock(datetime(2027, 1, 15, 8, 30, tzinfo=BANGKOK))
    assert clock.now().utcoffset() == timedelta(0)
    assert clock.now() == datetime(2027, 1, 15, 1, 30, tzinfo=UTC)


def test_fixed_clock_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError):
        FixedClock(datetime(2027, 1, 15))
    clock = FixedClock(datetime(2027, 1, 15, tzinfo=UTC))
    with pytest.raises(ValueError):
        clock.set(datetime(2027, 1, 16))


def test_local_today_uses_the_office_time_zone() -> None:
    clock: Clock = FixedClock(datetime(2026, 9, 30, 17, 30, tzinfo=UTC))  # 00:30 on 1 Oct in Bangkok
    assert local_today(clock, BANGKOK) == date(2026, 10, 1)
    assert local_today(clock, ZoneInfo("UTC")) == date(2026, 9, 30)
    assert fiscal_year_of(local_today(clock, BANGKOK)) == 2570


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert now.tzinfo is UTC
