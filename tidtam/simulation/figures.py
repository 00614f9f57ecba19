"""What a simulated year cost, counted from what was sent and from what LINE counted, and printed.

Every push or multicast the dispatcher delivered is one ``Sent`` (its category, the role of whoever it
reached, how many messages LINE counts for it: a group push counts the group's members). The month's
paid total is LINE's own count (the emulator's quota, read at the end of each day) beside ours; the
test of the simulation checks they agree.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import OutboxMessage, SchedulerRun
from models.types import OutboxKind, OutboxStatus
from scheduler.fiscal import fiscal_year_of, quarter_of
from scheduler.workdays import WorkCalendar

__all__ = ["CATEGORIES", "Figures", "Sent", "category_of"]

CATEGORIES = ("reminder", "approval_request", "decision_notice", "escalation", "digest", "announcement")
_DAILY_KIND_CATEGORY = {
    "report_due": "reminder",
    "report_overdue": "reminder",
    "approver_overdue": "reminder",
    "approval_pending": "reminder",
    "draft_idle": "reminder",
    "late_escalation": "escalation",
    "approval_escalation": "escalation",
    "stuck_reports": "escalation",
    "digest": "digest",
    "undelivered": "digest",
    "reminder_summary": "digest",
    "budget_notice": "digest",
    "step_open": "announcement",
    "step_closing": "announcement",
}


def category_of(rule: str, purpose: str, subject: str) -> str:
    """The category of an outbox row: what its most important part is about."""
    if rule == "approval_request" or purpose == "approval_card":
        return "approval_request"
    if rule in ("decision_notice", "reopen_notice"):
        return "decision_notice"
    kinds = [k for k in subject.split(",") if k]
    if "approval_request" in kinds:
        return "approval_request"
    for kind in kinds:
        if kind in _DAILY_KIND_CATEGORY:
            return _DAILY_KIND_CATEGORY[kind]
    return "reminder" if rule == "daily" else "decision_notice" if kinds else "reminder"


def _role(roles: frozenset[str]) -> str:
    for role in ("monitoring_head", "planner", "approver", "reporter"):
        if role in roles:
            return role
    return "other"


@dataclass(frozen=True)
class Sent:
    """One delivered outbox row."""

    row_id: int
    paid: bool
    weight: int  # messages LINE counts (0 for a reply)
    category: str
    roles: tuple[str, ...]  # the role of each recipient ("group" for a LINE group)
    person_ids: tuple[int, ...]
    created: datetime
    at: datetime
    month: str
    quarter: tuple[int, int]

    @classmethod
    def of(cls, row: Any, weight: int, world: Any, tz: ZoneInfo) -> Sent:
        at = row.sent_at.astimezone(tz)
        paid = row.kind != OutboxKind.REPLY.value
        roles = []
        people = []
        for uid in row.recipients:
            member = world.by_line_id.get(uid)
            roles.append("group" if member is None else _role(member.roles))
            if member is not None:
                people.append(member.id)
        return cls(
            row_id=row.id,
            paid=paid,
            weight=weight if paid else 0,
            category="reply" if not paid else category_of(row.rule, row.purpose or "", row.subject or ""),
            roles=tuple(roles),
            person_ids=tuple(people),
            created=row.created_at.astimezone(tz),
            at=at,
            month=f"{at:%Y-%m}",
            quarter=(fiscal_year_of(at.date()), quarter_of(at.date())),
        )


@dataclass
class Figures:
    """The year's figures; ``as_json()`` is what ``--json`` prints."""

    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        config: Any,
        world: Any,
        sent: list[Sent],
        ticks: list[Any],
        line_usage: dict[str, int],
        approval_delays: list[int],
        never_told: int,
        cases: list[Any],
        late_approvals: Sequence[tuple[date, int]] = (),
        calendar: WorkCalendar,
        start: date,
        emulator: Any,
        engine: Engine,
        tz: ZoneInfo,
    ) -> Figures:
        months = _months(start)
        due = [c for c in cases if c.due <= date(start.year + 1, 9, 30)]
        per_month: dict[str, dict[str, Any]] = {
            m: {
                "month": m,
                "paid": 0,
                "paid_ours": 0,
                "replies": 0,
                "by_kind": Counter(),
                "by_role": Counter(),
            }
            for m in months
        }
        reporters = {m.id for m in world.members.values() if m.reporter and m.line_user_id}
        per_reporter: dict[tuple[int, tuple[int, int]], int] = defaultdict(int)
        escalation_delays: list[int] = []
        late_escalations: list[tuple[date, int]] = []
        for s in sent:
            month = per_month.get(s.month)
            if month is None:
                continue
            if not s.paid:
                month["replies"] += 1
                continue
            month["paid_ours"] += s.weight
            month["by_kind"][s.category] += s.weight
            for role in s.roles:
                month["by_role"][role] += PLANNING_WEIGHT if role == "group" else 1
            for person_id in s.person_ids:
                if person_id in reporters:
                    per_reporter[(person_id, s.quarter)] += 1
            if s.category == "escalation":
                delay = calendar.working_days_between(s.created.date(), s.at.date())
                escalation_delays.append(delay)
                if delay > 1:
                    late_escalations.append((s.at.date(), delay))
        for m, used in line_usage.items():
            if m in per_month:
                per_month[m]["paid"] = used
        if emulator is None:
            for month in per_month.values():
                month["paid"] = month["paid_ours"]
        quarters = sorted(
            {(fiscal_year_of(d), quarter_of(d)) for d in (date.fromisoformat(m + "-01") for m in months)}
        )
        counts = [per_reporter.get((p, q), 0) for p in reporters for q in quarters]
        left_out = _left_out(engine, ticks)
        naive = sum(t.naive for t in ticks) + sum(
            1 for s in sent if s.category in ("approval_request", "decision_notice") for _ in s.person_ids
        )
        data: dict[str, Any] = {
            "fiscal_year": config.fiscal_year,
            "schools": world.schools,
            "people": len(world.members),
            "linked": sum(1 for m in world.members.values() if m.line_user_id),
            "reporters": len(reporters),
            "quota": config.quota,
            "seed": config.seed,
            "months": [
                {
                    **m,
                    "by_kind": {k: m["by_kind"].get(k, 0) for k in CATEGORIES},
                    "by_role": dict(m["by_role"]),
                }
                for m in per_month.values()
            ],
            "paid_total": sum(m["paid"] for m in per_month.values()),
            "replies_total": sum(m["replies"] for m in per_month.values()),
            "paid_per_reporter_per_quarter": {
                "max": max(counts, default=0),
                "mean": round(statistics.fmean(counts), 2) if counts else 0,
            },
            "approval_requests": {
                "sent": len(approval_delays) - never_told,
                "latest_working_days": max(approval_delays, default=0),
                "never_told": never_told,
                "late": _late(late_approvals),
            },
            "escalations": {
                "sent": len(escalation_delays),
                "latest_working_days": max(escalation_delays, default=0),
                "late": _late(late_escalations),
            },
            "left_out": left_out,
            "naive_paid": naive,
            "reports": {  # the quarters due within the year (the fourth is due in October)
                "cases": len(due),
                "submitted": sum(1 for c in due if c.submitted),
                "approved": sum(1 for c in due if c.approved),
                "returned": sum(1 for c in due if c.behaviour.returns and c.versions >= 1),
            },
        }
        data["sent"] = {
            "pushes": sum(len(s.roles) for s in sent if s.paid),
            "replies": sum(1 for s in sent if not s.paid),
        }
        if emulator is not None:
            accepted = [*emulator.deliveries, *emulator.dropped]
            data["line_received"] = {
                "paid": sum(line_usage.values()),
                "pushes": sum(1 for d in accepted if d.kind != "reply"),
                "replies": sum(1 for d in accepted if d.kind == "reply"),
                "refused": len(emulator.refusals()),
                "violations": list(emulator.violations),
            }
        return cls(data)

    def as_json(self) -> str:
        return json.dumps(self.data, ensure_ascii=False, indent=1)

    def table(self) -> str:
        """The figures as a plain-text table, one line per month, then the totals."""
        d = self.data
        head = f"{'month':8} {'paid':>5} {'ours':>5} {'repl':>5} " + " ".join(
            f"{k[:8]:>8}" for k in CATEGORIES
        )
        lines = [
            f"fiscal year {d['fiscal_year']}: {d['schools']} schools, {d['people']} people "
            f"({d['linked']} on LINE, {d['reporters']} reporters), quota {d['quota'] or 'none'}, seed {d['seed']}",
            head,
        ]
        for m in d["months"]:
            kinds = " ".join(f"{m['by_kind'][k]:>8}" for k in CATEGORIES)
            lines.append(f"{m['month']:8} {m['paid']:>5} {m['paid_ours']:>5} {m['replies']:>5} {kinds}")
        per = d["paid_per_reporter_per_quarter"]
        lines += [
            f"paid {d['paid_total']} (naive: one push per due item {d['naive_paid']}), free replies {d['replies_total']}",
            f"pushes per reporter per quarter: max {per['max']}, mean {per['mean']}",
            f"approval requests told: {d['approval_requests']['sent']}, latest "
            f"{d['approval_requests']['latest_working_days']} working days, never told {d['approval_requests']['never_told']}",
            f"escalations: {d['escalations']['sent']}, latest {d['escalations']['latest_working_days']} working days",
            "left out: " + ", ".join(f"{k} {v}" for k, v in d["left_out"].items()),
        ]
        for kind in ("approval_requests", "escalations"):
            late = d[kind].get("late") or {}
            if late:
                days = ", ".join(f"{day} ({', '.join(map(str, n))})" for day, n in late.items())
                lines.append(f"{kind} over one working day late, by the day they went (working days): {days}")
        return "\n".join(lines)


