"""Working days of a Thai government office: weekends, public holidays and the office's own changes.

Holidays come from the ``holidays`` package (Thailand: public holidays with their substitution /
in-lieu days, the civil-service ``government`` category such as the Royal Ploughing Ceremony, and
optionally the ``school`` category, e.g. Teacher's Day on 16 January), plus dates the office adds
(with a name) and dates the office removes (a package holiday the office works). Saturdays and
Sundays are never working days; removing a holiday that falls on a weekend does not make it one.

Lookups are cached per calendar year as a frozenset of closed dates and a sorted tuple of closed
weekday ordinals, so ``is_working_day`` is a set lookup and ``working_days_between`` is arithmetic
plus two binary searches per year.

Building a year from the ``holidays`` package takes milliseconds (a second or more on a busy machine
for the first one), so the years are cached for the whole process, not per calendar: the package's
holidays by (categories, year), and each built year by what the calendar is made of (``identity``:
the categories, the added days with their names, the removed days) and the year. Two calendars made
of the same days share their years; a calendar with other declared days gets its own. The caches are
bounded (``_MAX_YEARS``) and ``clear_caches`` empties them (tests).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import holidays

__all__ = ["WorkCalendar", "clear_caches"]

_SATURDAY = 5
_HOLIDAY_LANGUAGE = "th"


@dataclass(frozen=True)
class _Year:
    """Everything about one calendar year that the calendar needs."""

    names: Mapping[date, str]  # every holiday in the year, weekend or not
    closed: frozenset[date]  # holidays on Monday–Friday: the weekdays that are not working days
    closed_ordinals: tuple[int, ...]  # the same, as sorted proleptic ordinals for bisecting


# The process's caches (see the module's docstring). A dict's get and set are atomic: two threads
# building the same year at once both build it, and one of the equal results is kept.
_MAX_YEARS = 1024
_PACKAGE_YEARS: dict[tuple[tuple[str, ...], int], Mapping[date, str]] = {}
_YEARS: dict[tuple[tuple[object, ...], int], _Year] = {}


def clear_caches() -> None:
    """Forget every year built so far (the next lookup asks the ``holidays`` package again)."""
    _PACKAGE_YEARS.clear()
    _YEARS.clear()


def _package_year(categories: tuple[str, ...], year: int) -> Mapping[date, str]:
    """The ``holidays`` package's Thai holidays of ``year`` in ``categories``, names in Thai."""
    key = (categories, year)
    names = _PACKAGE_YEARS.get(key)
    if names is None:
        package = holidays.country_holidays(
            "TH", years=year, categories=categories, language=_HOLIDAY_LANGUAGE
        )
        # An in-lieu day can be generated for an adjacent year; keep only this year's dates.
        names = {day: str(name) for day, name in package.items() if day.year == year}
        if len(_PACKAGE_YEARS) >= _MAX_YEARS:
            _PACKAGE_YEARS.clear()
        _PACKAGE_YEARS[key] = names
    return names


def _weekdays_up_to(ordinal: int) -> int:
    """How many Monday–Friday days there are in ordinals 1..``ordinal`` (ordinal 1 is a Monday)."""
    weeks, rest = divmod(ordinal, 7)
    return weeks * 5 + min(rest, 5)


