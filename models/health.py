"""Worker heartbeats: each worker process records that it is alive; `/readyz` reads the newest."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.ops import WorkerHeartbeat

_BEATS = WorkerHeartbeat.__table__  # type: ignore[attr-defined]


def beat(engine: Engine, holder: str, now: datetime, *, started_at: datetime) -> None:
    """Record that `holder` (host:pid) is alive at `now` (one short transaction)."""
    with engine.begin() as conn:
        updated = conn.execute(sa.update(_BEATS).where(_BEATS.c.holder == holder).values(beat_at=now))
        if not updated.rowcount:
            conn.execute(sa.insert(_BEATS).values(holder=holder, started_at=started_at, beat_at=now))


def forget(engine: Engine, holder: str) -> None:
    """A worker stopping in good order takes its row away."""
    with engine.begin() as conn:
        conn.execute(sa.delete(_BEATS).where(_BEATS.c.holder == holder))


def last_beat(engine: Engine) -> datetime | None:
    """When any worker last said it was alive."""
    with engine.connect() as conn:
        newest = sa.select(_BEATS.c.beat_at).order_by(_BEATS.c.beat_at.desc()).limit(1)
        return conn.execute(newest).scalar()  # type: ignore[no-any-return]
