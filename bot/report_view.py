"""Reading a submitted report in chat: `ดูรายละเอียด <project> [ไตรมาส N]` and the reporter's `ดูรายงาน`.

Who may read a report: its owners, the directors who oversee its project (the office's directors, its
named approver and whoever acts for them), and the area's planning group. Someone who may decide on it
now gets the card with its decision buttons; everyone else the same card without them.
"""

from __future__ import annotations

import re
from datetime import date

from sqlmodel import Session, col, func, select

from bot import approvals
from bot.context import EventContext
from messages import approvals as card_text
from messages import report_view as text
from messages.vocabulary import QUARTER_WORDS
from models.approvals import decidable_level, pending_for
from models.org import Person
from models.overview import area_root, is_director, principals_of
from models.plan import Project, ReportingPeriod
from models.reporting import is_owner, latest_version, person_projects
from models.reports import ProgressReport
from models.types import Role
from scheduler.fiscal import FiscalQuarter, fiscal_year_of

_QUARTER = re.compile(rf"(?:{'|'.join(QUARTER_WORDS)})\s*([1-4])\b|^\s*([1-4])\s*$", re.IGNORECASE)


def _today(ctx: EventContext) -> date:
    return ctx.now.astimezone(ctx.tz).date()


def may_read(session: Session, person: Person, project: Project, on: date) -> bool:
    if is_owner(session, person.id or 0, project.id or 0):
        return True
    if person.has_role(Role.PLANNER) or person.has_role(Role.OBSERVER):
        mine, theirs = area_root(session, person.office_id), area_root(session, project.office_id)
        if mine is not None and theirs is not None and mine.id == theirs.id:
            return True
    if not is_director(session, person, on):
        return False
    approvers = {person.id, *principals_of(session, person.id or 0, on)}
    offices = {person.office_id} | {
        p.office_id for p in (session.get(Person, i) for i in approvers if i != person.id) if p is not None
    }
    return project.approver_id in approvers or project.office_id in offices


def _reports(session: Session, project_id: int) -> list[tuple[ProgressReport, ReportingPeriod]]:
    """The project's reports that have a submitted version, latest quarter first."""
    rows = session.exec(
        select(ProgressReport, ReportingPeriod)
        .join(ReportingPeriod, col(ReportingPeriod.id) == col(ProgressReport.period_id))
        .where(ProgressReport.project_id == project_id, col(ProgressReport.current_version) > 0)
        .order_by(col(ReportingPeriod.fiscal_year).desc(), col(ReportingPeriod.quarter).desc())
    )
    return list(rows)


def show_details(ctx: EventContext, rest: str) -> None:
    """`ดูรายละเอียด P001 ไตรมาส 1`: the report's card (with buttons when the person may decide now)."""
    assert ctx.person is not None
    today = _today(ctx)
    words = rest.split()
    code = words[0] if words else ""
    project = (
        ctx.session.exec(select(Project).where(func.upper(Project.code) == code.upper())).first()
        if code
        else None
    )
    if project is None or not may_read(ctx.session, ctx.person, project, today):
        ctx.reply(card_text.details_which(_readable_codes(ctx, today)))
        return
    reports = _reports(ctx.session, project.id or 0)
    quarter = _QUARTER.search(" ".join(words[1:]))
    if quarter:
        wanted = int(quarter.group(1) or quarter.group(2))
        reports = [(r, p) for r, p in reports if p.quarter == wanted]
    if not reports:
        ctx.reply(text.no_report_yet(project.code, project.name))
        return
    report, _period = reports[0]
    version = latest_version(ctx.session, report)
    assert version is not None
    decidable = decidable_level(ctx.session, ctx.person, report, today, ctx.approval_levels)
    level = decidable[1] if decidable else 1
    data = approvals.card_data(
        ctx.session, report, version, level, links=ctx.media_links, on=today, decidable=decidable is not None
    )
    ctx.reply(card_text.approval_card(data), text.report_state_note(str(report.status)))


def _readable_codes(ctx: EventContext, today: date) -> list[str]:
    assert ctx.person is not None
    codes = [p.project.code for p in pending_for(ctx.session, ctx.person, today, ctx.approval_levels)]
    codes += [p.code for p in person_projects(ctx.session, ctx.person.id or 0, fiscal_year_of(today))]
    return list(dict.fromkeys(codes))


def reply_my_reports(ctx: EventContext) -> None:
    """`ดูรายงาน`: the reporter's reports of this fiscal year, each quarter, with a button to open each."""
    assert ctx.person is not None
    today = _today(ctx)
    lines: list[text.ReportLine] = []
    for ref in person_projects(ctx.session, ctx.person.id or 0, fiscal_year_of(today)):
        for report, period in _reports(ctx.session, ref.id):
            lines.append(
                text.ReportLine(
                    ref.code, ref.name, FiscalQuarter(period.fiscal_year, period.quarter), str(report.status)
                )
            )
    ctx.reply(text.my_reports(lines))
