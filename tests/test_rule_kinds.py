"""The registry of rule kinds (scheduler/kinds/): each kind one file; a kind added to the registry
reaches people's messages without touching the planner."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest
from scheduler_office import generate_office
from sqlalchemy.engine import Engine

from messages.reminders import Item, ItemKind, Line
from scheduler import kinds, planner
from scheduler.kinds import KINDS, PERSONAL_KINDS, PLANNING_KINDS, Day, RuleKind
from scheduler.process_steps import load_process_steps
from scheduler.rules import load_rules
from scheduler.tick import TickSetup, plan_for
from scheduler.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Bangkok")


def test_every_item_kind_is_declared_by_one_rule_kind_or_the_budget() -> None:
    declared = [k for kind in KINDS for k in (*kind.personal, *kind.planning)]
    assert len(declared) == len(set(declared)), "an item belongs to one kind"
    budget = {ItemKind.BUDGET_NOTICE, ItemKind.REMINDER_SUMMARY}  # made by the tick's budget, not a rule
    assert set(declared) | budget == set(ItemKind)
    assert not (PERSONAL_KINDS & PLANNING_KINDS)
    assert planner.PERSONAL_KINDS is PERSONAL_KINDS
    assert len({kind.name for kind in KINDS}) == len(KINDS)


def test_a_kind_added_to_the_registry_reaches_the_message(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    g = generate_office(engine, schools=1, projects_per_school=1, teachers_per_school=1)
    teacher = g.teachers_of[g.school_ids[0]][0]

    def select(d: Day) -> None:  # what a new kind's file would hold
        d.acc.bucket(("p", teacher), ItemKind.DRAFT_IDLE, "test", None, None, 1).add(
            1, Line("X1", "ทดสอบ"), d.acc.cap
        )

    extra = RuleKind("test", personal=frozenset({ItemKind.DRAFT_IDLE}), planning=frozenset(), select=select)
    monkeypatch.setattr(planner, "KINDS", (*kinds.KINDS, extra))
    setup = TickSetup(load_rules(), WorkCalendar(), TZ, tuple(load_process_steps()))
    with engine.connect() as conn:
        plan, *_ = plan_for(conn, date(2027, 2, 17), setup)  # a quiet day: nothing else is due
    [recipient] = [r for r in plan.recipients if teacher in r.person_ids]
    assert recipient.items == (Item(ItemKind.DRAFT_IDLE, "test", None, None, 1, 1, (Line("X1", "ทดสอบ"),)),)
