"""The moved service clock's offset, in its one-row table (`service_clock`).

Every process on the database reads the same offset (scheduler/clock.py follows it about once a
second), so a clock moved from one process (the simulator page, `tidtam clock`) moves in all of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine

from models.ops import ServiceClock

__all__ = ["clear_offset", "store_offset", "stored_offset"]

_CLOCK: sa.Table = ServiceClock.__table__  # type: ignore[attr-defined]
_ROW = 1


def stored_offset(engine: Engine) -> timedelta | None:
    """The moved clock's offset from the system time, or None when nobody has moved it."""
    with engine.connect() as conn:
        value = conn.execute(sa.select(_CLOCK.c.offset_us).where(_CLOCK.c.id == _ROW)).scalar()
    return None if value is None else timedelta(microseconds=int(value))


def store_offset(engine: Engine, offset: timedelta, *, moved_to: datetime, moved_at: datetime) -> None:
    """Record a move: the service's time is now the system time plus ``offset``."""
    values = {"offset_us": _microseconds(offset), "moved_to": moved_to, "moved_at": moved_at}
    with engine.begin() as conn:
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(_CLOCK).values(id=_ROW, **values)
        conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))


def clear_offset(engine: Engine) -> bool:
    """Forget the move (the clock runs on the system time, or from TIDTAM_NOW, again); True if there was one."""
    with engine.begin() as conn:
        return bool(conn.execute(sa.delete(_CLOCK).where(_CLOCK.c.id == _ROW)).rowcount)


def _microseconds(offset: timedelta) -> int:
    return (offset.days * 86_400 + offset.seconds) * 1_000_000 + offset.microseconds
