"""Random sequences of submit / edit / approve / return / reopen by several actors (hypothesis,
stateful) against `models/` on a SQLite file: the rules hold after every step.

A reference model predicts whether each decision must be accepted; the database is also checked on
its own: at most one decision per (version, level), at most one final decision per version, never a
decision on a version that was no longer current when it was made, never one's own report, a reason
on every return, and a report status that follows its latest decision (or a reopening).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from approval_office import ApprovalOffice, answers, make_office, set_acting
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test
from office_clock import PINNED_AT, office_today
from sqlmodel import Session, select

from models import AuditLog, Person, ProjectOwner
from models.approvals import record_decision, reopen_report
from models.db import make_engine
from models.reporting import ReportingError, submit_report
from models.reports import ApprovalDecision, IndicatorResult, ProgressReport, ReportVersion
from models.types import DecisionChannel, DecisionOutcome, ReportStatus
from tidtam import migrate

TODAY = office_today(PINNED_AT)  # a fixed date: the office's, at a fixed instant
ACTORS = ("teacher", "teacher2", "director", "deputy", "planner", "area_director")
PROJECTS = ("p0", "p1", "own")  # p1 has two owners; "own" is owned by the director


@dataclass
class ModelReport:
    versions: list[str] = field(default_factory=list)  # submitter of version i + 1
    status: ReportStatus = ReportStatus.DRAFT
    decided: dict[tuple[int, int], DecisionOutcome] = field(default_factory=dict)  # (version, level)

    @property
    def current(self) -> int:
        return len(self.versions)


class World:
    """One database and office for every example; each example starts with no reports."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.office: ApprovalOffice = make_office(self.engine, today=TODAY)
        set_acting(self.engine, self.office, TODAY, TODAY)
        with Session(self.engine) as s:
            s.add(ProjectOwner(project_id=self.office.projects[1].id, person_id=self.office.teacher2.id))
            s.commit()
        self.people = {name: getattr(self.office, name) for name in ACTORS}
        self.project_ids = {
            "p0": self.office.projects[0].id,
            "p1": self.office.projects[1].id,
            "own": self.office.own_project.id,
        }
        self.owners = {"p0": {"teacher"}, "p1": {"teacher", "teacher2"}, "own": {"director"}}

    def clear(self) -> None:
        with self.engine.begin() as conn:
            for table in (ApprovalDecision, IndicatorResult, ReportVersion, ProgressReport, AuditLog):
                conn.execute(sa.delete(table))


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    url = f"sqlite:///{tmp_path_factory.mktemp('approvals') / 'property.sqlite3'}"
    migrate.upgrade(url)
    world = World(url)
    yield world
    world.engine.dispose()


def _allowed(world: World, actor: str, project: str, submitter: str, level: int, acting_day: bool) -> bool:
    if actor == submitter:
        return False
    if level == 2:
        return actor == "planner"
    if submitter == "director":  # the project's approver reported: one level up
        return actor == "area_director"
    return actor == "director" or (actor == "deputy" and acting_day)


