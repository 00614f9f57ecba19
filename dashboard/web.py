"""The dashboard's pages under `/dashboard`, in the service's own FastAPI app.

Thin routes: each reads the viewer (their session cookie, person and scope), asks `dashboard.queries`
and renders a template of `messages/web/`. Every page, photo and download needs a live session; a
state-changing form carries the session's CSRF token; logins and actions go to the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlmodel import Session

import messages.dashboard as text
from dashboard.filters import add_filters
from dashboard.queries import (
    Period,
    ProjectFilters,
    choose_period,
    fiscal_years,
    office_name,
    periods_of,
    photo_office,
    project_detail,
    project_list,
    status_overview,
    strategy_choices,
)
from dashboard.scope import Scope, may_act, scope_of
from messages.thai_dates import format_date, format_datetime
from models.dashboard import (
    SESSION_TTL,
    DashboardSession,
    LoginRefused,
    audit_action,
    end_session,
    live_session,
    redeem_login,
)
from models.org import Person

COOKIE = "tidtam_dashboard"
WEB_DIR = Path(text.__file__).parent / "web"
STATIC_DIR = Path(__file__).parent / "static"
_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
}


class Refused(Exception):
    """A page that cannot be shown: answered with a Thai page saying why and what to do."""

    def __init__(self, status: int, title: str, body: str) -> None:
        super().__init__(title)
        self.status, self.title, self.body = status, title, body


def no_session() -> Refused:
    return Refused(401, text.NO_SESSION_TITLE, text.NO_SESSION_BODY)


def not_allowed() -> Refused:
    return Refused(403, text.NOT_ALLOWED_TITLE, text.NOT_ALLOWED_BODY)


def not_found() -> Refused:
    return Refused(404, text.NOT_FOUND_TITLE, text.NOT_FOUND_BODY)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(WEB_DIR))
    add_filters(templates.env)
    return templates


TEMPLATES = _templates()


def db(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine, expire_on_commit=False) as session:
        yield session


DB = Annotated[Session, Depends(db)]


@dataclass
class Viewer:
    person: Person
    session_row: DashboardSession
    scope: Scope
    can_act: bool
    now: datetime

    @property
    def csrf(self) -> str:
        return self.session_row.csrf_token


def viewer(request: Request, session: DB) -> Viewer:
    cookie = request.cookies.get(COOKIE)
    now = request.app.state.clock.now()
    row = live_session(session, cookie, now) if cookie else None
    person = session.get(Person, row.person_id) if row else None
    scope = scope_of(person)
    if row is None or person is None or scope is None:
        raise no_session()
    return Viewer(person, row, scope, may_act(person), now)


CurrentViewer = Annotated[Viewer, Depends(viewer)]


def check_csrf(viewer: Viewer, token: str) -> None:
    if not secrets.compare_digest(token.encode(), viewer.csrf.encode()):
        raise Refused(403, text.BAD_FORM_TITLE, text.BAD_FORM_BODY)


async def form_viewer(request: Request, viewer: CurrentViewer) -> Viewer:
    """The viewer of a state-changing form: a live session in scope whose form carries its CSRF token
    (the form is parsed once; the route's own `Form()` fields read the same parsed form)."""
    form = await request.form()
    token = form.get("csrf")
    check_csrf(viewer, token if isinstance(token, str) else "")
    return viewer


FormViewer = Annotated[Viewer, Depends(form_viewer)]


def acting_viewer(viewer: FormViewer) -> Viewer:
    """A `FormViewer` who may also act (planners and admins): every planner action's first check."""
    if not viewer.can_act:
        raise Refused(403, text.NOT_ALLOWED_TITLE, text.ACTIONS_NOT_ALLOWED)
    return viewer


Actor = Annotated[Viewer, Depends(acting_viewer)]


def today_of(request: Request) -> date:
    return request.app.state.clock.now().astimezone(request.app.state.settings.tz).date()


def render(
    request: Request, template: str, viewer: Viewer | None, status: int = 200, **context: Any
) -> HTMLResponse:
    tz = request.app.state.settings.tz
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {"viewer": viewer, "when": lambda dt: format_datetime(dt, tz) if dt else "", **context},
        status_code=status,
    )
    response.headers.update(_SECURITY_HEADERS)
    return response


