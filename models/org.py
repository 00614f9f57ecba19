"""The organisation: offices (area office, its groups, its schools), people, acting approvers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Field, SQLModel

from models.types import OfficeKind, Reachability, Role, UTCDateTime


class Office(SQLModel, table=True):
    """An area office, one of its groups (กลุ่ม), or a school; a tree through `parent_id`."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    name: str = Field(max_length=255)
    kind: OfficeKind = Field(sa_type=sa.String(16))
    parent_id: int | None = Field(default=None, foreign_key="office.id", index=True)
    # Per-office overrides (report due days, next approver level, quiet hours...); see scheduler/.
    settings: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Person(SQLModel, table=True):
    """A member of staff. `line_user_id` stays empty until they link their LINE account."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, unique=True)
    full_name: str = Field(max_length=255)
    position: str = Field(default="", max_length=255)
    office_id: int = Field(foreign_key="office.id", index=True)
    # Comma-separated, sorted `Role` values: small, portable, and stable for idempotent imports.
    roles: str = Field(default="", max_length=128)
    line_user_id: str | None = Field(default=None, max_length=64, unique=True)
    reachability: Reachability = Field(default=Reachability.UNLINKED, sa_type=sa.String(16))
    linked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(Role(r) for r in self.roles.split(",") if r)

    def has_role(self, role: Role) -> bool:
        return role in self.role_set


def format_roles(roles: set[Role] | frozenset[Role] | list[Role]) -> str:
    """The stored form of a set of roles."""
    return ",".join(sorted({Role(r).value for r in roles}))


class ActingApprover(SQLModel, table=True):
    """ผู้รักษาราชการแทน: `acting_id` decides for `principal_id` from `starts_on` to `ends_on` inclusive."""

    __tablename__ = "acting_approver"

    id: int | None = Field(default=None, primary_key=True)
    principal_id: int = Field(foreign_key="person.id", index=True)
    acting_id: int = Field(foreign_key="person.id", index=True)
    starts_on: date
    ends_on: date
    note: str = Field(default="", max_length=255)
    created_at: datetime = Field(sa_type=UTCDateTime)


# --- what an office's report deadline is made of, read as plain values ------------------------------

OFFICE = Office.__table__  # type: ignore[attr-defined]
PARENT_OFFICE = OFFICE.alias("parent_office")
# In the SQL text, not a parameter: PostgreSQL plans a prepared statement once (a generic plan) only
# when its constants are literals; with them as parameters it planned the sender's row at every event.
_AREA_KIND = sa.literal_column(f"'{OfficeKind.AREA_OFFICE.value}'")


class _HolidayRows(FunctionElement[str]):
    """The JSON text of the rows `[id, day, kind, name]` an aggregate gathers (SQLite: '[]' for none;
    PostgreSQL: NULL)."""

    type = sa.Text()
    name = "holiday_rows"
    inherit_cache = True


@compiles(_HolidayRows, "sqlite")
def _holiday_rows_sqlite(element: _HolidayRows, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(_HolidayRows, "postgresql")
def _holiday_rows_postgresql(element: _HolidayRows, compiler: Any, **kw: Any) -> str:
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


def deadline_columns() -> tuple[Any, ...]:
    """The columns of what an office's report deadline is made of (scheduler/deadlines.py), for a
    select from OFFICE outer-joined to PARENT_OFFICE on `OFFICE.c.parent_id`: the office's code,
    kind, parent and settings (the stored JSON text), its parent's id, code, kind, parent and
    settings, and the days off declared for every office or for the area (the office itself when it
    is an area office or the top of its tree, else its parent), as JSON text (`_HolidayRows`)."""
    from models.ops import OfficeHoliday

    holiday = OfficeHoliday.__table__  # type: ignore[attr-defined]
    own_area = sa.or_(OFFICE.c.kind == _AREA_KIND, OFFICE.c.parent_id.is_(None))
    days = (
        sa.select(_HolidayRows(holiday.c.id, holiday.c.day, holiday.c.kind, holiday.c.name))
        .where(
            sa.or_(
                holiday.c.office_id.is_(None),
                holiday.c.office_id == sa.case((own_area, OFFICE.c.id), else_=PARENT_OFFICE.c.id),
            )
        )
        .scalar_subquery()
    )
    return (
        OFFICE.c.code,
        OFFICE.c.kind,
        OFFICE.c.parent_id,
        sa.cast(OFFICE.c.settings, sa.Text),
        PARENT_OFFICE.c.id,
        PARENT_OFFICE.c.code,
        PARENT_OFFICE.c.kind,
        PARENT_OFFICE.c.parent_id,
        sa.cast(PARENT_OFFICE.c.settings, sa.Text),
        days,
    )
