"""Reopening an approved report for revision (the planning group, from the CLI or the dashboard):
the report goes back to its reporter, who is told in LINE with a button to revise it."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from messages.approvals import report_reopened
from models.approvals import reopen_report
from models.org import Person
from models.outbox import queue_push
from models.plan import Project, ReportingPeriod
from models.reports import ProgressReport, ReportVersion
from scheduler.fiscal import FiscalQuarter


def reopen_with_notice(
    session: Session, *, report_id: int, actor: str, reason: str, now: datetime, by: Person | None = None
) -> ProgressReport | None:
    """Reopen (None when the report is not approved) and queue the reporter's notice."""
    report = reopen_report(session, report_id=report_id, actor=actor, reason=reason, now=now, by=by)
    if report is None:
        return None
    version = session.exec(
        select(ReportVersion).where(
            ReportVersion.report_id == report.id, ReportVersion.version == report.current_version
        )
    ).first()
    reporter = session.get(Person, version.submitted_by_id) if version and version.submitted_by_id else None
    project = session.get(Project, report.project_id)
    period = session.get(ReportingPeriod, report.period_id)
    if reporter is not None and reporter.line_user_id and project and period:
        message = report_reopened(
            f"{project.code} {project.name}",
            FiscalQuarter(period.fiscal_year, period.quarter),
            reason,
            report.id or 0,
        )
        queue_push(
            session,
            to=[reporter.line_user_id],
            messages=[message.to_dict()],
            dedupe_key=f"reopen:{report.id}:{now.isoformat()}",
            rule="reopen_notice",
            subject=f"report:{report.id}",
            now=now,
            purpose="reopen_notice",
            person_ids=[reporter.id or 0],
        )
    return report