class ApprovalMachine(RuleBasedStateMachine):
    world: World

    @initialize(levels=st.sampled_from([1, 2]))
    def start(self, levels: int) -> None:
        self.world.clear()
        self.levels = levels
        self.now = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
        self.model = {p: ModelReport() for p in PROJECTS}
        self.reopened = 0

    def _tick(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now

    def _report_id(self, project: str) -> int | None:
        with Session(self.world.engine) as s:
            report = s.exec(
                select(ProgressReport).where(ProgressReport.project_id == self.world.project_ids[project])
            ).first()
            return report.id if report else None

    # --- steps ---------------------------------------------------------------------------------------

    @rule(actor=st.sampled_from(ACTORS), project=st.sampled_from(PROJECTS))
    def submit_or_edit(self, actor: str, project: str) -> None:
        model = self.model[project]
        expect_ok = actor in self.world.owners[project] and model.status != ReportStatus.APPROVED
        now = self._tick()
        with Session(self.world.engine) as s:
            try:
                _, version = submit_report(
                    s,
                    self.world.people[actor].id,
                    answers(self.world.project_ids[project], self.world.office.period_id),
                    now,
                )
                number = version.version
                s.commit()
            except ReportingError:
                s.rollback()
                number = None
        assert (number is not None) == expect_ok, (actor, project, model)
        if number is not None:
            model.versions.append(actor)
            model.status = ReportStatus.SUBMITTED
            assert number == model.current

    @rule(
        actor=st.sampled_from(ACTORS),
        project=st.sampled_from(PROJECTS),
        back=st.sampled_from([0, 0, 0, 1, 2]),  # mostly the current version, sometimes an older one
        outcome=st.sampled_from(list(DecisionOutcome)),
        reason=st.sampled_from(["", "  ", "ตัวเลขไม่ครบ"]),
        acting_day=st.booleans(),
        channel=st.sampled_from(list(DecisionChannel)),
    )
    def decide(self, actor, project, back, outcome, reason, acting_day, channel) -> None:
        model = self.model[project]
        report_id = self._report_id(project)
        if report_id is None or model.current - back < 1:
            return
        version = model.current - back
        submitter = model.versions[version - 1]
        level = None
        if version == model.current and model.status == ReportStatus.SUBMITTED:
            if (version, 1) not in model.decided:
                level = 1
            elif self.levels == 2 and model.decided[(version, 1)] == DecisionOutcome.APPROVED:
                level = 2 if (version, 2) not in model.decided else None
        expect_ok = (
            level is not None
            and _allowed(self.world, actor, project, submitter, level, acting_day)
            and (outcome == DecisionOutcome.APPROVED or bool(reason.strip()))
        )
        now = self._tick()
        with Session(self.world.engine) as s:
            result = record_decision(
                s,
                report_id=report_id,
                version=version,
                person=s.get(Person, self.world.people[actor].id),
                outcome=outcome,
                channel=channel,
                now=now,
                on=TODAY if acting_day else TODAY + timedelta(days=1),
                reason=reason,
                levels=self.levels,
            )
            s.commit()
        assert result.ok == expect_ok, (actor, project, version, level, outcome, reason, result.error, model)
        if result.ok:
            assert level is not None
            model.decided[(version, level)] = outcome
            if outcome == DecisionOutcome.RETURNED:
                model.status = ReportStatus.RETURNED
            elif level == self.levels:
                model.status = ReportStatus.APPROVED
            assert result.final == (model.status != ReportStatus.SUBMITTED)

    @rule(project=st.sampled_from(PROJECTS))
    def reopen(self, project: str) -> None:
        model = self.model[project]
        report_id = self._report_id(project)
        now = self._tick()
        with Session(self.world.engine) as s:
            reopened = reopen_report(s, report_id=report_id or 0, actor="cli", reason="ขอแก้ตัวเลข", now=now)
            s.commit()
        assert (reopened is not None) == (model.status == ReportStatus.APPROVED)
        if reopened is not None:
            model.status = ReportStatus.RETURNED
            self.reopened += 1

    # --- what must always hold ---------------------------------------------------------------------------

    @invariant()
    def database_rules_hold(self) -> None:
        if not hasattr(self, "model"):
            return
        with Session(self.world.engine) as s:
            all_decisions = list(s.exec(select(ApprovalDecision)))
            versions = {v.id: v for v in s.exec(select(ReportVersion))}
            reports = {r.id: r for r in s.exec(select(ProgressReport))}
            reopenings = list(s.exec(select(AuditLog).where(AuditLog.action == "report_reopened")))
        per_key = Counter((d.version_id, d.level) for d in all_decisions)
        assert max(per_key.values(), default=0) <= 1
        finals = Counter(
            d.version_id
            for d in all_decisions
            if d.outcome == DecisionOutcome.RETURNED or d.level == self.levels
        )
        assert max(finals.values(), default=0) <= 1, "two final decisions on one version"
        by_version: dict[int, dict[int, ApprovalDecision]] = {}
        for d in all_decisions:
            version = versions[d.version_id]
            later = [
                v
                for v in versions.values()
                if v.report_id == version.report_id
                and v.version > version.version
                and v.submitted_at < d.decided_at
            ]
            assert not later, (
                f"decision on version {version.version} after version {later[0].version} came in"
            )
            assert d.decided_by_id != version.submitted_by_id, "decided on their own report"
            assert d.outcome == DecisionOutcome.APPROVED or d.reason.strip(), "a return without a reason"
            by_version.setdefault(d.version_id, {})[d.level] = d
        for levels in by_version.values():
            if 2 in levels:
                assert (
                    levels[1].outcome == DecisionOutcome.APPROVED
                    and levels[1].decided_at < levels[2].decided_at
                )
        for report in reports.values():
            current = next(
                v
                for v in versions.values()
                if v.report_id == report.id and v.version == report.current_version
            )
            decided = by_version.get(current.id, {})
            latest = decided[max(decided)] if decided else None
            if latest is None or (latest.outcome == DecisionOutcome.APPROVED and latest.level < self.levels):
                expected = ReportStatus.SUBMITTED
            elif latest.outcome == DecisionOutcome.RETURNED:
                expected = ReportStatus.RETURNED
            else:
                reopened_after = any(
                    a.entity_id == str(report.id) and a.at > latest.decided_at for a in reopenings
                )
                expected = ReportStatus.RETURNED if reopened_after else ReportStatus.APPROVED
            assert report.status == expected, (report.id, report.status, expected)
        # and the database agrees with the reference model
        model_statuses = sorted(str(m.status) for m in self.model.values() if m.versions)
        assert sorted(str(r.status) for r in reports.values()) == model_statuses
        assert len(all_decisions) == sum(len(m.decided) for m in self.model.values())
        assert len(reopenings) == self.reopened


def test_random_approval_histories_keep_the_rules(world: World) -> None:
    ApprovalMachine.world = world
    run_state_machine_as_test(
        ApprovalMachine,
        settings=settings(
            max_examples=50,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        ),
    )