def _late(delays: Sequence[tuple[date, int]]) -> dict[str, list[int]]:
    """Messages that went more than one working day late: the day they went → their delays."""
    by_day: dict[str, list[int]] = defaultdict(list)
    for day, delay in sorted(delays):
        by_day[day.isoformat()].append(delay)
    return dict(by_day)


PLANNING_WEIGHT = 4  # a planning-group push reaches the group's members (world.PLANNING_GROUP_MEMBERS)


def _months(start: date) -> list[str]:
    out, year, month = [], start.year, start.month
    for _ in range(12):
        out.append(f"{year:04d}-{month:02d}")
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def _left_out(engine: Engine, ticks: list[Any]) -> dict[str, int]:
    """What did not reach its person directly: put into the planning group's digest, held back for the
    quota (deferred), or never sent (dropped)."""
    outbox: sa.Table = OutboxMessage.__table__  # type: ignore[attr-defined]
    runs: sa.Table = SchedulerRun.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        statuses = Counter(
            dict(conn.execute(sa.select(outbox.c.status, sa.func.count()).group_by(outbox.c.status)).all())
        )
        summaries = [s for (s,) in conn.execute(sa.select(runs.c.summary)) if s]
    digested = sum(int(s.get("digested", 0)) for s in summaries)
    return {
        "digested": digested,
        "capped": sum(int(s.get("capped", 0)) for s in summaries),
        "digest_only_days": sum(1 for s in summaries if s.get("digest_only")),
        "deferred": int(statuses.get(OutboxStatus.DEFERRED.value, 0)),
        "dropped": int(statuses.get(OutboxStatus.FAILED.value, 0)),
        "waiting_at_end": int(statuses.get(OutboxStatus.HELD.value, 0))
        + int(statuses.get(OutboxStatus.PENDING.value, 0)),
    }


_ = (UTC,)
