"""The quarterly progress report (the manual's M6 step), declared as data for the form engine."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Protocol

from sqlmodel import Session

from bot.forms.spec import Answers, Choice, Confirm, Field, Form, Item, Kind
from messages import report_form as txt
from messages.errors import InputError
from messages.vocabulary import QUARTER_WORDS
from models.plan import ReportingPeriod
from models.reporting import (
    PeriodChoice,
    ProjectFacts,
    ProjectRef,
    person_projects_and_drafts,
    previous_quarter_answers,
    project_facts,
    reportable_periods,
)
from models.types import ImplementationStatus
from scheduler.fiscal import FiscalQuarter, fiscal_year_of

FORM_NAME = "quarterly_report"


class ReportFacts(Protocol):
    today: date

    def projects(self) -> Sequence[ProjectRef]: ...

    def project(self, project_id: int) -> ProjectFacts | None: ...

    def periods(self, project_id: int) -> Sequence[PeriodChoice]: ...

    def previous(self, project_id: int, period_id: int) -> dict[str, Any] | None: ...

    def _due(self, facts: ProjectFacts) -> Callable[[ReportingPeriod], date] | None:
        due = self.due
        return None if due is None else (lambda period: due(period, facts.office_id))

    def period(self, period_id: int) -> ReportingPeriod | None:
        key = ("period", period_id)
        if key not in self.fixed:
            self.fixed[key] = self.session.get(ReportingPeriod, period_id)
        return self.fixed[key]  # type: ignore[no-any-return]

    def drafts(self) -> set[int]: ...


@dataclass
class DbReportFacts:
    """ReportFacts read from the database for one person, cached for the length of one step."""

    session: Session
    person_id: int
    today: date
    due: Callable[[ReportingPeriod, int], date] | None = None  # (period, office) → the one deadline
    _cache: dict[Any, Any] = field(default_factory=dict)
    # What no step of the form changes (a project and its indicators, a period), kept for the whole
    # event when the caller passes one dict to every step's facts.
    fixed: dict[Any, Any] = field(default_factory=dict)
    # The person's projects and drafts as read with them (models.linking.sender_of's with_drafts, for
    # the same day), taken instead of reading them; None: read here.
    projects_read: tuple[Sequence[ProjectRef], frozenset[int]] | None = None

    def _memo(self, key: Any, make: Any) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def _projects_and_drafts(self) -> tuple[list[ProjectRef], set[int]]:
        fiscal_year = fiscal_year_of(self.today)
        read = self.projects_read
        if read is not None:
            return self._memo(("projects",), lambda: (list(read[0]), set(read[1])))  # type: ignore[no-any-return]
        return self._memo(  # type: ignore[no-any-return]
            ("projects",), lambda: person_projects_and_drafts(self.session, self.person_id, fiscal_year)
        )

    def projects(self) -> Sequence[ProjectRef]:
        return self._projects_and_drafts()[0]

    def project(self, project_id: int) -> ProjectFacts | None:
        key = ("project", project_id)
        if key not in self.fixed:
            self.fixed[key] = project_facts(self.session, project_id)
        return self.fixed[key]  # type: ignore[no-any-return]

    def periods(self, project_id: int) -> Sequence[PeriodChoice]:
        facts = self.project(project_id)
        if facts is None:
            return []
        return self._memo(  # type: ignore[no-any-return]
            ("periods", project_id),
            lambda: reportable_periods(
                self.session, project_id, facts.fiscal_year, self.today, self._due(facts)
            ),
        )

    def _due(self, facts: ProjectFacts) -> Callable[[ReportingPeriod], date] | None:
        due = self.due
        return None if due is None else (lambda period: due(period, facts.office_id))

    def period(self, period_id: int) -> ReportingPeriod | None:
        key = ("period", period_id)
        if key not in self.fixed:
            self.fixed[key] = self.session.get(ReportingPeriod, period_id)
        return self.fixed[key]  # type: ignore[no-any-return]

    def drafts(self) -> set[int]:
        """The person's projects with a draft waiting: offered first when the report form starts."""
        return self._projects_and_drafts()[1]

    def previous(self, project_id: int, period_id: int) -> dict[str, Any] | None:
        return self._memo(  # type: ignore[no-any-return]
            ("previous", project_id, period_id),
            lambda: previous_quarter_answers(self.session, project_id, period_id),
        )


# --- helpers over the answers ----------------------------------------------------------------------


def _project(answers: Answers, facts: ReportFacts) -> ProjectFacts | None:
    value = answers.get("project")
    return facts.project(int(value)) if value else None


def _previous(answers: Answers, facts: ReportFacts) -> dict[str, Any] | None:
    if not answers.get("project") or not answers.get("period"):
        return None
    return facts.previous(int(answers["project"]), int(answers["period"]))