def _period(request: Request, session: Session, fy: int | None, quarter: int | None) -> Period:
    period = choose_period(session, today_of(request), fy, quarter)
    if period is None:
        raise not_found()
    return period


def _period_choices(request: Request, session: Session, period: Period) -> dict[str, Any]:
    """What a page's period picker shows: the chosen period, its year's periods, every fiscal year."""
    return {
        "period": period,
        "periods": periods_of(session, period.fiscal_year, today_of(request)),
        "years": fiscal_years(session),
    }


def _int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


def _scratch(prefix: str) -> Path:
    """A private temporary folder for one download; `_download` removes it once the file is sent."""
    import tempfile

    return Path(tempfile.mkdtemp(prefix=prefix))


def _download(folder: Path, path: Path, media_type: str, filename: str) -> FileResponse:
    import shutil

    from starlette.background import BackgroundTask

    return FileResponse(
        path,
        media_type=media_type,
        filename=filename,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
        headers={"Cache-Control": "no-store"},
    )


router = APIRouter(prefix="/dashboard")


@router.get("/login")
def login(request: Request, session: DB, t: str = "") -> Response:
    now = request.app.state.clock.now()
    opened = redeem_login(session, t, now) if t else LoginRefused.UNKNOWN
    person = session.get(Person, opened.row.person_id) if not isinstance(opened, LoginRefused) else None
    if isinstance(opened, LoginRefused) or scope_of(person) is None:
        session.commit()  # the refusal is audited
        return render(
            request, "refused.html", None, 403, title=text.LINK_REFUSED_TITLE, body=text.LINK_REFUSED_BODY
        )
    session.commit()
    response = RedirectResponse("/dashboard", status_code=303)
    response.set_cookie(
        COOKIE,
        opened.token,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.public_url.startswith("https://"),
    )
    response.headers.update(_SECURITY_HEADERS)
    return response


@router.post("/logout")
def logout(request: Request, session: DB, viewer: FormViewer) -> Response:
    end_session(session, viewer.session_row, viewer.now)
    session.commit()
    response = render(request, "refused.html", None, title=text.LOGGED_OUT_TITLE, body=text.LOGGED_OUT_BODY)
    response.delete_cookie(COOKIE, path="/dashboard")
    return response


@router.get("/static/{name}")
def static(name: str) -> Response:
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise not_found()
    return FileResponse(path, headers={"Cache-Control": "max-age=3600"})


@router.get("")
def status_page(
    request: Request,
    session: DB,
    viewer: CurrentViewer,
    fy: str | None = None,
    q: str | None = None,
    search: str = "",
    late: str = "",
    page: int = 1,
) -> HTMLResponse:
    period = _period(request, session, _int(fy), _int(q))
    overview = status_overview(session, viewer.scope, period, search=search, late_only=bool(late), page=page)
    return render(
        request,
        "status.html",
        viewer,
        **_period_choices(request, session, period),
        overview=overview,
        search=search,
        late=bool(late),
        stuck=_stuck_count(request, session, viewer),
    )


STUCK_COUNT_TTL = timedelta(minutes=2)


def _stuck_count(request: Request, session: Session, viewer: Viewer) -> int:
    """How many reports in scope nobody can approve, for the status page's marker: counted at most
    every two minutes per scope (the query reads every submitted report: ~0.2-0.5 s at 300,000
    projects, a third of the page), while `/dashboard/stuck` always counts afresh."""
    cache: dict[tuple[int | None, date], tuple[datetime, int]] = request.app.state.dashboard_stuck_counts
    key = (viewer.scope.root_office_id, today_of(request))
    found = cache.get(key)
    if found is not None and found[0] > viewer.now:
        return found[1]
    count = len(_stuck(request, session, viewer))
    cache[key] = (viewer.now + STUCK_COUNT_TTL, count)
    return count


def _stuck(request: Request, session: Session, viewer: Viewer) -> list[Any]:
    """Reports in the viewer's scope that nobody can approve (`models.approvals.stuck_reports`)."""
    from models.approvals import stuck_reports

    ids = viewer.scope.office_ids()
    offices = None if ids is None else list(session.exec(ids))
    return stuck_reports(session, today_of(request), office_ids=offices)


