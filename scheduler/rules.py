"""The scheduler's rules as data: what is reminded, escalated and announced, and when.

Defaults live in ``scheduler/data/rules.toml``; an installation file (TIDTAM_RULES_FILE) patches them
key by key, and an office patches them for itself and the offices under it through
``Office.settings["rules"]``. Everything is validated when loaded: an unknown section or key, or a value
of the wrong type, raises ``RulesError`` naming where it came from.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from scheduler.datafile import read_toml

__all__ = [
    "Approvals",
    "Budget",
    "Delivery",
    "Digest",
    "Drafts",
    "Overdue",
    "Planning",
    "ProcessSteps",
    "Reminders",
    "ReportDue",
    "Riding",
    "Rules",
    "RulesError",
    "load_rules",
    "parse_clock_time",
]

_DEFAULT_FILE = "rules.toml"


class RulesError(ValueError):
    """A rules file or an office's rule overrides are not valid."""


@dataclass(frozen=True)
class ReportDue:
    enabled: bool = True
    days_after_quarter_end: int = 10
    roll_to_working_day: bool = True


@dataclass(frozen=True)
class Reminders:
    enabled: bool = True
    working_days_before: tuple[int, ...] = (5, 1)
    on_due_day: bool = True


@dataclass(frozen=True)
class Overdue:
    enabled: bool = True
    notify_after_working_days: int = 1
    escalate_after_working_days: int = 3
    notify_reporter: bool = False  # true: each late reporter is pushed again too, not only the approver


@dataclass(frozen=True)
class Approvals:
    enabled: bool = True
    remind_after_working_days: int = 2
    escalate_after_working_days: int = 5


@dataclass(frozen=True)
class Drafts:
    enabled: bool = True
    idle_days: int = 3


@dataclass(frozen=True)
class ProcessSteps:
    enabled: bool = True
    announce_open: bool = True
    nudge_working_days_before_close: int = 5


@dataclass(frozen=True)
class Digest:
    enabled: bool = True
    weekday: int = 0


@dataclass(frozen=True)
class Budget:
    enabled: bool = True
    digest_only_at: float = 0.8
    reserve_share: float = 0.5  # of the quota, kept for approval requests, escalations and the
    # planning group's messages; reminders and notices spend the rest
    forecast_percent: int = 125  # of the forecast of the month's urgent pushes still to come
    # (scheduler/forecast.py), which reminders may not spend; 0: no forecast
    planning_group_members: int = 4  # what one push into the planning group's LINE chat costs


PUSH_TO = ("head", "all")


@dataclass(frozen=True)
class Planning:
    """Who in the planning group is pushed its messages when no LINE group chat is bound to it."""

    push_to: str = "head"  # "head": the head(s) of monitoring, the other planners on their next reply;
    # "all": every planner (an area without a head: every planner either way)


@dataclass(frozen=True)
class Riding:
    """Spending fewer pushes without telling people less (``scheduler/budget.py``, ``bot/riders.py``)."""

    pushes_per_reporter_per_quarter: int = 2  # 0: no cap; past it, reminders go to the planning digest
    reminders_wait_hours: int = 0  # hours after the tick a reminder waits for a free reply to ride on


@dataclass(frozen=True)
class Delivery:
    tick_time: str = "08:30"
    quiet_start: str = "20:00"
    quiet_end: str = "07:00"
    max_lines: int = 10

    @property
    def tick(self) -> time:
        return parse_clock_time(self.tick_time)

    def is_quiet(self, t: time) -> bool:
        """Whether local time ``t`` falls in the quiet hours (which may wrap past midnight)."""
        start, end = parse_clock_time(self.quiet_start), parse_clock_time(self.quiet_end)
        if start == end:
            return False
        if start < end:
            return start <= t < end
        return t >= start or t < end


