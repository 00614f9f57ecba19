"""What the database already holds, loaded once per import and keyed by code.

States are the same tuples as ``records.*Row.state()`` (references as codes), so "unchanged" is plain
tuple equality; ids are kept beside them for the writes. Projects and indicators (hundreds of
thousands of rows) keep only the ``hash`` of their state, which is all the comparison needs and a
fraction of the memory; equal values hash equal (``Decimal("80") == Decimal("80.0000")``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models import (
    FiscalYear,
    Indicator,
    Office,
    Person,
    Project,
    ProjectOwner,
    ProjectStrategy,
    ReportingPeriod,
    Strategy,
)

OFFICE = Office.__table__
PERSON = Person.__table__
STRATEGY = Strategy.__table__
PROJECT = Project.__table__
PROJECT_OWNER = ProjectOwner.__table__
PROJECT_STRATEGY = ProjectStrategy.__table__
INDICATOR = Indicator.__table__
FISCAL_YEAR = FiscalYear.__table__
REPORTING_PERIOD = ReportingPeriod.__table__


@dataclass
class Existing:
    """Rows already stored: code → (id, state); for projects and indicators, (id, hash of state, ...)."""

    offices: dict[str, tuple[int, tuple[object, ...]]] = field(default_factory=dict)
    people: dict[str, tuple[int, tuple[object, ...]]] = field(default_factory=dict)
    strategies: dict[str, tuple[int, tuple[object, ...]]] = field(default_factory=dict)
    # code → (id, hash(state), hash(owner codes), hash(strategy codes))
    projects: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    indicators: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    fiscal_years: set[int] = field(default_factory=set)
    periods: set[tuple[int, int]] = field(default_factory=set)

    def person_roles(self, code: str) -> str | None:
        found = self.people.get(code)
        return None if found is None else str(found[1][3])


def _codes(conn: Connection, table: sa.Table) -> dict[int, str]:
    return {id_: code for id_, code in conn.execute(sa.select(table.c.id, table.c.code))}


def _streamed(query: sa.Select) -> sa.Select:  # type: ignore[type-arg]
    """Fetch in batches (a server-side cursor on PostgreSQL), not the whole result at once."""
    return query.execution_options(yield_per=10_000)


def load_existing(conn: Connection) -> Existing:
    """Read every row the import could touch, once, streaming (a server-side cursor on PostgreSQL)."""
    found = Existing()
    office_codes = _codes(conn, OFFICE)
    for id_, code, name, kind, parent_id in conn.execute(
        sa.select(OFFICE.c.id, OFFICE.c.code, OFFICE.c.name, OFFICE.c.kind, OFFICE.c.parent_id)
    ):
        found.offices[code] = (id_, (name, kind, office_codes.get(parent_id)))

    person_codes = _codes(conn, PERSON)
    p = PERSON.c
    for id_, code, full_name, position, office_id, roles in conn.execute(
        sa.select(p.id, p.code, p.full_name, p.position, p.office_id, p.roles)
    ):
        found.people[code] = (id_, (full_name, position, office_codes[office_id], roles))

    strategy_codes = _codes(conn, STRATEGY)
    s = STRATEGY.c
    for id_, code, level, title, parent_id in conn.execute(
        sa.select(s.id, s.code, s.level, s.title, s.parent_id)
    ):
        found.strategies[code] = (id_, (level, title, strategy_codes.get(parent_id)))

    owners: dict[int, list[str]] = defaultdict(list)
    o = PROJECT_OWNER.c
    for project_id, person_id in conn.execute(
        _streamed(sa.select(o.project_id, o.person_id).order_by(o.project_id, o.position, o.person_id))
    ):
        owners[project_id].append(person_codes[person_id])
    links: dict[int, set[str]] = defaultdict(set)
    for project_id, strategy_id in conn.execute(
        _streamed(sa.select(PROJECT_STRATEGY.c.project_id, PROJECT_STRATEGY.c.strategy_id))
    ):
        links[project_id].add(strategy_codes[strategy_id])

    project_codes: dict[int, str] = {}
    c = PROJECT.c
    query = sa.select(
        c.id,
        c.code,
        c.fiscal_year,
        c.name,
        c.office_id,
        c.approver_id,
        c.budget_satang,
        c.starts_on,
        c.ends_on,
        c.emenscr_id,
    )
    for id_, code, fy, name, office_id, approver_id, budget, starts, ends, emenscr in conn.execute(
        _streamed(query)
    ):
        project_codes[id_] = code
        owner_codes, strategy_codes = tuple(owners.pop(id_, ())), frozenset(links.pop(id_, ()))
        approver = person_codes.get(approver_id)
        state = (
            fy,
            name,
            office_codes[office_id],
            approver,
            budget,
            starts,
            ends,
            emenscr,
            owner_codes,
            strategy_codes,
        )
        found.projects[code] = (id_, hash(state), hash(owner_codes), hash(strategy_codes))

    i = INDICATOR.c
    for id_, project_id, code, name, unit, target, kind, position in conn.execute(
        _streamed(sa.select(i.id, i.project_id, i.code, i.name, i.unit, i.target, i.kind, i.position))
    ):
        found.indicators[(project_codes[project_id], code)] = (
            id_,
            hash((name, unit, target, kind, position)),
        )

    found.fiscal_years = set(conn.execute(sa.select(FISCAL_YEAR.c.year)).scalars())
    r = REPORTING_PERIOD.c
    found.periods = {(fy, q) for fy, q in conn.execute(sa.select(r.fiscal_year, r.quarter))}
    return found
