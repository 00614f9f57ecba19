"""Hot SELECTs compiled once and run on the DB-API cursor: what SQLAlchemy does for them, minus its
per-execution machinery.

Every execution of a Core statement through a `Session` or `Connection` computes the statement's
cache key (a walk over the whole statement: for the sender's row of every one-on-one event, models/
linking.py, a select of 41 columns with five subqueries), looks its compiled form up, builds an
execution context and a `Row` per row. For the one or two selects every event runs that was most
of their cost: on PostgreSQL 194 µs of CPU per sender lookup against 63 µs for the driver's own
execute and fetch.

`Prepared` compiles its statement once per dialect and keeps what SQLAlchemy derives from the compiled
form: the SQL text, the order of its parameters, the bind processors (a date as SQLite's ISO text, a
UTC datetime) and, per cursor description, the result processors (SQLite's text back to dates and
datetimes, booleans). So the values are the same ones `session.execute(statement).all()` returns, as
plain tuples; a test holds them equal on both backends. It runs on the session's own connection, in
its transaction, and SQLAlchemy's `before_cursor_execute` listeners still see the statement (the
SQLite write lock's, a bench's statement counter). Only plain statements: no expanding IN lists, no
literal-execute parameters, nothing the compiled form would have to be re-rendered for.

The same goes for the few writes every other event makes (a conversation's INSERT … RETURNING and its
DELETE, bot/context.py and bot/conversations.py): an INSERT is compiled for the columns it is given
(`columns`, as SQLAlchemy compiles one for the keys of its parameters), and a write first flushes the
session, as the session's own `execute` does before any Core statement (its autoflush), so the rows
written and their order are the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql.compiler import SQLCompiler
from sqlmodel import Session

Processor = Callable[[Any], Any] | None


@dataclass
class _Compiled:
    sql: str
    positional: tuple[str, ...] | None  # the parameters' order for a positional paramstyle
    defaults: dict[str, Any]  # every bind's value when the caller gives none (literals in the statement)
    binds: dict[str, Callable[[Any], Any]]  # bind processors, by bind name
    escaped: dict[str, str]  # bind names the driver sees under another name
    result_types: tuple[Any, ...]
    dialect: Dialect
    processors: dict[tuple[Any, ...], tuple[Processor, ...]] = field(default_factory=dict)

    def parameters(self, params: Mapping[str, Any]) -> Sequence[Any] | dict[str, Any]:
        values = {**self.defaults, **params}
        binds = self.binds
        if self.positional is not None:
            return tuple(binds[k](values[k]) if k in binds else values[k] for k in self.positional)
        escaped = self.escaped
        return {escaped.get(k, k): binds[k](v) if k in binds else v for k, v in values.items()}

    def row_processors(self, description: Sequence[Any]) -> tuple[Processor, ...]:
        codes = tuple(column[1] for column in description)
        found = self.processors.get(codes)
        if found is None:
            found = tuple(
                kind._cached_result_processor(self.dialect, code)
                for kind, code in zip(self.result_types, codes, strict=True)
            )
            self.processors[codes] = found
        return found


class Prepared:
    """A Core SELECT run as `rows(session, params)`: `session.execute(statement, params).all()`'s
    values as tuples, cheaper (see the module's docstring). A write: `rows` for its RETURNING,
    `rowcount` for how many rows it matched."""

    def __init__(self, statement: sa.ClauseElement, *, columns: Sequence[str] | None = None) -> None:
        self.statement = statement
        self._columns = list(columns) if columns is not None else None  # an INSERT's VALUES
        self._writes = not isinstance(statement, sa.Select)
        self._compiled: dict[int, _Compiled] = {}  # by id of the dialect (one per engine)
        self._lock = threading.Lock()

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(id(dialect))
        if found is not None and found.dialect is dialect:
            return found
        with self._lock:
            compiled: SQLCompiler = self.statement.compile(dialect=dialect, column_keys=self._columns)  # type: ignore[assignment]
            if compiled.literal_execute_params or compiled.post_compile_params:
                raise ValueError("Prepared takes plain statements (no expanding or literal-execute binds)")
            found = _Compiled(
                sql=compiled.string,
                positional=tuple(compiled.positiontup or ()) if compiled.positional else None,
                defaults=dict(compiled.construct_params(_check=False)),
                binds=dict(compiled._bind_processors),  # type: ignore[arg-type]  # tuples: executemany only
                escaped=dict(compiled.escaped_bind_names or {}),
                result_types=tuple(column.type for column in compiled._result_columns),
                dialect=dialect,
            )
            self._compiled[id(dialect)] = found
            return found

    def rows(self, session: Session | Connection, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self._run(session, params)[0]

    def rowcount(self, session: Session | Connection, params: Mapping[str, Any]) -> int:
        """A write's count of rows matched (the DB-API cursor's `rowcount`, as `Result.rowcount`)."""
        return self._run(session, params)[1]

    def _run(
        self, session: Session | Connection, params: Mapping[str, Any]
    ) -> tuple[list[tuple[Any, ...]], int]:
        if isinstance(session, Session):
            if self._writes and session.autoflush:
                session.flush()  # what the session's execute does first (nothing to do when clean)
            connection = session.connection()
        else:
            connection = session
        compiled = self._for(connection.dialect)
        parameters = compiled.parameters(params)
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if connection._has_events or connection.engine._has_events:
                for listener in connection.dispatch.before_cursor_execute:
                    listener(connection, cursor, compiled.sql, parameters, None, False)
            cursor.execute(compiled.sql, parameters)
            description = cursor.description
            count = cursor.rowcount
            if description is None:  # a write without RETURNING
                return [], count
            fetched = cursor.fetchall()
            processors = compiled.row_processors(description)
        except Exception as exc:
            # As SQLAlchemy's own execution does: wrapped in its exception classes, and a connection
            # the server dropped is invalidated (the pool opens a fresh one next time).
            connection._handle_dbapi_exception(exc, compiled.sql, parameters, cursor, None)
            raise  # not reached: the call above raises
        finally:
            cursor.close()
        if not any(processors):
            return [tuple(row) for row in fetched], count
        return [
            tuple(
                value if process is None else process(value)
                for process, value in zip(processors, row, strict=True)
            )
            for row in fetched
        ], count
