"""The annual report (the manual's step A.6): results by strategy, indicator achievement, budget
against the year's targets, the problems and suggestions gathered from the year's reports grouped by
strategy, the year's evaluation results (campaigns' response rates and rating means, year-end
project evaluations, strategy success rates), and charts, as one HTML file and its PDF (WeasyPrint, with Debian's Laksaman font: the TH
Sarabun look). `public` leaves out every person's name and LINE detail: only offices, projects and
figures remain, and the free texts (problems, suggestions) are scrubbed of people's names, LINE ids,
phone numbers and e-mail addresses (`dashboard/redact.py`).
"""

from __future__ import annotations

import base64
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session, col, select

import messages.dashboard as text
from dashboard import budget, charts, evaluation
from dashboard.evaluation import Evaluation
from dashboard.filters import add_filters
from dashboard.queries import Period, owners_of, periods_of
from dashboard.redact import Scrubber
from dashboard.scope import Scope
from models.org import Office, Person
from models.plan import Indicator, Project, Strategy
from models.reports import IndicatorResult, ProgressReport, ReportVersion
from models.types import OfficeKind, ProjectStatus, StrategyLevel

WEB_DIR = Path(text.__file__).parent / "web"
NOTES_PER_STRATEGY = 60  # problems or suggestions listed per strategy (the total is always given)
OWN_PROJECTS_SHOWN = 300


@dataclass
class Notes:
    label: str
    problems: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    problem_count: int = 0
    suggestion_count: int = 0


@dataclass(frozen=True)
class OwnProject:
    code: str
    name: str
    office: str
    budget_satang: int
    disbursed_satang: int | None
    progress_pct: Any
    owners: str
    indicators: list[tuple[str, str, Any, Any]]  # name, unit, target, result


@dataclass(frozen=True)
class AnnualReport:
    fiscal_year: int
    area_name: str
    period: Period
    public: bool
    overall: budget.Figures
    strategies: list[budget.Figures]
    quarters: list[budget.QuarterPoint]
    notes: list[Notes]
    own_projects: list[OwnProject]
    charts: dict[str, str]  # name → data: URI of the SVG
    made_on: date
    evaluation: Evaluation | None = None  # campaigns, year-end evaluations, strategy success rates


def _data_uri(svg: bytes) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()


def year_period(session: Session, fiscal_year: int, today: date) -> Period | None:
    """The quarter the year's figures are read at: the latest started quarter that has a submitted
    report (disbursement is cumulative, so it holds the year so far), else the latest started one."""
    periods = periods_of(session, fiscal_year, today)
    started = [p for p in periods if p.starts_on <= today] or periods[:1]
    reported = set(
        session.exec(
            select(ProgressReport.period_id)
            .where(
                col(ProgressReport.period_id).in_([p.id for p in started]),
                col(ProgressReport.current_version) > 0,
            )
            .distinct()
        )
    )
    with_reports = [p for p in started if p.id in reported]
    return (with_reports or started or [None])[-1]


def _notes(session: Session, fiscal_year: int, public: bool) -> list[Notes]:
    """The problems and suggestions of every submitted version of the year's reports, distinct, by area strategy."""
    labels = {
        s.id: f"{s.code} {s.title}"
        for s in session.exec(select(Strategy).where(Strategy.level == StrategyLevel.AREA))
    }
    link = budget.first_area_strategy()
    rows = session.execute(
        select(link.c.strategy_id, Project.code, ReportVersion.problems, ReportVersion.suggestions)
        .select_from(ReportVersion)
        .join(ProgressReport, col(ProgressReport.id) == col(ReportVersion.report_id))
        .join(Project, col(Project.id) == col(ProgressReport.project_id))
        .outerjoin(link, link.c.project_id == col(Project.id))
        .where(
            col(Project.fiscal_year) == fiscal_year,
            col(ReportVersion.version) == col(ProgressReport.current_version),
        )
        .order_by(col(Project.code))
    )
    scrub = _public_scrubber(session).scrub if public else None
    grouped: dict[Any, Notes] = {}
    seen: dict[Any, tuple[set[str], set[str]]] = defaultdict(lambda: (set(), set()))
    for strategy_id, code, problems, suggestions in rows:
        notes = grouped.setdefault(strategy_id, Notes(labels.get(strategy_id, text.UNLINKED_STRATEGY)))
        for value, kept, shown, counter in (
            (problems, seen[strategy_id][0], notes.problems, "problem_count"),
            (suggestions, seen[strategy_id][1], notes.suggestions, "suggestion_count"),
        ):
            value = (value or "").strip()
            if scrub is not None:
                value = scrub(value)
            if not value or value in kept:
                continue
            kept.add(value)
            setattr(notes, counter, getattr(notes, counter) + 1)
            if len(shown) < NOTES_PER_STRATEGY:
                shown.append(f"{value} ({code})")
    return sorted(grouped.values(), key=lambda n: (n.label == text.UNLINKED_STRATEGY, n.label))


