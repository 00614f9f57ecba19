"""A throw-away PostgreSQL database for one benchmark run (shared by the bench scripts)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


class PostgresUnavailable(Exception):
    """PostgreSQL is not reachable: a benchmark reports this and goes on with the other backend."""


@contextmanager
def scratch_postgres(admin_url: str, *, prefix: str = "tidtam_bench", migrate: bool = True) -> Iterator[str]:
    """Create an empty database beside `admin_url` (migrated to head unless `migrate=False`), yield
    its URL, and drop it afterwards, whatever happened."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from models.db import make_engine
    from tidtam import migrate as migrations

    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        try:
            with admin.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:
            raise PostgresUnavailable(f"not reachable at {admin_url} ({type(exc).__name__})") from exc
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
            if migrate:
                migrations.upgrade(url)
            yield url
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