@router.get("/stuck")
def stuck_page(request: Request, session: DB, viewer: CurrentViewer) -> HTMLResponse:
    from sqlmodel import col, select

    from models.org import Office

    found = _stuck(request, session, viewer)
    people = (
        {
            p.id: p.full_name
            for p in session.exec(
                select(Person).where(
                    col(Person.id).in_({r.submitted_by_id for r in found if r.submitted_by_id})
                )
            )
        }
        if found
        else {}
    )
    offices = (
        {
            o.id: o
            for o in session.exec(select(Office).where(col(Office.id).in_({r.office_id for r in found})))
        }
        if found
        else {}
    )
    return render(request, "stuck.html", viewer, reports=found, people=people, offices=offices)


@router.get("/projects")
def projects_page(
    request: Request,
    session: DB,
    viewer: CurrentViewer,
    fy: str | None = None,
    q: str | None = None,
    strategy: str | None = None,
    office: str | None = None,
    state: str = "",
    person: str = "",
    late: str = "",
    search: str = "",
    page: int = 1,
) -> HTMLResponse:
    period = _period(request, session, _int(fy), _int(q))
    office_id = _int(office)
    if office_id is not None and not viewer.scope.allows_office(session, office_id):
        raise not_allowed()
    filters = ProjectFilters(
        strategy_id=_int(strategy),
        office_id=office_id,
        state=state or None,
        person=person,
        late_only=bool(late),
        search=search,
    )
    listing = project_list(session, viewer.scope, period, filters, page=page)
    return render(
        request,
        "projects.html",
        viewer,
        **_period_choices(request, session, period),
        listing=listing,
        filters=filters,
        strategies=strategy_choices(session),
        office_label=office_name(session, office_id) if office_id else "",
    )


@router.get("/projects/{project_id}")
def project_page(
    request: Request, session: DB, viewer: CurrentViewer, project_id: int, saved: str = ""
) -> HTMLResponse:
    detail = project_detail(session, project_id, today_of(request))
    if detail is None:
        raise not_found()
    if not viewer.scope.allows_office(session, detail.project.office_id):
        raise not_allowed()
    return render(request, "project.html", viewer, detail=detail, saved=saved)


@router.get("/photos/{photo_id}")
def photo(request: Request, session: DB, viewer: CurrentViewer, photo_id: int) -> Response:
    found = photo_office(session, photo_id)
    if found is None:
        raise not_found()
    row, office_id = found
    if not viewer.scope.allows_office(session, office_id):
        raise not_allowed()
    media = Path(request.app.state.settings.media_dir).resolve()
    path = (media / row.path).resolve()
    if not path.is_relative_to(media) or not path.is_file():
        raise not_found()
    return FileResponse(path, media_type=row.content_type, headers={"Cache-Control": "private, no-store"})


@router.post("/reports/{report_id}/reopen")
def reopen(
    request: Request,
    session: DB,
    viewer: Actor,
    report_id: int,
    reason: Annotated[str, Form()] = "",
) -> Response:
    from bot.reopen import reopen_with_notice
    from models.plan import Project
    from models.reports import ProgressReport

    report = session.get(ProgressReport, report_id)
    project = session.get(Project, report.project_id) if report else None
    if report is None or project is None:
        raise not_found()
    if not viewer.scope.allows_office(session, project.office_id):
        raise Refused(403, text.NOT_ALLOWED_TITLE, text.ACTIONS_NOT_ALLOWED)
    detail_url = f"/dashboard/projects/{project.id}"
    if not reason.strip():
        return RedirectResponse(f"{detail_url}?saved=reason_needed#report-{report_id}", status_code=303)
    done = reopen_with_notice(
        session,
        report_id=report_id,
        actor="dashboard",
        reason=reason.strip(),
        now=viewer.now,
        by=viewer.person,
    )
    if done is None:
        return RedirectResponse(f"{detail_url}?saved=refused#report-{report_id}", status_code=303)
    audit_action(
        session,
        now=viewer.now,
        person_id=viewer.person.id or 0,
        action="dashboard_reopen",
        entity_type="progress_report",
        entity_id=str(report_id),
        reason=reason.strip(),
    )
    session.commit()
    return RedirectResponse(f"{detail_url}?saved=reopened#report-{report_id}", status_code=303)


