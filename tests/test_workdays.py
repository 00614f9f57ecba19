"""Tests for scheduler.workdays: Thai public holidays, office changes and working-day arithmetic.

The expected holidays are those of the installed ``holidays`` package for Thailand (2025–2029).
"""

from __future__ import annotations

from datetime import date, timedelta

import holidays
import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.workdays import WorkCalendar, clear_caches

CAL = WorkCalendar()
dates = st.dates(min_value=date(1990, 1, 1), max_value=date(2100, 12, 31))


def _naive_count(calendar: WorkCalendar, a: date, b: date) -> int:
    """Working days in (a, b], one day at a time: the oracle for the fast count."""
    count, day = 0, a
    while day < b:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


# --- which days are working days ----------------------------------------------------------------


def test_weekends_are_not_working_days() -> None:
    assert CAL.is_working_day(date(2027, 3, 10))  # a plain Wednesday
    assert not CAL.is_working_day(date(2027, 3, 13))  # Saturday
    assert not CAL.is_working_day(date(2027, 3, 14))  # Sunday
    assert CAL.holiday_name(date(2027, 3, 13)) is None


def test_new_year_holidays() -> None:
    assert not CAL.is_working_day(date(2027, 1, 1))
    assert CAL.holiday_name(date(2027, 1, 1)) == "วันขึ้นปีใหม่"
    assert not CAL.is_working_day(date(2026, 12, 31))
    assert CAL.holiday_name(date(2026, 12, 31)) == "วันสิ้นปี"


def test_songkran() -> None:
    for day in (13, 14, 15):
        assert not CAL.is_working_day(date(2027, 4, day))
        assert CAL.holiday_name(date(2027, 4, day)) == "วันสงกรานต์"
    assert CAL.is_working_day(date(2027, 4, 12))
    assert CAL.is_working_day(date(2027, 4, 16))


def test_substitution_day_for_a_holiday_on_saturday() -> None:
    # Labour Day 1 May 2027 is a Saturday; Monday 3 May is the day in lieu.
    assert date(2027, 5, 1).weekday() == 5
    assert CAL.holiday_name(date(2027, 5, 1)) == "วันแรงงานแห่งชาติ"
    assert not CAL.is_working_day(date(2027, 5, 3))
    assert CAL.holiday_name(date(2027, 5, 3)) == "ชดเชยวันแรงงานแห่งชาติ"


def test_substitution_day_for_songkran_on_sunday() -> None:
    # Songkran 13 April 2025 is a Sunday; Wednesday 16 April is the day in lieu.
    assert not CAL.is_working_day(date(2025, 4, 16))
    name = CAL.holiday_name(date(2025, 4, 16))
    assert name is not None and name.startswith("ชดเชย")


def test_substitution_day_in_the_next_calendar_year() -> None:
    # New Year's Eve 2028 is a Sunday; its day in lieu is 2 January 2029.
    assert not CAL.is_working_day(date(2029, 1, 2))
    assert CAL.holiday_name(date(2029, 1, 2)) == "ชดเชยวันสิ้นปี"


def test_government_category_is_on_by_default() -> None:
    ploughing = date(2026, 5, 13)  # Royal Ploughing Ceremony, a day off for civil servants
    assert not CAL.is_working_day(ploughing)
    assert WorkCalendar(government_holidays=False).is_working_day(ploughing)


def test_school_holidays_flag_adds_teachers_day() -> None:
    teachers_day = date(2026, 1, 16)  # a Friday
    assert CAL.is_working_day(teachers_day)
    school = WorkCalendar(school_holidays=True)
    assert not school.is_working_day(teachers_day)
    assert school.holiday_name(teachers_day) == "วันครู"


def test_office_added_holiday() -> None:
    extra = date(2027, 3, 10)
    office = WorkCalendar(added={extra: "วันหยุดพิเศษของสำนักงาน"})
    assert not office.is_working_day(extra)
    assert office.holiday_name(extra) == "วันหยุดพิเศษของสำนักงาน"
    assert office.next_working_day(date(2027, 3, 9)) == date(2027, 3, 11)
    assert CAL.is_working_day(extra)  # other calendars are not affected


def test_office_added_name_joins_an_existing_holiday() -> None:
    office = WorkCalendar(added={date(2027, 1, 1): "วันหยุดสำนักงาน"})
    assert office.holiday_name(date(2027, 1, 1)) == "วันขึ้นปีใหม่; วันหยุดสำนักงาน"


def test_office_removed_holiday_becomes_a_working_day() -> None:
    eve = date(2026, 12, 31)
    office = WorkCalendar(removed=[eve])
    assert office.is_working_day(eve)
    assert office.holiday_name(eve) is None
    assert office.next_working_day(date(2026, 12, 30)) == eve


def test_removing_a_weekend_holiday_keeps_the_weekend() -> None:
    saturday = date(2027, 5, 1)
    office = WorkCalendar(removed=[saturday])
    assert not office.is_working_day(saturday)
    assert not office.is_working_day(date(2027, 5, 3))  # the day in lieu stays unless removed too


