"""The work manual's process steps as data, and their concrete date windows in a fiscal year.

The steps of processes A (monitoring and reporting), B (evaluation) and C (eMENSCR) live in
``scheduler/data/process_steps.toml``; the file's header defines how a month window maps onto a
fiscal year (``{ month = 9, year_offset = -1 }`` = the September before the year begins). An office
can keep an override file in the same format that patches, adds or disables steps by id.

Everything is validated at load time; a broken file raises ``ProcessStepsError`` naming the file and
the step. Nothing here reads the clock: callers pass the date they are asking about.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from scheduler.datafile import read_toml
from scheduler.fiscal import ce_year, fiscal_year_of

__all__ = [
    "ACTIONS",
    "PROCESSES",
    "MonthRef",
    "MonthWindow",
    "ProcessStep",
    "ProcessStepsError",
    "StepWindow",
    "load_process_steps",
    "step_windows",
    "windows_closing_within",
    "windows_open_on",
    "windows_opening_on",
]

PROCESSES: frozenset[str] = frozenset({"A", "B", "C"})
ACTIONS: frozenset[str] = frozenset({"announce", "collect_reports", "request_approval", "annual_report"})
YEAR_OFFSETS: frozenset[int] = frozenset({-1, 0, 1})

_DEFAULT_FILE = "process_steps.toml"
_REQUIRED = ("id", "process", "title_th", "title_en", "responsible")
_OPTIONAL = ("quality_standard", "action", "enabled")
_WINDOW_KEYS = ("start", "end", "windows")
_STEP_KEYS = frozenset(_REQUIRED + _OPTIONAL + _WINDOW_KEYS)
_MONTH_KEYS = frozenset({"month", "year_offset"})
_TOP_LEVEL_KEYS = frozenset({"steps"})


class ProcessStepsError(ValueError):
    """The process-steps data (or an office override) is not valid."""


@dataclass(frozen=True, order=True)
class MonthRef:
    """Month ``month`` (1–12) of fiscal year ``FY + year_offset``, for whichever FY a step is read for."""

    year_offset: int
    month: int

    @property
    def position(self) -> int:
        """Months from the first month of the step's fiscal year (its Oct = 0, its Sep = 11, next Oct = 12)."""
        return self.year_offset * 12 + (self.month - 10) % 12

    def __str__(self) -> str:
        return f"{{ month = {self.month}, year_offset = {self.year_offset} }}"

    def calendar_year(self, fiscal_year: int) -> int:
        """The CE calendar year of this month when the step is read for ``fiscal_year`` (BE)."""
        end_ce = ce_year(fiscal_year + self.year_offset)
        return end_ce - 1 if self.month >= 10 else end_ce

    def first_day(self, fiscal_year: int) -> date:
        return date(self.calendar_year(fiscal_year), self.month, 1)

    def last_day(self, fiscal_year: int) -> date:
        year = self.calendar_year(fiscal_year)
        return date(year, self.month, calendar.monthrange(year, self.month)[1])


@dataclass(frozen=True)
class MonthWindow:
    """From the first day of ``start`` to the last day of ``end``."""

    start: MonthRef
    end: MonthRef

    def dates(self, fiscal_year: int) -> tuple[date, date]:
        """The window's first and last day (inclusive) for ``fiscal_year`` (BE)."""
        return self.start.first_day(fiscal_year), self.end.last_day(fiscal_year)


@dataclass(frozen=True)
class ProcessStep:
    """One step of the manual: who does what, in which months of the fiscal year."""

    id: str
    process: str
    title_th: str
    title_en: str
    windows: tuple[MonthWindow, ...]
    responsible: str
    quality_standard: str | None = None
    action: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class StepWindow:
    """A step's window made concrete for one fiscal year; ``part`` numbers a step's windows from 0."""

    step: ProcessStep
    fiscal_year: int
    start: date
    end: date
    part: int = 0

    def contains(self, d: date) -> bool:
        return self.start <= d <= self.end


# --- loading and validation ---------------------------------------------------------------------


