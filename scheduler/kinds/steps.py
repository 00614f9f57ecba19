"""The manual's process calendar (``[process_steps]``): a step's window opening, and its close coming
up, announced to the planning group."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from messages.reminders import Item, ItemKind, Line
from messages.thai_dates import format_date
from scheduler.kinds.base import (
    Day,
    RuleKind,
    _Acc,
    _Unit,
)
from scheduler.process_steps import ProcessStep, StepWindow, windows_closing_within, windows_opening_on


def _step_items(day: date, unit: _Unit, steps: Sequence[ProcessStep], acc: _Acc, area_id: int) -> None:
    cal, r = unit.calendar, unit.rules.process_steps
    previous = cal.previous_working_day(day)
    if r.announce_open:
        opening: list[StepWindow] = []
        d = previous + timedelta(days=1)
        while d <= day:
            opening.extend(windows_opening_on(d, steps))
            d += timedelta(days=1)
        if opening:
            lines = tuple(_step_line(w) for w in opening)
            subject = ",".join(f"{w.step.id}@{w.fiscal_year}" for w in opening)[:100]
            acc.ready[("a", area_id)].append(
                Item(ItemKind.STEP_OPEN, subject, on=day, total=len(lines), lines=lines)
            )
    n = r.nudge_working_days_before_close
    if n:
        closing = [
            w
            for w in windows_closing_within(day, n * 3 + 14, steps)
            if cal.add_working_days(w.end, -n) == day and w.start < day
        ]
        if closing:
            lines = tuple(_step_line(w) for w in closing)
            subject = ",".join(f"{w.step.id}@{w.fiscal_year}" for w in closing)[:100]
            acc.ready[("a", area_id)].append(
                Item(ItemKind.STEP_CLOSING, subject, on=day, days=n, total=len(lines), lines=lines)
            )


def _step_line(w: StepWindow) -> Line:
    return Line(w.step.id, w.step.title_th, f"{format_date(w.start)} – {format_date(w.end)}")


def select(d: Day) -> None:
    if not d.steps:
        return
    for area_id, unit in d.area_units():
        if unit.rules.process_steps.enabled:
            _step_items(d.day, unit, d.steps, d.acc, area_id)


KIND = RuleKind(
    "process_steps",
    personal=frozenset(),
    planning=frozenset({ItemKind.STEP_OPEN, ItemKind.STEP_CLOSING}),
    select=select,
)