def _previous_value(name: str) -> Any:
    def default(answers: Answers, facts: ReportFacts, item: Item | None) -> Any:
        previous = _previous(answers, facts) or {}
        value = previous.get(name)
        if item is not None:
            value = (value or {}).get(item.key)
        return None if isinstance(value, dict) else value

    return default


# --- choices ---------------------------------------------------------------------------------------


def _drafts(facts: ReportFacts) -> set[int]:
    drafts = getattr(facts, "drafts", None)  # facts of older tests have none
    return drafts() if drafts is not None else set()


def project_choices(answers: Answers, facts: ReportFacts) -> list[Choice]:
    """The person's projects; those with a draft waiting come first, marked, so finishing one is one tap.
    Made once per step of `DbReportFacts` (what it is made of is read once per step; the engine asks
    for the choices at several points of one step)."""
    memo = getattr(facts, "_memo", None)
    if memo is None:
        return _project_choices(facts)
    return list(memo(("project_choices",), lambda: _project_choices(facts)))


def _project_choices(facts: ReportFacts) -> list[Choice]:
    waiting = _drafts(facts)
    projects = sorted(facts.projects(), key=lambda p: p.id not in waiting)
    labels = txt.project_buttons([(p.code, p.name, p.id in waiting) for p in projects])
    return [
        Choice(str(p.id), txt.project_label(p.code, p.name), (p.code, p.name), button=label)
        for p, label in zip(projects, labels, strict=True)
    ]


def period_choices(answers: Answers, facts: ReportFacts) -> list[Choice]:
    project = answers.get("project")
    if not project:
        return []
    choices = []
    for p in facts.periods(int(project)):
        quarter = FiscalQuarter(p.fiscal_year, p.quarter)
        label = txt.period_label(quarter, p.due_on, p.returned, p.late)
        choices.append(
            Choice(
                str(p.period_id), label, (f"{p.quarter}", f"q{p.quarter}", f"{QUARTER_WORDS[0]} {p.quarter}")
            )
        )
    return choices


def default_period(answers: Answers, facts: ReportFacts, item: Item | None) -> str | None:
    """The open period: the earliest one not yet past due, else the latest that has started."""
    project = answers.get("project")
    if not project:
        return None
    periods = list(facts.periods(int(project)))
    if not periods:
        return None
    open_now = [p for p in periods if p.due_on >= facts.today]
    chosen = open_now[0] if open_now else periods[-1]
    return str(chosen.period_id)


def status_choices(answers: Answers, facts: ReportFacts) -> list[Choice]:
    return [
        Choice(s.value, txt.STATUS_LABELS[s.value], txt.STATUS_KEYWORDS.get(s.value, ()))
        for s in ImplementationStatus
    ]


def indicator_items(answers: Answers, facts: ReportFacts) -> list[Item]:
    project = _project(answers, facts)
    if project is None:
        return []
    return [
        Item(str(i.id), i.name, txt.indicator_detail(i.target, i.unit), i.unit) for i in project.indicators
    ]


# --- checks ----------------------------------------------------------------------------------------


def check_progress(value: Any, answers: Answers, facts: ReportFacts, item: Item | None) -> Confirm | None:
    progress = Decimal(str(value))
    previous = (_previous(answers, facts) or {}).get("progress")
    if previous is not None and progress < Decimal(str(previous)):
        return Confirm(txt.progress_lower(Decimal(str(previous)), progress))
    if answers.get("status") == ImplementationStatus.COMPLETED and progress < 100:
        return Confirm(txt.progress_not_full_but_completed(progress))
    return None


def check_budget(value: Any, answers: Answers, facts: ReportFacts, item: Item | None) -> Confirm | None:
    project = _project(answers, facts)
    amount = int(value)
    if project is not None and amount > project.budget_satang:
        return Confirm(txt.budget_over(amount, project.budget_satang))
    previous = (_previous(answers, facts) or {}).get("budget")
    if isinstance(previous, int) and amount < previous:
        return Confirm(txt.budget_lower(amount, previous))
    return None


def check_indicator(value: Any, answers: Answers, facts: ReportFacts, item: Item | None) -> Confirm | None:
    if Decimal(str(value)) < 0:
        raise InputError(txt.indicator_negative(), "")
    return None


# --- prompts ---------------------------------------------------------------------------------------


def _prompt_project(answers: Answers, facts: ReportFacts, item: Item | None) -> str:
    return txt.ask_project(len(facts.projects()), len(_drafts(facts)))


def _prompt_period(answers: Answers, facts: ReportFacts, item: Item | None) -> str:
    project = _project(answers, facts)
    return txt.ask_period(txt.project_label(project.code, project.name) if project else "")