class WorkCalendar:
    """Which days a Thai government office works, and arithmetic on working days."""

    def __init__(
        self,
        *,
        school_holidays: bool = False,
        government_holidays: bool = True,
        added: Mapping[date, str] | None = None,
        removed: Iterable[date] = (),
    ) -> None:
        """Build a calendar.

        ``school_holidays`` adds the package's ``school`` category (Teacher's Day);
        ``government_holidays`` adds its ``government`` category (days off for civil servants);
        ``added`` maps office-declared holidays to their names; ``removed`` lists package holidays
        the office works.
        """
        categories = ["public"]
        if government_holidays:
            categories.append("government")
        if school_holidays:
            categories.append("school")
        self._categories: tuple[str, ...] = tuple(categories)
        self._added: dict[date, str] = dict(added or {})
        self._removed: frozenset[date] = frozenset(removed)
        self._years: dict[int, _Year] = {}
        self._identity: tuple[object, ...] | None = None

    @property
    def identity(self) -> tuple[object, ...]:
        """What the calendar is made of: two calendars with the same identity give the same days
        (their years are built once in the process and shared)."""
        if self._identity is None:
            self._identity = (self._categories, tuple(sorted(self._added.items())), self._removed)
        return self._identity

    def _year(self, year: int) -> _Year:
        cached = self._years.get(year)
        if cached is None:
            key = (self.identity, year)
            cached = _YEARS.get(key)
            if cached is None:
                cached = self._build_year(year)
                if len(_YEARS) >= _MAX_YEARS:
                    _YEARS.clear()
                _YEARS[key] = cached
            self._years[year] = cached
        return cached

    def _build_year(self, year: int) -> _Year:
        names: dict[date, str] = {
            day: name
            for day, name in _package_year(self._categories, year).items()
            if day not in self._removed
        }
        for day, name in self._added.items():
            if day.year == year:
                names[day] = f"{names[day]}; {name}" if day in names and names[day] != name else name
        closed = frozenset(day for day in names if day.weekday() < _SATURDAY)
        return _Year(names=names, closed=closed, closed_ordinals=tuple(sorted(d.toordinal() for d in closed)))

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a Monday–Friday that is not a holiday."""
        return d.weekday() < _SATURDAY and d not in self._year(d.year).closed

    def holiday_name(self, d: date) -> str | None:
        """The (Thai) name of the holiday on ``d``, or None; weekends without a holiday give None."""
        return self._year(d.year).names.get(d)

    def holidays_in(self, start: date, end: date) -> list[tuple[date, str]]:
        """All holidays (weekend ones included) from ``start`` to ``end`` inclusive, in date order."""
        found: list[tuple[date, str]] = []
        for year in range(start.year, end.year + 1):
            found.extend((d, n) for d, n in self._year(year).names.items() if start <= d <= end)
        return sorted(found)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        day = d + timedelta(days=1)
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def previous_working_day(self, d: date) -> date:
        """The last working day strictly before ``d``."""
        day = d - timedelta(days=1)
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """The number of working days in (a, b]; negative (minus the count in (b, a]) if ``b < a``."""
        if b < a:
            return -self.working_days_between(b, a)
        lo, hi = a.toordinal(), b.toordinal()
        count = _weekdays_up_to(hi) - _weekdays_up_to(lo)
        for year in range(a.year, b.year + 1):
            ordinals = self._year(year).closed_ordinals
            count -= bisect.bisect_right(ordinals, hi) - bisect.bisect_right(ordinals, lo)
        return count

    def working_days_in(self, start: date, end: date) -> int:
        """The number of working days from ``start`` to ``end``, both inclusive (0 if ``end < start``)."""
        if end < start:
            return 0
        return self.working_days_between(start - timedelta(days=1), end)

    def _counted(self, day: date, target: date, step: int) -> int:
        """Working days a walk from ``day`` to ``target`` passes: (day, target] forward, [target, day) back."""
        if step > 0:
            return self.working_days_between(day, target)
        one = timedelta(days=1)
        return self.working_days_between(target - one, day - one)

    def add_working_days(self, d: date, n: int) -> date:
        """The day ``n`` working days after ``d`` (before it if ``n < 0``); ``n == 0`` gives ``d``.

        For ``n > 0`` the result is a working day and there are exactly ``n`` working days in
        (d, result]. For ``n < 0`` the result is a working day and there are exactly ``-n`` working days
        in [result, d): ``add_working_days(saturday, -1)`` is the Friday before.
        """
        if n == 0:
            return d
        step = 1 if n > 0 else -1
        remaining = abs(n)
        day = d
        # Jump whole weeks while far from the target; each jump counts what it passed over.
        while remaining > 10:
            target = day + timedelta(days=7 * (remaining // 5) * step)
            passed = self._counted(day, target, step)
            if passed > remaining:  # pragma: no cover - a week holds at most 5 working days
                break
            remaining -= passed
            day = target
            if remaining == 0:
                # ``target`` may be a non-working day; walk back to the last working day counted.
                while not self.is_working_day(day):
                    day -= timedelta(days=step)
                return day
        while remaining:
            day += timedelta(days=step)
            if self.is_working_day(day):
                remaining -= 1
        return day
