"""Portable INSERT … ON CONFLICT DO NOTHING for SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_ignore(session: Session, table: sa.Table, rows: list[dict[str, Any]], key: list[str]) -> int:
    """Insert `rows`, skipping any whose `key` already exists; returns how many were inserted."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table).on_conflict_do_nothing(index_elements=key).returning(table.c[key[0]])
    # One cached statement for any number of rows (SQLAlchemy batches them as "insertmanyvalues");
    # RETURNING counts what was inserted on both backends (psycopg 3 reports rowcount -1 here).
    return len(session.execute(statement, rows).all())
