"""The simulated office: a scratch database holding a generated office (or a copy of a real one's
structure), its people linked to LINE accounts on the emulator; the planning group's messages go to its
head of monitoring (the generated office has one), or, with ``planning_chat``, to a bound LINE group.

Nothing here touches the configured database except to read an office from it (``copy_office``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models import ChatBinding, Office, Person, Project, ProjectOwner, SQLModel
from models.types import ChatType, OfficeKind, Reachability
from scheduler.clock import FixedClock
from scheduler.fiscal import fiscal_year_bounds

__all__ = ["OFFICE_TABLES", "Member", "World", "copy_office", "generate_office", "link_everyone"]

# The tables that make an office (its structure and plan), copied from a real database in this order.
OFFICE_TABLES = (
    "office",
    "person",
    "fiscal_year",
    "reporting_period",
    "strategy",
    "project",
    "project_owner",
    "project_strategy",
    "indicator",
    "office_holiday",
    "acting_approver",
)
UNLINKED_SHARE = 0.02  # people who never link their LINE account
PLANNING_GROUP_MEMBERS = 4  # people in the planning group's LINE chat (a group push counts each)


@dataclass(frozen=True)
class Member:
    """A person of the office as the simulation sees them."""

    id: int
    code: str
    roles: frozenset[str]
    office_id: int
    line_user_id: str | None

    @property
    def reporter(self) -> bool:
        """Reports on projects and decides nothing: the people the per-quarter figure is about."""
        return "reporter" in self.roles and not ({"approver", "planner"} & self.roles)


@dataclass
class World:
    """Who is who in the simulated office."""

    members: dict[int, Member] = field(default_factory=dict)
    by_line_id: dict[str, Member] = field(default_factory=dict)
    planning_chat: str | None = None
    schools: int = 0

    @classmethod
    def read(cls, engine: Engine) -> World:
        people: sa.Table = Person.__table__  # type: ignore[attr-defined]
        offices: sa.Table = Office.__table__  # type: ignore[attr-defined]
        bindings: sa.Table = ChatBinding.__table__  # type: ignore[attr-defined]
        world = cls()
        with engine.connect() as conn:
            for row in conn.execute(
                sa.select(
                    people.c.id, people.c.code, people.c.roles, people.c.office_id, people.c.line_user_id
                ).where(people.c.active.is_(True))
            ):
                member = Member(
                    row.id, row.code, frozenset(row.roles.split(",")), row.office_id, row.line_user_id
                )
                world.members[member.id] = member
                if member.line_user_id:
                    world.by_line_id[member.line_user_id] = member
            world.planning_chat = conn.execute(
                sa.select(bindings.c.chat_id).where(bindings.c.active.is_(True)).order_by(bindings.c.id)
            ).scalar()
            world.schools = int(
                conn.execute(
                    sa.select(sa.func.count()).where(offices.c.kind == OfficeKind.SCHOOL.value)
                ).scalar_one()
            )
        return world


def generate_office(engine: Engine, schools: int, fiscal_year: int, seed: int) -> None:
    """Load the demo generator's office (``tidtam demo-data``) into the empty scratch database."""
    from tidtam.workbook import demo as demo_data
    from tidtam.workbook import import_source

    start, _end = fiscal_year_bounds(fiscal_year)
    clock = FixedClock(datetime.combine(start, time(0), tzinfo=UTC))
    source, _counts = demo_data.demo_source(schools, seed, fiscal_year)
    result = import_source(source, engine, clock, label=f"simulation-{schools}")
    if getattr(result, "errors", None):
        raise RuntimeError(f"the generated office did not import: {result.errors[:3]}")


def copy_office(source: Engine, target: Engine) -> None:
    """Copy an office's structure and plan (no reports, no chats) from ``source`` into ``target``.
    LINE ids are not copied: the simulated people get emulator accounts."""
    tables = SQLModel.metadata.tables
    with source.connect() as read, target.begin() as write:
        for name in OFFICE_TABLES:
            table = tables.get(name)
            if table is None:
                continue
            rows = [dict(r._mapping) for r in read.execute(sa.select(table))]
            if name == "person":
                for row in rows:
                    row.update(line_user_id=None, reachability=Reachability.UNLINKED.value, linked_at=None)
            if rows:
                write.execute(table.insert(), rows)
        if target.dialect.name == "postgresql":
            for name in OFFICE_TABLES:
                if name in tables and "id" in tables[name].c:
                    write.execute(
                        sa.text(
                            f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                            f'(SELECT COALESCE(MAX(id), 0) + 1 FROM "{name}"), false)'
                        )
                    )


def link_everyone(
    engine: Engine, rng: random.Random, on: date, line: object | None, *, planning_chat: bool = False
) -> None:
    """Give every person (but a few, who never link) a LINE account, and (``planning_chat``) bind a
    LINE group to the planning group of each area office. ``line``: the emulator, told about the
    accounts and groups."""
    from tidtam.emulator import new_group_id, new_user_id

    people: sa.Table = Person.__table__  # type: ignore[attr-defined]
    offices: sa.Table = Office.__table__  # type: ignore[attr-defined]
    owners: sa.Table = ProjectOwner.__table__  # type: ignore[attr-defined]
    projects: sa.Table = Project.__table__  # type: ignore[attr-defined]
    bindings: sa.Table = ChatBinding.__table__  # type: ignore[attr-defined]
    at = datetime.combine(on, time(0), tzinfo=UTC)
    with engine.begin() as conn:
        deciders = set(conn.execute(sa.select(projects.c.approver_id).distinct()).scalars())
        owners_ = set(conn.execute(sa.select(owners.c.person_id).distinct()).scalars())
        updates = []
        for person_id, roles in conn.execute(sa.select(people.c.id, people.c.roles).order_by(people.c.id)):
            keep_out = person_id not in deciders and "planner" not in roles and rng.random() < UNLINKED_SHARE
            if keep_out and person_id in owners_:
                continue
            uid = new_user_id()
            updates.append({"pid": person_id, "uid": uid})
            if line is not None:
                line.add_user(f"person {person_id}", user_id=uid)  # type: ignore[attr-defined]
        conn.execute(
            people.update()
            .where(people.c.id == sa.bindparam("pid"))
            .values(
                line_user_id=sa.bindparam("uid"), reachability=Reachability.FOLLOWING.value, linked_at=at
            ),
            updates,
        )
        if not planning_chat:
            return
        planning = (
            conn.execute(
                sa.select(offices.c.id, offices.c.parent_id).where(offices.c.code.like("%-PLAN"))
            ).all()
            or conn.execute(
                sa.select(offices.c.id, offices.c.parent_id).where(
                    offices.c.kind == OfficeKind.AREA_OFFICE.value
                )
            ).all()
        )
        for office_id, _parent in planning:
            gid = new_group_id()
            if line is not None:
                line.add_group("กลุ่มนโยบายและแผน", group_id=gid, member_count=PLANNING_GROUP_MEMBERS)  # type: ignore[attr-defined]
            conn.execute(
                bindings.insert().values(
                    chat_id=gid, chat_type=ChatType.GROUP.value, office_id=office_id, purpose="planning",
                    active=True, bound_at=at,
                )
            )  # fmt: skip