def _prompt_status(answers: Answers, facts: ReportFacts, item: Item | None) -> str:
    """The status question, the first of the report proper: which quarter, its months and its deadline."""
    chosen = (
        next(
            (
                p
                for p in facts.periods(int(answers["project"]))
                if str(p.period_id) == str(answers.get("period"))
            ),
            None,
        )
        if answers.get("project")
        else None
    )
    if chosen is not None and chosen.starts_on is not None and chosen.ends_on is not None:
        starts_on, ends_on = chosen.starts_on, chosen.ends_on  # read with the periods: no round trip
    else:
        period = getattr(facts, "period", lambda _id: None)(chosen.period_id) if chosen else None
        if chosen is None or period is None:
            return txt.ask_status()
        starts_on, ends_on = period.starts_on, period.ends_on
    quarter = FiscalQuarter(chosen.fiscal_year, chosen.quarter)
    return txt.ask_status(txt.quarter_line(quarter, starts_on, ends_on, chosen.due_on))


def _prompt_progress(answers: Answers, facts: ReportFacts, item: Item | None) -> str:
    previous = (_previous(answers, facts) or {}).get("progress")
    return txt.ask_progress(Decimal(str(previous)) if previous is not None else None)


def _prompt_budget(answers: Answers, facts: ReportFacts, item: Item | None) -> str:
    project = _project(answers, facts)
    previous = (_previous(answers, facts) or {}).get("budget")
    return txt.ask_budget(
        project.budget_satang if project else 0, previous if isinstance(previous, int) else None
    )


def _fixed(text: str) -> Any:
    return lambda answers, facts, item: text


def _started(answers: Answers, facts: ReportFacts) -> bool:
    return answers.get("status") not in (None, ImplementationStatus.NOT_STARTED)


def _under_way(answers: Answers, facts: ReportFacts) -> bool:
    """Activities and indicator results: asked once a project has started (not for "not started")."""
    return answers.get("status") != ImplementationStatus.NOT_STARTED


def _cancelled(answers: Answers, facts: ReportFacts) -> bool:
    return answers.get("status") == ImplementationStatus.CANCELLED


L = txt.LABELS

QUARTERLY_REPORT = Form(
    name=FORM_NAME,
    title=txt.TITLE,
    help_text=txt.HELP,
    fields=(
        Field(
            "project",
            Kind.CHOICE,
            L["project"],
            _prompt_project,
            choices=project_choices,
            auto_single=True,
            searchable=True,
        ),
        Field(
            "period",
            Kind.CHOICE,
            L["period"],
            _prompt_period,
            choices=period_choices,
            auto_single=True,
            default=default_period,
            depends_on=("project",),
            empty_note=txt.nothing_to_report_note(),
        ),
        Field(
            "status",
            Kind.CHOICE,
            L["status"],
            _prompt_status,
            choices=status_choices,
            default=_previous_value("status"),
            depends_on=("project",),
        ),
        Field(
            "status_reason",
            Kind.LONG_TEXT,
            L["status_reason"],
            _fixed(txt.ask_status_reason()),
            when=_cancelled,
            default=_previous_value("status_reason"),
        ),
        Field(
            "progress",
            Kind.PERCENT,
            L["progress"],
            _prompt_progress,
            when=_started,
            default=_previous_value("progress"),
            check=check_progress,
            depends_on=("project",),
        ),
        Field(
            "budget",
            Kind.MONEY,
            L["budget"],
            _prompt_budget,
            default=_previous_value("budget"),
            check=check_budget,
            depends_on=("project",),
        ),
        Field(
            "indicators",
            Kind.NUMBER,
            L["indicators"],
            lambda a, f, item: txt.ask_indicator(item.title if item else ""),
            items=indicator_items,
            when=_under_way,
            default=_previous_value("indicators"),
            check=check_indicator,
            depends_on=("project",),
        ),
        Field("activities", Kind.LONG_TEXT, L["activities"], _fixed(txt.ask_activities()), when=_under_way),
        Field(
            "problems",
            Kind.LONG_TEXT,
            L["problems"],
            _fixed(txt.ask_problems()),
            optional=True,
            default=_previous_value("problems"),
        ),
        Field(
            "suggestions",
            Kind.LONG_TEXT,
            L["suggestions"],
            _fixed(txt.ask_suggestions()),
            optional=True,
            default=_previous_value("suggestions"),
        ),
        Field(
            "photos",
            Kind.PHOTO,
            L["photos"],
            _fixed(txt.ask_photos()),
            optional=True,
            max_photos=5,
            depends_on=("project", "period"),
        ),
    ),
)