def _public_scrubber(session: Session) -> Scrubber:
    """What the public edition takes out of free text: every person's name (anyone ever in the
    office's data), LINE ids, phone numbers and e-mail addresses (`dashboard/redact.py`)."""
    names = session.exec(select(Person.full_name)).all()
    return Scrubber(names, text.REDACTED_NAME, text.REDACTED_CONTACT)


def _own_projects(session: Session, period: Period, public: bool) -> list[OwnProject]:
    """The area office's and its groups' own projects (schools report in their own annual reports)."""
    rows = list(
        session.execute(
            select(Project, Office.name, ReportVersion)
            .join(Office, col(Office.id) == col(Project.office_id))
            .outerjoin(
                ProgressReport,
                (col(ProgressReport.project_id) == col(Project.id))
                & (col(ProgressReport.period_id) == period.id),
            )
            .outerjoin(
                ReportVersion,
                (col(ReportVersion.report_id) == col(ProgressReport.id))
                & (col(ReportVersion.version) == col(ProgressReport.current_version)),
            )
            .where(
                col(Project.fiscal_year) == period.fiscal_year,
                col(Project.status) == ProjectStatus.ACTIVE.value,
                col(Office.kind).in_([OfficeKind.AREA_OFFICE.value, OfficeKind.GROUP.value]),
            )
            .order_by(col(Project.code))
            .limit(OWN_PROJECTS_SHOWN)
        )
    )
    ids = [r[0].id for r in rows]
    owners = {} if public else owners_of(session, ids)
    versions = [r[2].id for r in rows if r[2] is not None]
    results = {
        (r.version_id, r.indicator_id): r.value
        for r in session.exec(select(IndicatorResult).where(col(IndicatorResult.version_id).in_(versions)))
    }
    indicators: dict[int, list[Indicator]] = defaultdict(list)
    for i in session.exec(
        select(Indicator).where(col(Indicator.project_id).in_(ids)).order_by(col(Indicator.position))
    ):
        indicators[i.project_id].append(i)
    return [
        OwnProject(
            project.code,
            project.name,
            office_name,
            project.budget_satang,
            version.budget_disbursed_satang if version else None,
            version.progress_pct if version else None,
            ", ".join(owners.get(project.id, [])),
            [
                (i.name, i.unit, i.target, results.get((version.id, i.id)) if version else None)
                for i in indicators[project.id]
            ],
        )
        for project, office_name, version in rows
    ]


def build(session: Session, fiscal_year: int, today: date, *, public: bool) -> AnnualReport | None:
    period = year_period(session, fiscal_year, today)
    if period is None:
        return None
    scope = Scope(None)
    area = session.exec(
        select(Office).where(Office.kind == OfficeKind.AREA_OFFICE).order_by(col(Office.id))
    ).first()
    quarters = budget.quarter_series(session, periods_of(session, fiscal_year, today), scope, today)
    strategies = budget.by_strategy(session, period, scope, unlinked=text.UNLINKED_STRATEGY)
    return AnnualReport(
        fiscal_year=fiscal_year,
        area_name=area.name if area else "",
        period=period,
        public=public,
        overall=budget.overall(session, period, scope),
        strategies=strategies,
        quarters=quarters,
        notes=_notes(session, fiscal_year, public),
        own_projects=_own_projects(session, period, public),
        charts={
            "disbursement": _data_uri(charts.disbursement_chart(quarters, fiscal_year, print_edition=True)),
            "strategies": _data_uri(
                charts.groups_chart(
                    strategies, text.chart_strategy_title(fiscal_year, period.quarter), print_edition=True
                )
            ),
        },
        made_on=today,
        evaluation=evaluation.of_year(session, fiscal_year),
    )


def render_html(report: AnnualReport) -> str:
    env = Environment(loader=FileSystemLoader(str(WEB_DIR)), autoescape=select_autoescape(["html"]))
    add_filters(env)
    return env.get_template("annual_report.html").render(report=report)


@dataclass(frozen=True)
class Written:
    html: Path
    pdf: Path


def write(report: AnnualReport, out: Path) -> Written:
    """`out/annual-report-<fy>.html` and `out/annual-report-<fy>.pdf`."""
    from weasyprint import HTML

    out.mkdir(parents=True, exist_ok=True)
    stem = f"annual-report-{report.fiscal_year}"
    html = render_html(report)
    html_path, pdf_path = out / f"{stem}.html", out / f"{stem}.pdf"
    html_path.write_text(html, encoding="utf-8")
    HTML(string=html, base_url=str(out)).write_pdf(pdf_path)
    return Written(html_path, pdf_path)
