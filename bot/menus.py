"""Menus by role: which commands a person has, and the answers of the director's and planner's commands.

A person's roles come from the data: a reporter owns projects this fiscal year (or has the role), a
director has the approver role, is a project's named approver, or acts for one today; a planner has the
planner role. Someone may hold several (a director who owns projects also reports).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import date
from functools import cache

from sqlmodel import Session, col, select

from bot import rich_menus
from bot.context import EventContext
from messages import menus as text
from messages.menus import MenuRole
from models.linking import LinkedPerson
from models.messaging import ChatBinding
from models.org import Office, Person
from models.overview import (
    area_counts,
    area_root,
    director_projects,
    not_submitted,
    offices_under,
    role_facts,
)
from models.projects import OpenPeriod, open_period
from models.reporting import person_projects
from models.rich_menus import RichMenu
from models.types import OfficeKind, Role
from scheduler.fiscal import FiscalQuarter, fiscal_year_of, quarter_containing


def roles_of(session: Session, person: Person | LinkedPerson | None, on: date) -> tuple[MenuRole, ...]:
    if person is None or person.id is None:
        return (MenuRole.UNLINKED,)
    if isinstance(person, LinkedPerson) and person.on == on:  # read with the person: no round trip
        return _roles(person, person.acting, person.approves, person.owns)
    return _roles(person, *role_facts(session, person.id, on, fiscal_year_of(on)))


def _roles(person: Person | LinkedPerson, acting: bool, approves: bool, owns: bool) -> tuple[MenuRole, ...]:
    roles: list[MenuRole] = []
    if person.has_role(Role.APPROVER) or acting or approves:  # is_director
        roles.append(MenuRole.DIRECTOR)
    if person.has_role(Role.PLANNER):
        roles.append(MenuRole.PLANNER)
    if person.has_role(Role.REPORTER) or owns or not roles:
        roles.insert(0, MenuRole.REPORTER)
    return tuple(roles)


def owns_projects(session: Session, person: Person, on: date) -> bool:
    return bool(person_projects(session, person.id or 0, fiscal_year_of(on)))


def _today(ctx: EventContext) -> date:
    return ctx.now.astimezone(ctx.tz).date()


def roles(ctx: EventContext) -> tuple[MenuRole, ...]:
    """The roles of the person in `ctx`, read once per event."""
    cached = getattr(ctx, "_menu_roles", None)
    if cached is None:
        cached = roles_of(ctx.session, ctx.person, _today(ctx))
        ctx._menu_roles = cached  # type: ignore[attr-defined]
    return cached  # type: ignore[no-any-return]


def labels(ctx: EventContext) -> tuple[str, ...]:
    return text.labels(roles(ctx))


# Databases known to have rich menus set up. Once `tidtam line setup` has made them they stay (a later
# change is found by `link_for`), so only "none yet" is asked again on every event.
_MENUS_SET_UP: weakref.WeakSet[object] = weakref.WeakSet()


def keep_rich_menu(ctx: EventContext, *, just_linked: bool = False) -> None:
    """Show the person the rich menu of the roles they hold now (on linking, and after a role change)."""
    if ctx.person is None or ctx.line is None:
        return
    person = ctx.person
    # What the lookup read with the person tells whether anything is to be done (mostly not).
    if (
        isinstance(person, LinkedPerson)
        and not just_linked
        and (not person.menus_set_up or person.menu_linked == _menu_name(roles(ctx)))
    ):
        return
    bind = ctx.session.get_bind()
    if bind not in _MENUS_SET_UP:
        if ctx.session.exec(select(RichMenu.key)).first() is None:
            return  # no rich menus set up (`tidtam line setup` not run): nothing to link
        _MENUS_SET_UP.add(bind)
    rich_menus.link_for(ctx.session, ctx.line, ctx.person, roles(ctx), ctx.now, force=just_linked)


@cache
def _menu_name(roles: tuple[MenuRole, ...]) -> str:
    """The name of the rich menu of `roles` as declared now (it changes when the menu does)."""
    from messages.rich_menus import spec_for

    return spec_for(roles).name


def address(ctx: EventContext) -> str:
    return text.address(roles(ctx), ctx.person.full_name if ctx.person else "")


def reply_help(ctx: EventContext) -> None:
    ctx.reply(text.help_for(roles(ctx), ctx.person.full_name if ctx.person else ""))


# --- the period everything is about ----------------------------------------------------------------


Due = Callable[
    [date, int, date], date
]  # (quarter end, office, stored) → deadline: EventContext.report_due_on


_UNREAD = object()


def _period(
    session: Session, today: date, due: Due | None = None, office_id: int = 0, read: object = _UNREAD
) -> tuple[FiscalQuarter, date | None, int | None, int]:
    """The quarter people report on today, its deadline (the one reminders use), its id and fiscal year.
    `read`: the open period already read (`EventContext.open_period`)."""
    period: OpenPeriod | None = open_period(session, today) if read is _UNREAD else read  # type: ignore[assignment]
    if period is None:
        quarter = quarter_containing(today)
        return quarter, None, None, quarter.fiscal_year
    quarter = FiscalQuarter(period.fiscal_year, period.quarter)
    due_on = due(period.ends_on, office_id, period.due_on) if due is not None else period.due_on
    return quarter, due_on, period.id, period.fiscal_year


# --- the director ------------------------------------------------------------------------------------


def reply_school_status(ctx: EventContext) -> None:
    """`สถานะโรงเรียน`: the director's office, project by project; an area director's is the whole area."""
    assert ctx.person is not None
    person = ctx.person
    if isinstance(person, LinkedPerson) and person.office_kind is not None:
        kind, name = person.office_kind, person.office_name  # read with the person: no round trip
    else:
        office = ctx.session.get(Office, person.office_id)
        kind, name = (office.kind, office.name) if office is not None else (None, None)
    if kind == OfficeKind.AREA_OFFICE:
        reply_area_overview(ctx)
        return
    today = _today(ctx)
    quarter, due_on, period_id, fiscal_year = _period(
        ctx.session, today, ctx.report_due_on, person.office_id, ctx.open_period()
    )
    rows = director_projects(ctx.session, person, fiscal_year, period_id, today)
    states = [text.ProjectState(r.code, r.name, r.status, r.owners, r.progress_pct) for r in rows]
    ctx.reply(text.school_status(name or "", quarter, due_on, states, labels(ctx)))


# --- the planning group ------------------------------------------------------------------------------


def overview_message(
    session: Session,
    office_id: int,
    today: date,
    menu: tuple[str, ...],
    due: Due | None = None,
    read: object = _UNREAD,
):  # type: ignore[no-untyped-def]
    root = area_root(session, office_id)
    quarter, due_on, period_id, fiscal_year = _period(session, today, due, office_id, read)
    if root is None or root.id is None:
        return text.area_overview("", quarter, due_on, [], menu)
    counts = area_counts(session, root.id, fiscal_year, period_id)
    offices = [text.OfficeLine(c.office_name, c.total, c.waiting, c.by_status) for c in counts]
    return text.area_overview(root.name, quarter, due_on, offices, menu)


def not_submitted_message(
    session: Session,
    office_id: int,
    today: date,
    menu: tuple[str, ...],
    due: Due | None = None,
    read: object = _UNREAD,
):  # type: ignore[no-untyped-def]
    root = area_root(session, office_id)
    quarter, due_on, period_id, fiscal_year = _period(session, today, due, office_id, read)
    if root is None or root.id is None:
        return text.not_submitted(quarter, due_on, [], 0, menu)
    rows, total = not_submitted(session, root.id, fiscal_year, period_id, limit=text.MAX_LINES)
    listed = [(name, text.ProjectState(r.code, r.name, r.status, r.owners)) for name, r in rows]
    return text.not_submitted(quarter, due_on, listed, total, menu)


def reply_area_overview(ctx: EventContext) -> None:
    assert ctx.person is not None
    ctx.reply(
        overview_message(
            ctx.session, ctx.person.office_id, _today(ctx), labels(ctx), ctx.report_due_on, ctx.open_period()
        )
    )


def reply_not_submitted(ctx: EventContext) -> None:
    assert ctx.person is not None
    ctx.reply(
        not_submitted_message(
            ctx.session, ctx.person.office_id, _today(ctx), labels(ctx), ctx.report_due_on, ctx.open_period()
        )
    )


def reply_contact(ctx: EventContext) -> None:
    assert ctx.person is not None
    root = area_root(ctx.session, ctx.person.office_id)
    planners: list[tuple[str, str]] = []
    if root is not None and root.id is not None:
        offices = list(offices_under(ctx.session, root.id))
        people = ctx.session.exec(
            select(Person)
            .where(col(Person.office_id).in_(offices), col(Person.active).is_(True))
            .order_by(col(Person.code))
        )
        planners = [(p.full_name, p.position) for p in people if p.has_role(Role.PLANNER)]
    ctx.reply(text.contact(root.name if root else "", planners, labels(ctx)))


def group_binding(session: Session, chat_id: str | None) -> ChatBinding | None:
    if chat_id is None:
        return None
    return session.exec(
        select(ChatBinding).where(ChatBinding.chat_id == chat_id, col(ChatBinding.active).is_(True))
    ).first()