@dataclass(frozen=True)
class Rules:
    report_due: ReportDue = field(default_factory=ReportDue)
    reminders: Reminders = field(default_factory=Reminders)
    overdue: Overdue = field(default_factory=Overdue)
    approvals: Approvals = field(default_factory=Approvals)
    drafts: Drafts = field(default_factory=Drafts)
    process_steps: ProcessSteps = field(default_factory=ProcessSteps)
    digest: Digest = field(default_factory=Digest)
    budget: Budget = field(default_factory=Budget)
    riding: Riding = field(default_factory=Riding)
    planning: Planning = field(default_factory=Planning)
    delivery: Delivery = field(default_factory=Delivery)

    def patched(self, overrides: Mapping[str, Any] | None, source: str = "overrides") -> Rules:
        """These rules with ``overrides`` ({section: {key: value}}) applied; validated."""
        if not overrides:
            return self
        if not isinstance(overrides, Mapping):
            raise RulesError(f"{source}: rules must be a table of sections")
        sections: dict[str, Any] = {}
        for name, patch in overrides.items():
            current = getattr(self, name, None) if name in _SECTIONS else None
            if current is None:
                raise RulesError(f"{source}: unknown section {name!r}; known: {sorted(_SECTIONS)}")
            sections[name] = _patch_section(current, patch, f"{source}: [{name}]")
        return dataclasses.replace(self, **sections)


_SECTIONS = frozenset(f.name for f in dataclasses.fields(Rules))
S = TypeVar("S")


def parse_clock_time(text: str) -> time:
    """``"08:30"`` → ``time(8, 30)``; raises RulesError."""
    try:
        hours, minutes = text.strip().split(":")
        return time(int(hours), int(minutes))
    except (ValueError, AttributeError) as exc:
        raise RulesError(f"not a time of day (HH:MM): {text!r}") from exc


def _coerce(value: Any, kind: Any, where: str) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise RulesError(f"{where} must be true or false, not {value!r}")
        return value
    if kind is int:
        if type(value) is not int or value < 0:
            raise RulesError(f"{where} must be a whole number ≥ 0, not {value!r}")
        return value
    if kind is float:
        if type(value) not in (int, float) or not 0 <= value <= 1:
            raise RulesError(f"{where} must be a number from 0 to 1, not {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise RulesError(f"{where} must be a string, not {value!r}")
        if where.endswith("[planning].push_to"):
            if value not in PUSH_TO:
                raise RulesError(f"{where} must be one of {', '.join(map(repr, PUSH_TO))}, not {value!r}")
            return value
        try:
            parse_clock_time(value)  # every string rule is a time of day
        except RulesError as exc:
            raise RulesError(f"{where}: {exc}") from exc
        return value
    # tuple[int, ...]
    if not isinstance(value, list | tuple) or any(type(v) is not int or v < 1 for v in value):
        raise RulesError(f"{where} must be a list of whole numbers ≥ 1, not {value!r}")
    return tuple(sorted(set(value), reverse=True))


def _patch_section(current: S, patch: Any, where: str) -> S:
    if not isinstance(patch, Mapping):
        raise RulesError(f"{where} must be a table")
    hints = get_type_hints(type(current))
    values: dict[str, Any] = {}
    for key, value in patch.items():
        if key not in hints:
            raise RulesError(f"{where}: unknown key {key!r}; known: {sorted(hints)}")
        values[key] = _coerce(value, hints[key], f"{where}.{key}")
    if isinstance(current, Digest) and not 0 <= values.get("weekday", 0) <= 6:
        raise RulesError(f"{where}.weekday must be 0 (Monday) to 6 (Sunday)")
    return dataclasses.replace(current, **values)  # type: ignore[type-var]


def _read(path: Path | None) -> tuple[str, dict[str, Any]]:
    return read_toml(path, _DEFAULT_FILE, RulesError, "rules")


def load_rules(path: Path | None = None) -> Rules:
    """The packaged defaults, patched by ``path`` (an installation's rules file) when given."""
    source, document = _read(None)
    rules = Rules().patched(document, source)
    if path is not None:
        source, document = _read(path)
        rules = rules.patched(document, source)
    return rules
