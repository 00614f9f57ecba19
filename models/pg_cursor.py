"""A psycopg cursor whose `description` is built once per statement and connection, not per execution.

psycopg makes `Cursor.description` anew at every read: a Python `Column` per result column (its name
decoded, its type looked up). SQLAlchemy reads it once per statement it executes, and for a compiled
statement it has seen before only to learn that rows come back (its result metadata is cached). On
the hot path that is most of the client's work for a wide row: the sender's row of every one-on-one
event (models/linking.py `sender_of`, 41 columns) spent ~40% of its CPU there.

The list is kept per connection, keyed by the SQL text and every result column's name, type OID and
type modifier (all a `Column` is made of but its size, which its type fixes): a renamed, retyped or
added column makes a new key. `Column` keeps no reference to the cursor that made it.
"""

from __future__ import annotations

import weakref
from typing import Any

import psycopg
from psycopg.pq import ExecStatus

_MAX_PER_CONNECTION = 512  # statements whose text varies (IN lists of any length) must not grow it forever
_KEPT: weakref.WeakKeyDictionary[Any, dict[tuple[Any, ...], Any]] = weakref.WeakKeyDictionary()
_BUILD = psycopg.Cursor.description.fget  # type: ignore[attr-defined]


class DescribedCursor(psycopg.Cursor[Any]):
    """`psycopg.Cursor` with `description` remembered per connection (see the module's docstring)."""

    _sql: Any = None

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> DescribedCursor:  # type: ignore[override]
        self._sql = query
        return super().execute(query, params, **kwargs)  # type: ignore[return-value]

    def executemany(self, query: Any, params_seq: Any, **kwargs: Any) -> None:  # type: ignore[override]
        self._sql = None  # several results: described the ordinary way
        super().executemany(query, params_seq, **kwargs)

    def nextset(self) -> bool | None:
        self._sql = None  # the next result of a statement of several
        return super().nextset()

    @property
    def description(self) -> list[Any] | None:  # type: ignore[override]
        result = self.pgresult
        if result is None or self._sql is None or result.status != ExecStatus.TUPLES_OK:
            return _BUILD(self)  # type: ignore[no-any-return]
        columns = range(result.nfields)
        key = (
            self._sql,
            *map(result.fname, columns),
            *map(result.ftype, columns),
            *map(result.fmod, columns),
        )
        kept = _KEPT.get(self.connection)
        if kept is None:
            kept = _KEPT[self.connection] = {}
        described = kept.get(key)
        if described is None:
            if len(kept) >= _MAX_PER_CONNECTION:
                kept.clear()
            described = kept[key] = _BUILD(self)
        return list(described)  # type: ignore[no-any-return]
