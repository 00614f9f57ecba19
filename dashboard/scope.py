"""Who may see what: directors their own office and the offices under it; planners, admins and
observers the whole area; reporters nothing (the dashboard is for the planning group and directors).

A scope is applied in SQL (a recursive subquery of the office tree), never by filtering rows in Python,
so it costs the same for 60 schools as for 30,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from models.org import Office, Person
from models.types import Role

AREA_ROLES = frozenset({Role.PLANNER, Role.ADMIN, Role.OBSERVER})
ACTION_ROLES = frozenset({Role.PLANNER, Role.ADMIN})  # reopen, remind, print link codes, set targets


@dataclass(frozen=True)
class Scope:
    """`root_office_id` None: the whole area; otherwise that office and everything under it."""

    root_office_id: int | None

    @property
    def whole_area(self) -> bool:
        return self.root_office_id is None

    def office_ids(self) -> sa.Select[Any] | None:
        """A subquery of the office ids in scope, or None when every office is."""
        if self.root_office_id is None:
            return None
        return select(col(office_subtree(self.root_office_id).c.id))

    def restrict(self, statement: Any, office_column: Any) -> Any:
        """`statement` limited to rows whose `office_column` is in scope."""
        ids = self.office_ids()
        return statement if ids is None else statement.where(office_column.in_(ids))

    def allows_office(self, session: Session, office_id: int) -> bool:
        if self.root_office_id is None:
            return True
        ids = self.office_ids()
        assert ids is not None
        found = session.exec(select(Office.id).where(Office.id == office_id, col(Office.id).in_(ids)))
        return found.first() is not None


def subtree(model: Any, root_id: int, name: str) -> Any:
    """A recursive CTE of `root_id` and every row under it through `parent_id` (the office tree, the
    strategy tree), on SQLite and PostgreSQL alike."""
    tree = select(col(model.id).label("id")).where(model.id == root_id).cte(name, recursive=True)
    child = sa.orm.aliased(model)
    return tree.union_all(select(child.id).where(child.parent_id == tree.c.id))


def office_subtree(root_id: int) -> Any:
    return subtree(Office, root_id, "office_tree")


def scope_of(person: Person | None) -> Scope | None:
    """The person's scope, or None when the dashboard is not for them."""
    if person is None or not person.active:
        return None
    roles = person.role_set
    if roles & AREA_ROLES:
        return Scope(None)
    if Role.APPROVER in roles:
        return Scope(person.office_id)
    return None


def may_act(person: Person) -> bool:
    """Whether the person may use the planners' actions (not directors, not observers)."""
    return bool(person.role_set & ACTION_ROLES)
