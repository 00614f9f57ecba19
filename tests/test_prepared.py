"""`models.prepared.Prepared` returns exactly what `session.execute(statement).all()` does, as tuples, on
both backends: the sender's rows (dates, UTC datetimes, booleans, JSON text, NULLs of outer joins), a
statement with literal binds, in the session's own transaction, seen by cursor listeners, and failing
with SQLAlchemy's exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from approval_office import link, make_office, submit
from sqlmodel import Session

from models import linking
from models.messaging import Conversation
from models.prepared import Prepared
from scheduler.fiscal import fiscal_year_of

T, D, NOBODY = "U" + "a" * 32, "U" + "b" * 32, "U" + "f" * 32


def _office(engine, today: date):  # type: ignore[no-untyped-def]
    office = make_office(engine, today=today)
    link(engine, office.teacher, T)
    link(engine, office.director, D)
    now = datetime.now(UTC)
    with Session(engine) as s:
        submit(s, office.teacher.id, office.projects[0].id, office.period_id, now, progress="40")
        # A conversation row: datetimes and JSON in the sender's row.
        s.add(
            Conversation(
                chat_key=T,
                person_id=office.teacher.id,
                form="report",
                step="progress",
                data={"project": 1, "answers": {"ผล": "๔๐"}},
                started_at=now - timedelta(minutes=3),
                updated_at=now,
            )
        )
        s.commit()
    return office


@pytest.mark.parametrize("statement", ["sender", "sender_with_projects"])
def test_prepared_rows_equal_session_execute(engine, office_clock, statement: str) -> None:
    _office(engine, office_clock.today)
    select = linking._SENDER if statement == "sender" else linking._SENDER_WITH_PROJECTS
    prepared = Prepared(select)
    compared = 0
    with Session(engine) as s:
        for day in (office_clock.today, office_clock.today + timedelta(days=200)):
            for user in (T, D, NOBODY):
                params = {"line_user_id": user, "on": day, "today": day, "fy": fiscal_year_of(day)}
                expected = [tuple(row) for row in s.execute(select, params).all()]
                got = prepared.rows(s, params)
                assert got == expected
                assert [[type(v) for v in row] for row in got] == [[type(v) for v in row] for row in expected]
                compared += len(expected)
    assert compared >= 4  # the teacher's and the director's rows, on both days
    today = office_clock.today
    with Session(engine) as s:
        params = {"line_user_id": T, "on": today, "today": today, "fy": fiscal_year_of(today)}
        teacher_row = Prepared(linking._SENDER).rows(s, params)[0]
    started_at = teacher_row[linking._CONVERSATION_COLUMNS.index("started_at")]
    assert isinstance(started_at, datetime) and started_at.utcoffset() == timedelta(0)  # UTC-aware, as stored


def test_literal_binds_and_the_sessions_transaction(engine) -> None:
    statement = sa.select(sa.literal(7).label("seven"), Conversation.__table__.c.chat_key).where(  # type: ignore[attr-defined]
        Conversation.__table__.c.chat_key == sa.bindparam("key")  # type: ignore[attr-defined]
    )
    prepared = Prepared(statement)
    now = datetime.now(UTC)
    with Session(engine) as s:
        s.add(Conversation(chat_key="C1", form="f", step="s", data={}, started_at=now, updated_at=now))
        s.flush()  # not committed: only this transaction sees it
        assert prepared.rows(s, {"key": "C1"}) == [(7, "C1")]
        with Session(engine) as other:
            assert prepared.rows(other, {"key": "C1"}) == []
        s.rollback()
        assert prepared.rows(s, {"key": "C1"}) == []


def test_listeners_see_it_and_errors_are_sqlalchemys(engine) -> None:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with Session(engine) as s:
            assert Prepared(sa.select(sa.literal(1).label("one"))).rows(s, {}) == [(1,)]
            broken = Prepared(sa.select(sa.column("no_such_column")).select_from(sa.table("no_such_table")))
            with pytest.raises(sa.exc.DBAPIError):
                broken.rows(s, {})
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(seen) == 2


def test_expanding_binds_are_refused(engine) -> None:
    statement = sa.select(Conversation.__table__.c.id).where(  # type: ignore[attr-defined]
        Conversation.__table__.c.chat_key.in_(sa.bindparam("keys", expanding=True))  # type: ignore[attr-defined]
    )
    with Session(engine) as s, pytest.raises(ValueError, match="plain statements"):
        Prepared(statement).rows(s, {"keys": ["a"]})


def test_writes_insert_returning_and_delete(engine) -> None:
    """An INSERT … RETURNING and a DELETE: the values stored are the ones the session's execute stores
    (JSON, UTC datetimes), a pending ORM object is flushed first (the session's autoflush), and a
    DELETE tells how many rows it matched."""
    table = Conversation.__table__  # type: ignore[attr-defined]
    columns = ("chat_key", "person_id", "form", "step", "data", "revision", "started_at", "updated_at")
    insert = Prepared(sa.insert(table).returning(table.c.id, table.c.data), columns=columns)
    delete = Prepared(sa.delete(table).where(table.c.id == sa.bindparam("row_id")))
    now = datetime.now(UTC).replace(microsecond=0)
    values = {
        "chat_key": "C2",
        "person_id": None,
        "form": "quarterly_report",
        "step": "project",
        "data": {"answers": {"ผล": "๔๐"}, "seq": 1},
        "revision": 1,
        "started_at": now - timedelta(minutes=2),
        "updated_at": now,
    }
    with Session(engine) as s:
        s.add(Conversation(chat_key="C1", form="f", step="s", data={}, started_at=now, updated_at=now))
        ((row_id, data),) = insert.rows(s, values)  # the pending C1 is written first
        assert data == values["data"]
        stored = s.execute(sa.select(table).where(table.c.chat_key.in_(["C1", "C2"])).order_by(table.c.id))
        rows = [dict(row._mapping) for row in stored]
        assert [r["chat_key"] for r in rows] == ["C1", "C2"] and rows[1]["id"] == row_id
        assert {k: rows[1][k] for k in columns} == values
        assert rows[1]["started_at"].utcoffset() == timedelta(0)
        assert delete.rowcount(s, {"row_id": row_id}) == 1
        assert delete.rowcount(s, {"row_id": row_id}) == 0
        assert s.execute(sa.select(table.c.chat_key).where(table.c.chat_key == "C2")).first() is None
        s.rollback()