def test_holidays_in_lists_weekend_holidays_too() -> None:
    found = CAL.holidays_in(date(2027, 4, 1), date(2027, 5, 3))
    days = [d for d, _ in found]
    assert days == sorted(days)
    assert date(2027, 4, 6) in days
    assert date(2027, 5, 1) in days  # a Saturday
    assert date(2027, 5, 3) in days


def test_holiday_years_are_built_once() -> None:
    calls: list[object] = []
    original = holidays.country_holidays

    def counting(*args: object, **kwargs: object) -> holidays.HolidayBase:
        calls.append(kwargs.get("years"))
        return original(*args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(holidays, "country_holidays", counting)
        clear_caches()  # years other tests built are kept for the process: start from none
        fresh = WorkCalendar()
        for day in range(365):
            fresh.is_working_day(date(2027, 1, 1) + timedelta(days=day))
        fresh.working_days_between(date(2027, 1, 1), date(2027, 12, 31))
        assert calls == [2027]
        fresh.add_working_days(date(2027, 12, 30), 3)  # reaches into 2028
        fresh.is_working_day(date(2028, 1, 5))
        assert calls == [2027, 2028]
        # Another calendar, of the same days or of other declared ones, asks the package no more.
        WorkCalendar().is_working_day(date(2027, 3, 1))
        WorkCalendar(added={date(2027, 3, 1): "วันหยุดของเขต"}).is_working_day(date(2027, 3, 1))
        WorkCalendar(removed=[date(2027, 1, 1)]).is_working_day(date(2028, 1, 1))
    assert calls == [2027, 2028]


def _uncached(calendar: WorkCalendar, year: int) -> list[tuple[date, bool, str | None]]:
    """Each day of `year` as a calendar of the same days built with empty caches answers it."""
    clear_caches()
    fresh = WorkCalendar(
        school_holidays="school" in calendar.identity[0],  # type: ignore[operator]
        government_holidays="government" in calendar.identity[0],  # type: ignore[operator]
        added=dict(calendar.identity[1]),  # type: ignore[arg-type]
        removed=calendar.identity[2],  # type: ignore[arg-type]
    )
    days = [date(year, 1, 1) + timedelta(days=n) for n in range(366 if year % 4 == 0 else 365)]
    return [(d, fresh.is_working_day(d), fresh.holiday_name(d)) for d in days]


def _answers(calendar: WorkCalendar, year: int) -> list[tuple[date, bool, str | None]]:
    days = [date(year, 1, 1) + timedelta(days=n) for n in range(366 if year % 4 == 0 else 365)]
    return [(d, calendar.is_working_day(d), calendar.holiday_name(d)) for d in days]


def test_the_process_cache_answers_as_an_uncached_calendar() -> None:
    day_off, worked = date(2027, 3, 1), date(2027, 1, 1)  # a Monday; New Year's Day, a Friday
    made = [
        {},
        {"school_holidays": True},
        {"government_holidays": False},
        {"added": {day_off: "วันหยุดของเขต"}},
        {"added": {day_off: "วันหยุดอื่น"}},
        {"removed": [worked]},
        {"added": {day_off: "วันหยุดของเขต"}, "removed": [worked]},
    ]
    for year in (2026, 2027, 2028):
        warm = [WorkCalendar(**kwargs) for kwargs in made]  # type: ignore[arg-type]
        for calendar in warm:  # every variety's year cached, in one process, before any is checked
            calendar.is_working_day(date(year, 6, 1))
        for calendar in warm:
            expected = _uncached(calendar, year)
            assert _answers(calendar, year) == expected
    # A second calendar of the same days shares the first one's built year.
    one, two = WorkCalendar(added={day_off: "วันหยุดของเขต"}), WorkCalendar(added={day_off: "วันหยุดของเขต"})
    assert one.is_working_day(day_off) is two.is_working_day(day_off) is False
    assert one._year(2027) is two._year(2027)


def test_distinct_declared_holidays_give_distinct_calendars() -> None:
    plain = WorkCalendar()
    day_off, worked = date(2027, 3, 1), date(2027, 1, 1)
    assert plain.is_working_day(day_off) and not plain.is_working_day(worked)  # cached first
    added = WorkCalendar(added={day_off: "วันหยุดของเขต"})
    renamed = WorkCalendar(added={day_off: "วันหยุดอื่น"})
    removed = WorkCalendar(removed=[worked])
    assert not added.is_working_day(day_off) and added.holiday_name(day_off) == "วันหยุดของเขต"
    assert renamed.holiday_name(day_off) == "วันหยุดอื่น"
    assert removed.is_working_day(worked) and removed.is_working_day(day_off)  # only its own change
    assert plain.is_working_day(day_off) and not plain.is_working_day(worked)  # plain is unchanged
    assert len({c.identity for c in (plain, added, renamed, removed)}) == 4
    assert WorkCalendar(school_holidays=True).holiday_name(date(2027, 1, 16)) is not None
    assert WorkCalendar().holiday_name(date(2027, 1, 16)) is None  # Teacher's Day: the school category only


# --- next / previous ----------------------------------------------------------------------------


def test_next_and_previous_working_day_are_strict() -> None:
    wednesday = date(2027, 3, 10)
    assert CAL.next_working_day(wednesday) == date(2027, 3, 11)
    assert CAL.previous_working_day(wednesday) == date(2027, 3, 9)
    assert CAL.next_working_day(date(2027, 3, 12)) == date(2027, 3, 15)  # Friday → Monday
    assert CAL.previous_working_day(date(2027, 3, 15)) == date(2027, 3, 12)


def test_next_working_day_after_songkran() -> None:
    assert CAL.next_working_day(date(2028, 4, 12)) == date(2028, 4, 18)  # 13–15 + Mon 17 in lieu


# --- arithmetic ---------------------------------------------------------------------------------


def test_add_working_days_across_the_year_boundary() -> None:
    # 31 Dec 2026 (Thu) and 1 Jan 2027 (Fri) are holidays, then a weekend.
    assert CAL.add_working_days(date(2026, 12, 30), 1) == date(2027, 1, 4)
    assert CAL.add_working_days(date(2027, 1, 4), -1) == date(2026, 12, 30)
    assert CAL.add_working_days(date(2026, 12, 29), 2) == date(2027, 1, 4)


def test_add_zero_working_days_is_the_same_day() -> None:
    saturday = date(2027, 3, 13)
    assert CAL.add_working_days(saturday, 0) == saturday


def test_subtracting_from_a_weekend_gives_the_friday_before() -> None:
    assert CAL.add_working_days(date(2027, 3, 13), -1) == date(2027, 3, 12)
    assert CAL.add_working_days(date(2027, 3, 13), 1) == date(2027, 3, 15)


def test_add_many_working_days_matches_a_day_by_day_walk() -> None:
    start = date(2026, 10, 1)
    day, remaining = start, 250
    while remaining:
        day += timedelta(days=1)
        remaining -= CAL.is_working_day(day)
    assert CAL.add_working_days(start, 250) == day


def test_working_days_between() -> None:
    # Week of Songkran 2027: only Monday 12 and Friday 16 are working days.
    assert CAL.working_days_between(date(2027, 4, 11), date(2027, 4, 18)) == 2
    assert CAL.working_days_between(date(2027, 3, 8), date(2027, 3, 8)) == 0
    assert CAL.working_days_between(date(2027, 3, 7), date(2027, 3, 14)) == 5
    assert CAL.working_days_between(date(2027, 3, 14), date(2027, 3, 7)) == -5


def test_working_days_in_is_inclusive() -> None:
    assert CAL.working_days_in(date(2027, 3, 8), date(2027, 3, 12)) == 5
    assert CAL.working_days_in(date(2027, 3, 8), date(2027, 3, 8)) == 1
    assert CAL.working_days_in(date(2027, 3, 13), date(2027, 3, 14)) == 0
    assert CAL.working_days_in(date(2027, 3, 12), date(2027, 3, 8)) == 0


def test_working_days_in_fiscal_year_2570_matches_day_count() -> None:
    start, end = date(2026, 10, 1), date(2027, 9, 30)
    total = CAL.working_days_in(start, end)
    assert total == _naive_count(CAL, start - timedelta(days=1), end)
    assert 230 < total < 250


@given(dates, st.integers(min_value=1, max_value=600))
def test_add_working_days_forward(d: date, n: int) -> None:
    result = CAL.add_working_days(d, n)
    assert CAL.is_working_day(result)
    assert result > d
    assert CAL.working_days_between(d, result) == n


@given(dates, st.integers(min_value=-600, max_value=-1))
def test_add_working_days_backward(d: date, n: int) -> None:
    result = CAL.add_working_days(d, n)
    assert CAL.is_working_day(result)
    assert result < d
    assert CAL.working_days_in(result, d - timedelta(days=1)) == -n


@given(dates, st.integers(min_value=-600, max_value=600))
def test_forward_then_back_returns_to_a_working_day(d: date, n: int) -> None:
    if not CAL.is_working_day(d) or n == 0:
        return
    assert CAL.add_working_days(CAL.add_working_days(d, n), -n) == d


@given(dates, st.integers(min_value=0, max_value=800))
def test_fast_count_matches_day_by_day_count(a: date, span: int) -> None:
    b = a + timedelta(days=span)
    assert CAL.working_days_between(a, b) == _naive_count(CAL, a, b)


@given(dates)
def test_next_working_day_is_one_working_day_later(d: date) -> None:
    nxt = CAL.next_working_day(d)
    assert CAL.is_working_day(nxt)
    assert CAL.working_days_between(d, nxt) == 1
    assert CAL.previous_working_day(nxt) <= d or not CAL.is_working_day(d)


@given(dates, st.integers(min_value=1, max_value=300))
def test_office_changes_respected_by_arithmetic(d: date, n: int) -> None:
    office = WorkCalendar(added={d + timedelta(days=3): "ปิดสำนักงาน"}, removed=[date(2027, 1, 1)])
    result = office.add_working_days(d, n)
    assert office.is_working_day(result)
    assert office.working_days_between(d, result) == n
    assert result != d + timedelta(days=3)
