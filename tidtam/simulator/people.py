"""The demo's people: the demo office's staff linked to simulated LINE users, grouped by what they do.

The demo links every active person of the generated office to a simulated LINE user once, when it
loads the office (``link_demo_people``), the way a person's link code would: their LINE user id is
stored, they count as following the account, and the audit log says the demo did it. The user id is
derived from the person's code, so a restart finds the same people behind the same chats. One extra
persona is a LINE user nobody has linked (what a newcomer sees before typing a link code).

``personas`` reads them back for the simulator's picker, each with the role the simulator shows
(teacher, school director, group director, area executive, planner, office staff).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from models import Office, Person
from models.ops import AuditLog
from models.plan import ProjectOwner
from models.types import OfficeKind, Reachability, Role

__all__ = ["NEWCOMER_ID", "Persona", "PersonaKind", "demo_user_id", "link_demo_people", "personas"]

# The LINE user behind the "not registered yet" persona (never linked by the demo).
NEWCOMER_ID = "U" + hashlib.sha256(b"tidtam-demo:newcomer").hexdigest()[:32]


class PersonaKind(StrEnum):
    """What a person does, as the simulator's picker groups them (in this order)."""

    TEACHER = "teacher"
    SCHOOL_DIRECTOR = "school_director"
    GROUP_DIRECTOR = "group_director"
    PLANNER = "planner"
    EXECUTIVE = "executive"
    OFFICE_STAFF = "office_staff"
    NEWCOMER = "newcomer"


@dataclass(frozen=True)
class Persona:
    """A person the simulator can be: who they are and the LINE user they chat as."""

    kind: PersonaKind
    user_id: str
    person_code: str | None
    full_name: str
    position: str
    office_code: str | None
    office_name: str | None
    projects: int = 0  # projects they are responsible for (reporters with some are listed first)


def demo_user_id(person_code: str) -> str:
    """The simulated LINE user id of a demo person (stable across restarts)."""
    return "U" + hashlib.sha256(f"tidtam-demo:{person_code}".encode()).hexdigest()[:32]


def link_demo_people(engine: Engine, now: datetime) -> int:
    """Link every active, unlinked person to their simulated LINE user; returns how many."""
    with Session(engine) as session:
        people = session.exec(
            select(Person).where(col(Person.active).is_(True), col(Person.line_user_id).is_(None))
        ).all()
        for person in people:
            person.line_user_id = demo_user_id(person.code)
            person.reachability = Reachability.FOLLOWING
            person.linked_at = now
            person.updated_at = now
            session.add(person)
        session.flush()
        session.add_all(
            AuditLog(
                at=now,
                actor_person_id=person.id,
                actor="demo",
                action="linked",
                entity_type="person",
                entity_id=str(person.id),
                details={"simulated": True},
            )
            for person in people
        )
        session.commit()
        return len(people)


def _kind(person: Person, office: Office) -> PersonaKind:
    roles = {r.strip() for r in person.roles.split(",") if r.strip()}
    if Role.PLANNER in roles or Role.ADMIN in roles:
        return PersonaKind.PLANNER
    if office.kind == OfficeKind.SCHOOL:
        return PersonaKind.SCHOOL_DIRECTOR if Role.APPROVER in roles else PersonaKind.TEACHER
    if Role.APPROVER in roles:
        return PersonaKind.GROUP_DIRECTOR if office.kind == OfficeKind.GROUP else PersonaKind.EXECUTIVE
    return PersonaKind.OFFICE_STAFF


def personas(engine: Engine) -> list[Persona]:
    """Every linked, active person, in the picker's order (by kind; reporters with projects first;
    then office code and person code), and the unregistered newcomer last."""
    order = {kind: i for i, kind in enumerate(PersonaKind)}
    owned = (
        sa.select(col(ProjectOwner.person_id), sa.func.count().label("n"))
        .group_by(col(ProjectOwner.person_id))
        .subquery()
    )
    with Session(engine) as session:
        rows = session.execute(
            sa.select(Person, Office, sa.func.coalesce(owned.c.n, 0))
            .join(Office, col(Office.id) == col(Person.office_id))
            .outerjoin(owned, owned.c.person_id == col(Person.id))
            .where(col(Person.active).is_(True), col(Person.line_user_id).is_not(None))
            .order_by(col(Office.code), col(Person.code))
        ).all()
        found = [
            Persona(
                kind=_kind(person, office),
                user_id=str(person.line_user_id),
                person_code=person.code,
                full_name=person.full_name,
                position=person.position,
                office_code=office.code,
                office_name=office.name,
                projects=int(projects),
            )
            for person, office, projects in rows
        ]
    found.sort(key=lambda p: (order[p.kind], p.projects == 0, p.office_code or "", p.person_code or ""))
    found.append(Persona(PersonaKind.NEWCOMER, NEWCOMER_ID, None, "", "", None, None))
    return found
