"""PostgreSQL engines describe a statement's result columns once per connection (models/pg_cursor.py):
what SQLAlchemy and callers read is what psycopg itself describes, before and after the columns
change under the same SQL text, for statements of one or several results."""

from __future__ import annotations

import psycopg
import sqlalchemy as sa

from models.db import make_engine
from models.pg_cursor import DescribedCursor


def _described(cursor: psycopg.Cursor) -> list[tuple[str, int, int | None]]:  # type: ignore[type-arg]
    return [(c.name, c.type_code, c.internal_size) for c in cursor.description or ()]


def test_descriptions_follow_the_columns_on_one_connection(pg_database_url: str) -> None:
    engine = make_engine(pg_database_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            dbapi = conn.connection.dbapi_connection
            cursor = dbapi.cursor()
            assert isinstance(cursor, DescribedCursor)
            plain = psycopg.Cursor(dbapi)
            cursor.execute("CREATE TEMPORARY TABLE described (a integer, b text)")
            seen = []
            for change in ("", "ALTER TABLE described RENAME COLUMN a TO c",
                           "ALTER TABLE described ALTER COLUMN b TYPE varchar(5)",
                           "ALTER TABLE described ADD COLUMN d date"):  # fmt: skip
                if change:
                    cursor.execute(change)
                for _ in range(2):  # the second time from what was kept
                    cursor.execute("SELECT * FROM described")
                    plain.execute("SELECT * FROM described")
                    assert _described(cursor) == _described(plain)
                seen.append([name for name, *_ in _described(cursor)])
            assert seen == [["a", "b"], ["c", "b"], ["c", "b"], ["c", "b", "d"]]
            cursor.execute("SELECT 1 AS x; SELECT 'y' AS y, 2 AS z")  # several results
            assert [c.name for c in cursor.description or ()] == ["x"]
            assert cursor.nextset()
            assert [c.name for c in cursor.description or ()] == ["y", "z"]
            cursor.execute("UPDATE described SET b = 'q'")
            assert cursor.description is None  # no rows come back
            result = conn.execute(sa.text("SELECT 1 AS one, 'two' AS two"))
            assert list(result.keys()) == ["one", "two"] and result.one() == (1, "two")
            conn.rollback()
    finally:
        engine.dispose()