def _fail(source: str, step_id: str | None, problem: str) -> ProcessStepsError:
    where = f"step {step_id!r}" if step_id is not None else "top level"
    return ProcessStepsError(f"{source}: {where}: {problem}")


def _read_toml(path: Path | None) -> tuple[str, dict[str, Any]]:
    return read_toml(path, _DEFAULT_FILE, ProcessStepsError, "process steps")


def _raw_steps(source: str, document: Mapping[str, Any]) -> list[dict[str, Any]]:
    unknown = set(document) - _TOP_LEVEL_KEYS
    if unknown:
        raise _fail(source, None, f"unknown keys {sorted(unknown)}; expected [[steps]] tables")
    entries = document.get("steps", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _fail(source, None, "'steps' must be an array of tables ([[steps]])")
    seen: set[str] = set()
    for position, entry in enumerate(entries, start=1):
        step_id = entry.get("id")
        if not isinstance(step_id, str) or not step_id:
            raise _fail(source, f"#{position}", "missing or empty 'id'")
        unknown_keys = set(entry) - _STEP_KEYS
        if unknown_keys:
            raise _fail(source, step_id, f"unknown keys {sorted(unknown_keys)}")
        if step_id in seen:
            raise _fail(source, step_id, "duplicate id")
        seen.add(step_id)
    return [dict(entry) for entry in entries]


def _month_ref(source: str, step_id: str, label: str, raw: Any) -> MonthRef:
    if not isinstance(raw, dict):
        raise _fail(source, step_id, f"'{label}' must be a table like {{ month = 10, year_offset = 0 }}")
    unknown = set(raw) - _MONTH_KEYS
    if unknown:
        raise _fail(source, step_id, f"'{label}' has unknown keys {sorted(unknown)}")
    month = raw.get("month")
    offset = raw.get("year_offset", 0)
    if type(month) is not int or not 1 <= month <= 12:
        raise _fail(source, step_id, f"'{label}.month' must be an integer 1..12, not {month!r}")
    if type(offset) is not int or offset not in YEAR_OFFSETS:
        raise _fail(source, step_id, f"'{label}.year_offset' must be -1, 0 or 1, not {offset!r}")
    return MonthRef(year_offset=offset, month=month)


def _window(source: str, step_id: str, label: str, raw_start: Any, raw_end: Any) -> MonthWindow:
    start = _month_ref(source, step_id, f"{label}start", raw_start)
    end = _month_ref(source, step_id, f"{label}end", raw_end)
    if end.position < start.position:
        raise _fail(source, step_id, f"{label}end ({end}) comes before its start ({start})")
    return MonthWindow(start=start, end=end)


def _windows(source: str, step_id: str, raw: Mapping[str, Any]) -> tuple[MonthWindow, ...]:
    has_single = "start" in raw or "end" in raw
    if has_single and "windows" in raw:
        raise _fail(source, step_id, "give either 'start'/'end' or 'windows', not both")
    if has_single:
        if "start" not in raw or "end" not in raw:
            raise _fail(source, step_id, "'start' and 'end' must be given together")
        return (_window(source, step_id, "", raw["start"], raw["end"]),)
    entries = raw.get("windows")
    if entries is None:
        raise _fail(source, step_id, "missing its months: give 'start' and 'end', or 'windows'")
    if not isinstance(entries, list) or not entries:
        raise _fail(source, step_id, "'windows' must be a non-empty array of { start, end } tables")
    windows: list[MonthWindow] = []
    for number, entry in enumerate(entries, start=1):
        label = f"windows[{number}]."
        if not isinstance(entry, dict) or set(entry) != {"start", "end"}:
            raise _fail(source, step_id, f"{label[:-1]} must have exactly the keys 'start' and 'end'")
        windows.append(_window(source, step_id, label, entry["start"], entry["end"]))
    return tuple(windows)


def _optional_text(source: str, step_id: str, raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _fail(source, step_id, f"'{key}' must be a string")
    return value


def _step(source: str, raw: Mapping[str, Any]) -> ProcessStep:
    step_id: str = raw["id"]
    for key in _REQUIRED:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise _fail(source, step_id, f"'{key}' is required and must be a non-empty string")
    process = raw["process"]
    if process not in PROCESSES:
        raise _fail(source, step_id, f"'process' must be one of {sorted(PROCESSES)}, not {process!r}")
    if not step_id.startswith(process):
        raise _fail(source, step_id, f"the id must start with its process letter {process!r}")
    action = _optional_text(source, step_id, raw, "action")
    if action is not None and action not in ACTIONS:
        raise _fail(source, step_id, f"'action' must be one of {sorted(ACTIONS)}, not {action!r}")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _fail(source, step_id, "'enabled' must be true or false")
    return ProcessStep(
        id=step_id,
        process=process,
        title_th=raw["title_th"],
        title_en=raw["title_en"],
        windows=_windows(source, step_id, raw),
        responsible=raw["responsible"],
        quality_standard=_optional_text(source, step_id, raw, "quality_standard"),
        action=action,
        enabled=enabled,
    )


def _apply_override(base: dict[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    if any(key in patch for key in _WINDOW_KEYS):
        for key in _WINDOW_KEYS:
            merged.pop(key, None)
    merged.update(patch)
    return merged


def load_process_steps(
    path: Path | None = None, overrides: Path | None = None, *, include_disabled: bool = False
) -> list[ProcessStep]:
    """Load and validate the process steps, apply an office's override file, in file order.

    ``path`` defaults to the packaged ``scheduler/data/process_steps.toml``. Steps disabled with
    ``enabled = false`` are left out unless ``include_disabled``. Raises ``ProcessStepsError``.
    """
    source, document = _read_toml(path)
    raws = {raw["id"]: (source, raw) for raw in _raw_steps(source, document)}
    if overrides is not None:
        override_source, override_document = _read_toml(overrides)
        for patch in _raw_steps(override_source, override_document):
            existing = raws.get(patch["id"])
            merged = patch if existing is None else _apply_override(existing[1], patch)
            raws[patch["id"]] = (override_source, merged)
    steps = [_step(step_source, raw) for step_source, raw in raws.values()]
    return [step for step in steps if include_disabled or step.enabled]


# --- windows in time ----------------------------------------------------------------------------


def step_windows(fy: int, steps: Iterable[ProcessStep]) -> list[StepWindow]:
    """The concrete windows of the enabled ``steps`` when read for fiscal year ``fy`` (BE)."""
    windows: list[StepWindow] = []
    for step in steps:
        if not step.enabled:
            continue
        for part, window in enumerate(step.windows):
            start, end = window.dates(fy)
            windows.append(StepWindow(step=step, fiscal_year=fy, start=start, end=end, part=part))
    return windows


def _windows_near(first: date, last: date, steps: Sequence[ProcessStep]) -> list[StepWindow]:
    """Windows of every fiscal year that can reach into [first, last] (year offsets are within ±1)."""
    found: list[StepWindow] = []
    for year in range(fiscal_year_of(first) - 1, fiscal_year_of(last) + 2):
        found.extend(step_windows(year, steps))
    return found


def windows_open_on(d: date, steps: Sequence[ProcessStep]) -> list[StepWindow]:
    """The windows that include ``d``, ordered by start date (ties keep fiscal-year, then file order)."""
    return sorted((w for w in _windows_near(d, d, steps) if w.contains(d)), key=lambda w: w.start)


def windows_opening_on(d: date, steps: Sequence[ProcessStep]) -> list[StepWindow]:
    """The windows whose first day is ``d``, in file order."""
    return [w for w in _windows_near(d, d, steps) if w.start == d]


def windows_closing_within(d: date, days: int, steps: Sequence[ProcessStep]) -> list[StepWindow]:
    """The windows whose last day falls from ``d`` to ``d + days`` inclusive, ordered by that last day."""
    if days < 0:
        raise ValueError("days must not be negative")
    horizon = d + timedelta(days=days)
    closing = (w for w in _windows_near(d, horizon, steps) if d <= w.end <= horizon)
    return sorted(closing, key=lambda w: w.end)