@router.get("/exports")
def exports_page(
    request: Request, session: DB, viewer: CurrentViewer, fy: str | None = None, q: str | None = None
) -> HTMLResponse:
    period = _period(request, session, _int(fy), _int(q))
    return render(
        request,
        "exports.html",
        viewer,
        **_period_choices(request, session, period),
    )


_DOWNLOADS = {
    "xlsx": (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "csv": (".csv", "text/csv; charset=utf-8"),
    "indicators.csv": (".csv", "text/csv; charset=utf-8"),
}


@router.get("/exports/download")
def export_download(
    request: Request,
    session: DB,
    viewer: CurrentViewer,
    fy: str | None = None,
    q: str | None = None,
    format: str = "xlsx",
) -> Response:
    from dashboard.exports import export, indicators_path, load_mapping

    if format not in _DOWNLOADS:
        raise not_found()
    period = _period(request, session, _int(fy), _int(q))
    suffix, media_type = _DOWNLOADS[format]
    settings = request.app.state.settings
    folder = _scratch("tidtam-export-")
    path = folder / f"tidtam-{period.fiscal_year}-q{period.quarter}{suffix}"
    summary = export(
        session,
        period,
        path,
        scope=viewer.scope,
        mapping=load_mapping(settings.export_columns_file),
        tz=settings.tz,
    )
    audit_action(
        session,
        now=viewer.now,
        person_id=viewer.person.id or 0,
        action="dashboard_export",
        entity_type="reporting_period",
        entity_id=str(period.id),
        format=format,
        projects=summary.projects,
    )
    session.commit()
    sent = indicators_path(path) if format == "indicators.csv" else path

    return _download(folder, sent, media_type, sent.name)


def _budget_figures(request: Request, session: Session, viewer: Viewer, period: Period) -> dict[str, Any]:
    from dashboard import budget

    periods = periods_of(session, period.fiscal_year, today_of(request))
    return {
        "quarters": budget.quarter_series(session, periods, viewer.scope, today_of(request)),
        "overall": budget.overall(session, period, viewer.scope),
        "strategies": budget.by_strategy(session, period, viewer.scope, unlinked=text.UNLINKED_STRATEGY),
        "offices": budget.by_office(session, period, viewer.scope),
        "targets_set": budget.targets_are_set(session, period.fiscal_year),
        "periods": periods,
    }


@router.get("/budget")
def budget_page(
    request: Request,
    session: DB,
    viewer: CurrentViewer,
    fy: str | None = None,
    q: str | None = None,
    saved: str = "",
) -> HTMLResponse:
    period = _period(request, session, _int(fy), _int(q))
    return render(
        request,
        "budget.html",
        viewer,
        period=period,
        years=fiscal_years(session),
        saved=saved,
        **_budget_figures(request, session, viewer, period),
    )


@router.get("/charts/{kind}.svg")
def chart(
    request: Request,
    session: DB,
    viewer: CurrentViewer,
    kind: str,
    fy: str | None = None,
    q: str | None = None,
) -> Response:
    from dashboard import budget, charts

    period = _period(request, session, _int(fy), _int(q))
    if kind == "disbursement":
        periods = periods_of(session, period.fiscal_year, today_of(request))
        quarters = budget.quarter_series(session, periods, viewer.scope, today_of(request))
        svg = charts.disbursement_chart(quarters, period.fiscal_year)
    elif kind == "strategies":
        rows = budget.by_strategy(session, period, viewer.scope, unlinked=text.UNLINKED_STRATEGY)
        svg = charts.groups_chart(rows, text.chart_strategy_title(period.fiscal_year, period.quarter))
    elif kind == "offices":
        rows = budget.by_office(session, period, viewer.scope)
        svg = charts.groups_chart(rows, text.chart_office_title(period.fiscal_year, period.quarter))
    else:
        raise not_found()
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@router.post("/budget/targets")
def save_targets(
    request: Request,
    session: DB,
    viewer: Actor,
    fy: Annotated[str, Form()] = "",
    q1: Annotated[str, Form()] = "",
    q2: Annotated[str, Form()] = "",
    q3: Annotated[str, Form()] = "",
    q4: Annotated[str, Form()] = "",
) -> Response:
    from decimal import Decimal, InvalidOperation

    from dashboard.budget import set_targets
    from messages.thai_numbers import normalize_digits

    year = _int(fy)
    if year is None:
        raise not_found()
    try:
        values = [Decimal(normalize_digits(v).strip().rstrip("%").strip()) for v in (q1, q2, q3, q4)]
    except InvalidOperation:
        values = []
    ordered = len(values) == 4 and all(0 <= v <= 100 for v in values) and values == sorted(values)
    if not ordered:
        return RedirectResponse(f"/dashboard/budget?fy={year}&saved=invalid", status_code=303)
    targets = dict(zip((1, 2, 3, 4), values, strict=True))
    set_targets(session, year, targets, viewer.now)
    audit_action(
        session,
        now=viewer.now,
        person_id=viewer.person.id or 0,
        action="dashboard_targets_set",
        entity_type="fiscal_year",
        entity_id=str(year),
        targets={str(k): str(v) for k, v in targets.items()},
    )
    session.commit()
    return RedirectResponse(f"/dashboard/budget?fy={year}&saved=targets", status_code=303)


@router.get("/annual-report")
def annual_report_download(
    request: Request,
    session: DB,
    viewer: CurrentViewer,
    fy: str | None = None,
    format: str = "pdf",
    public: str = "",
) -> Response:
    """The same two files as `tidtam annual-report` (the whole area: for the planning group)."""
    from dashboard.annual import build, write

    if not viewer.scope.whole_area:
        raise not_allowed()
    year = _int(fy)
    report = (
        build(session, year, today_of(request), public=bool(public))
        if year and format in ("pdf", "html")
        else None
    )
    if report is None:
        raise not_found()
    folder = _scratch("tidtam-annual-")
    written = write(report, folder)
    audit_action(
        session,
        now=viewer.now,
        person_id=viewer.person.id or 0,
        action="dashboard_annual_report",
        entity_type="fiscal_year",
        entity_id=str(year),
        format=format,
        public=bool(public),
    )
    session.commit()
    path = written.pdf if format == "pdf" else written.html

    media = "application/pdf" if format == "pdf" else "text/html; charset=utf-8"
    name = path.name.replace(".", "-public.", 1) if public else path.name
    return _download(folder, path, media, name)


def _evaluation_context(request: Request, session: Session, year: int) -> dict[str, Any]:
    from dashboard import evaluation

    return {
        "fiscal_year": year,
        "years": sorted({*fiscal_years(session), year}, reverse=True),
        "campaigns": evaluation.campaign_rows(session, year),
        "yearend": evaluation.yearend(session, year),
        "strategies": evaluation.strategy_rates(session, year),
    }


def _start_defaults(request: Request) -> dict[str, str]:
    """The start form's dates: the manual's window, as `tidtam campaign start` defaults them, written
    the way people read and type them (Buddhist Era: a browser's date picker would show the year in
    the browser's own calendar, Gregorian in most)."""
    from scheduler.campaigns import WindowRefused, campaign_window

    try:
        opens_on, closes_on, _remind = campaign_window(
            today_of(request), _setup(request).steps, opens_on=None, closes_on=None
        )
    except WindowRefused:
        return {"opens": "", "closes": ""}
    return {"opens": format_date(opens_on), "closes": format_date(closes_on)}


@router.get("/evaluation")
def evaluation_page(
    request: Request, session: DB, viewer: CurrentViewer, fy: str | None = None
) -> HTMLResponse:
    """Campaigns, year-end evaluations and strategy success rates of a fiscal year (the whole area's:
    for the planning group, as the annual report); planners and admins also get the start form."""
    from scheduler.fiscal import fiscal_year_of

    if not viewer.scope.whole_area:
        raise not_allowed()
    year = _int(fy) or fiscal_year_of(today_of(request))
    return render(
        request,
        "evaluation.html",
        viewer,
        start=_start_defaults(request) | {"target": "", "office": ""},
        problems=[],
        **_evaluation_context(request, session, year),
    )


MAX_FORM_BYTES = 5 * 1024 * 1024  # a questionnaire is a few kilobytes; a workbook well under this


def _start_refused(
    request: Request, session: Session, viewer: Viewer, entered: dict[str, str], problems: list[str]
) -> HTMLResponse:
    """The evaluation page again, with what was entered and every problem, line by line (nothing started)."""
    from scheduler.fiscal import fiscal_year_of

    year = fiscal_year_of(today_of(request))
    return render(
        request,
        "evaluation.html",
        viewer,
        400,
        start=entered,
        problems=problems,
        **_evaluation_context(request, session, year),
    )


def _web_date(text_value: str) -> date | None:
    """A date from the form as people type it (`1/9/70`, `1 ก.ย. 2570`), or ISO (the confirm step's
    hidden fields)."""
    from messages.errors import InputError
    from messages.thai_dates import parse_date

    value = text_value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return parse_date(value)
    except (InputError, ValueError):
        raise _BadDate(value) from None


class _BadDate(ValueError):
    pass


@dataclass
class _StartPlan:
    questionnaire: Any
    opens_on: date
    closes_on: date
    remind_on: date | None
    people: list[Any]


def _plan_start(
    request: Request, session: Session, questionnaire: Any, entered: dict[str, str]
) -> _StartPlan | list[str]:
    """The campaign the form describes, or its problems in Thai: the CLI's checks (window, target)."""
    from messages import evaluation as etxt
    from models.campaigns import TargetError, resolve_target
    from scheduler.campaigns import WindowRefused, campaign_window

    today = today_of(request)
    try:
        opens_on, closes_on, remind_on = campaign_window(
            today,
            _setup(request).steps,
            opens_on=_web_date(entered["opens"]),
            closes_on=_web_date(entered["closes"]),
        )
    except _BadDate as error:
        return [etxt.bad_date(str(error))]
    except WindowRefused as error:
        return [error.message]
    if not entered["target"].strip():
        return [text.CAMPAIGN_TARGET_NEEDED]
    try:
        people = resolve_target(
            session, entered["target"], office_code=entered["office"].strip() or None, on=opens_on
        )
    except TargetError as error:
        return [etxt.target_error(error.code, error.value)]
    if not people:
        return [etxt.no_recipients()]
    return _StartPlan(questionnaire, opens_on, closes_on, remind_on, people)


@router.post("/evaluation/start")
async def campaign_preview(
    request: Request,
    session: DB,
    viewer: Actor,
    target: Annotated[str, Form()] = "",
    office: Annotated[str, Form()] = "",
    opens: Annotated[str, Form()] = "",
    closes: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """The start form's first step: the uploaded questionnaire checked by the loader, the target
    resolved, and what it would cost; nothing is started until the preview is confirmed."""
    from starlette.datastructures import UploadFile

    if not viewer.scope.whole_area:
        raise not_allowed()
    entered = {"target": target, "office": office, "opens": opens, "closes": closes}
    upload = (await request.form()).get("form")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _start_refused(request, session, viewer, entered, [text.CAMPAIGN_FILE_NEEDED])
    content = await upload.read(MAX_FORM_BYTES + 1)
    if len(content) > MAX_FORM_BYTES:
        return _start_refused(request, session, viewer, entered, [text.CAMPAIGN_FILE_TOO_BIG])
    from starlette.concurrency import run_in_threadpool

    name = Path(upload.filename).name
    return await run_in_threadpool(_preview, request, session, viewer, entered, name, content)


def _preview(
    request: Request, session: Session, viewer: Viewer, entered: dict[str, str], name: str, content: bytes
) -> HTMLResponse:
    import json
    import tempfile

    from evaluation.loader import QuestionnaireError, load_file
    from messages import evaluation as etxt
    from scheduler.campaigns import preview_start

    with tempfile.TemporaryDirectory(prefix="tidtam-form-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            questionnaire = load_file(path)
        except QuestionnaireError as error:
            problems = etxt.refused(name, error.problems).splitlines()
            return _start_refused(request, session, viewer, entered, problems)
    plan = _plan_start(request, session, questionnaire, entered)
    if isinstance(plan, list):
        return _start_refused(request, session, viewer, entered, plan)
    today = today_of(request)
    preview = preview_start(session, plan.people, plan.opens_on, today, _setup(request))
    return render(
        request,
        "campaign_start.html",
        viewer,
        questionnaire=questionnaire,
        form_json=json.dumps(questionnaire.to_dict(), ensure_ascii=False),
        plan=plan,
        preview=preview,
        entered=entered | {"opens": plan.opens_on.isoformat(), "closes": plan.closes_on.isoformat()},
        opens_today=plan.opens_on <= today,
    )


@router.post("/evaluation/start/confirm")
def campaign_start(
    request: Request,
    session: DB,
    viewer: Actor,
    questionnaire_json: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    office: Annotated[str, Form()] = "",
    opens: Annotated[str, Form()] = "",
    closes: Annotated[str, Form()] = "",
) -> Response:
    """Start the previewed campaign, as `tidtam campaign start` does: the campaign and its recipients,
    then (when it opens today) its invitations queued through the scheduler's own run."""
    import json

    from evaluation.loader import QuestionnaireError, from_dict
    from messages import evaluation as etxt
    from models.campaigns import start_campaign
    from scheduler.campaigns import run_campaigns

    if not viewer.scope.whole_area:
        raise not_allowed()
    entered = {"target": target, "office": office, "opens": opens, "closes": closes}
    try:
        questionnaire = from_dict(json.loads(questionnaire_json))
    except (QuestionnaireError, ValueError, TypeError) as error:
        problems = error.problems if isinstance(error, QuestionnaireError) else []
        return _start_refused(request, session, viewer, entered, etxt.refused("-", problems).splitlines())
    plan = _plan_start(request, session, questionnaire, entered)
    if isinstance(plan, list):
        return _start_refused(request, session, viewer, entered, plan)
    today = today_of(request)
    created, people = start_campaign(
        session,
        questionnaire=questionnaire,
        target=target,
        office_code=office.strip() or None,
        opens_on=plan.opens_on,
        closes_on=plan.closes_on,
        remind_on=plan.remind_on,
        today=today,
        now=viewer.now,
        created_by="dashboard",
    )
    audit_action(
        session,
        now=viewer.now,
        person_id=viewer.person.id or 0,
        action="dashboard_campaign_start",
        entity_type="campaign",
        entity_id=str(created.id),
        target=target.strip(),
        recipients=len(people),
    )
    session.commit()
    campaign_id = created.id or 0
    invited = 0
    if plan.opens_on <= today:
        invited = run_campaigns(
            request.app.state.engine, viewer.now, _setup(request), only=campaign_id
        ).invited
    return RedirectResponse(f"/dashboard/evaluation/{campaign_id}?saved=started&n={invited}", status_code=303)


@router.post("/evaluation/{campaign_id}/close")
def campaign_close(request: Request, session: DB, viewer: Actor, campaign_id: int) -> Response:
    """Close a campaign before its last day (no more answers), as the daily tick closes it after."""
    from models import campaigns as store
    from models.evaluation import Campaign, CampaignStatus

    if not viewer.scope.whole_area:
        raise not_allowed()
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found()
    if campaign.status != CampaignStatus.CLOSED:
        store.close(session, campaign, viewer.now)
        audit_action(
            session,
            now=viewer.now,
            person_id=viewer.person.id or 0,
            action="dashboard_campaign_close",
            entity_type="campaign",
            entity_id=str(campaign_id),
        )
        session.commit()
    return RedirectResponse(f"/dashboard/evaluation/{campaign_id}?saved=closed", status_code=303)


@router.get("/evaluation/{campaign_id}")
def campaign_page(
    request: Request, session: DB, viewer: CurrentViewer, campaign_id: int, saved: str = "", n: int = 0
) -> HTMLResponse:
    from dashboard import evaluation
    from models.campaigns import campaign_results

    if not viewer.scope.whole_area:
        raise not_allowed()
    row = next((r for r in evaluation.campaign_rows(session) if r.campaign.id == campaign_id), None)
    results = campaign_results(session, campaign_id) if row else None
    if row is None or results is None:
        raise not_found()
    return render(
        request,
        "campaign.html",
        viewer,
        row=row,
        campaign=row.campaign,
        results=results,
        texts_shown=evaluation.TEXTS_SHOWN,
        saved=saved,
        n=n,
    )


def _setup(request: Request) -> Any:
    from scheduler.service import tick_setup

    return tick_setup(request.app.state.settings, holder="dashboard")


@router.get("/messages")
def messages_page(
    request: Request, session: DB, viewer: CurrentViewer, forecast: str = "", saved: str = "", n: int = 0
) -> HTMLResponse:
    from dashboard import activity

    settings = request.app.state.settings
    today = today_of(request)
    found = activity.activity(session, viewer.scope, today, settings.tz, settings.monthly_message_quota)
    ahead = activity.forecast(session, today, _setup(request)) if forecast else None
    return render(
        request,
        "messages.html",
        viewer,
        activity=found,
        forecast=ahead,
        today=today,
        month_end=activity.month_end(today),
        saved=saved,
        n=n,
    )


def _office_for_action(session: Session, viewer: Viewer, code: str) -> Any:
    from sqlmodel import select

    from models.org import Office

    if not viewer.can_act:
        raise Refused(403, text.NOT_ALLOWED_TITLE, text.ACTIONS_NOT_ALLOWED)
    office = session.exec(select(Office).where(Office.code == code.strip())).first()
    if office is None:
        raise Refused(404, text.NOT_FOUND_TITLE, text.unknown_office(code.strip()))
    if not viewer.scope.allows_office(session, office.id or 0):
        raise not_allowed()
    return office


@router.get("/actions/remind")
def remind_preview(request: Request, session: DB, viewer: CurrentViewer, office: str = "") -> HTMLResponse:
    from dashboard import activity

    target = _office_for_action(session, viewer, office)
    settings = request.app.state.settings
    today = today_of(request)
    recipients = activity.school_reminders(session, target.id, today, _setup(request).calendar)
    found = activity.activity(session, viewer.scope, today, settings.tz, settings.monthly_message_quota)
    return render(request, "remind.html", viewer, office=target, recipients=recipients, activity=found)


@router.post("/actions/remind")
def remind(
    request: Request,
    session: DB,
    viewer: Actor,
    office: Annotated[str, Form()] = "",
) -> Response:
    from dashboard import activity

    target = _office_for_action(session, viewer, office)
    setup = _setup(request)
    today = today_of(request)
    recipients = activity.school_reminders(session, target.id, today, setup.calendar)
    queued = activity.remind_now(session, target.id, recipients, today, viewer.now, setup)
    audit_action(
        session,
        now=viewer.now,
        person_id=viewer.person.id or 0,
        action="dashboard_remind_now",
        entity_type="office",
        entity_id=str(target.id),
        messages=queued,
    )
    session.commit()
    return RedirectResponse(f"/dashboard/messages?saved=reminded&n={queued}", status_code=303)


@router.post("/actions/link-codes")
def link_codes(
    request: Request,
    session: DB,
    viewer: Actor,
    office: Annotated[str, Form()] = "",
) -> Response:
    from tidtam.commands.linking import issue_office_codes

    target = _office_for_action(session, viewer, office)
    folder = _scratch("tidtam-codes-")
    path = folder / f"link-codes-{target.code}.xlsx"
    count = issue_office_codes(
        request.app.state.engine, target.code, path, now=viewer.now, tz=request.app.state.settings.tz
    )
    audit_action(
        session,
        now=viewer.now,
        person_id=viewer.person.id or 0,
        action="dashboard_link_codes",
        entity_type="office",
        entity_id=str(target.id),
        codes=count,
    )
    session.commit()

    return _download(folder, path, _DOWNLOADS["xlsx"][1], path.name)


def install_dashboard(app: FastAPI) -> None:
    """Mount the dashboard's routes and its refusal pages on the service's app."""

    @app.exception_handler(Refused)
    def _refused(request: Request, exc: Refused) -> HTMLResponse:
        return render(request, "refused.html", None, exc.status, title=exc.title, body=exc.body)

    app.state.dashboard_stuck_counts = {}  # see _stuck_count
    app.include_router(router)
