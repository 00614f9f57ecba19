"""Engine and session helpers: one engine per process, SQLite tuned for a small concurrent service."""

from __future__ import annotations

import functools
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

# PostgreSQL: a pooled connection idle this long is checked before it is handed out (`make_engine`).
IDLE_PING_SECONDS = 30.0


def make_engine(
    url: str,
    *,
    sqlite_busy_ms: int = 30_000,
    idle_ping_seconds: float | None = IDLE_PING_SECONDS,
    **kwargs: Any,
) -> Engine:
    """Create an engine for `url`. A SQLite file's folder is created if missing.

    `sqlite_busy_ms` is how long SQLite itself waits for another process's write lock; a caller that
    retries on its own in small steps (the webhook's event store) sets it low. PostgreSQL: a pooled
    connection idle at least `idle_ping_seconds` is checked before use (None: never; see below).
    """
    parsed = make_url(url)
    # Statements are logged at INFO when logging is that verbose; their parameters (names, texts, LINE
    # ids) never are.
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, "timeout": 30}
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 20)
        engine = sa.create_engine(url, connect_args=connect_args, **kwargs)
        sa.event.listen(engine, "connect", functools.partial(_sqlite_pragmas, busy_ms=sqlite_busy_ms))
        _serialize_sqlite_writers(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # Plain postgresql:// means psycopg 3 here (it is the driver we ship).
        parsed = parsed.set(drivername="postgresql+psycopg")
        url = parsed.render_as_string(hide_password=False)
    if parsed.drivername == "postgresql+psycopg":
        from models.pg_cursor import DescribedCursor  # result columns described once per statement

        kwargs["connect_args"] = {"cursor_factory": DescribedCursor, **kwargs.get("connect_args", {})}
    # No pre-ping per checkout (a round trip before every transaction, on the hot path of each event):
    # only a connection that sat idle in the pool for `idle_ping_seconds` is tried first (a server
    # restart or an idle timeout drops those), and replaced if dead. One dropped meanwhile fails its
    # first statement, which makes SQLAlchemy replace the whole pool; the event path retries that
    # once (models/events.py: claim_events, pending_events; the webhook's store has its own
    # connection and retries likewise).
    kwargs.setdefault("pool_pre_ping", False)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    engine = sa.create_engine(url, **kwargs)
    if not kwargs["pool_pre_ping"] and idle_ping_seconds is not None:
        _ping_idle_connections(engine, idle_ping_seconds)
    return engine


def _ping_idle_connections(engine: Engine, idle_seconds: float) -> None:
    """Before a connection that was idle in the pool at least `idle_seconds` is handed out, ask the
    server whether it is still there (as `pool_pre_ping` does for every checkout); a dead one is
    replaced by a fresh connection (the pool does that for a `DisconnectionError` raised here)."""
    dialect = engine.dialect

    def on_checkin(dbapi_connection: Any, record: Any) -> None:
        record.info["tidtam_idle_since"] = time.monotonic()

    def on_checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        since = record.info.pop("tidtam_idle_since", None)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise sa.exc.DisconnectionError("a pooled connection was dropped while idle") from exc

    sa.event.listen(engine.pool, "checkin", on_checkin)
    sa.event.listen(engine.pool, "checkout", on_checkout)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, busy_ms: int) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_WRITE_LOCK_WAIT = 30.0
_WRITE_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def sqlite_write_lock(engine: Engine) -> threading.Lock | None:
    """The in-process lock SQLite writers of `engine` queue on (None for other databases), for code
    that writes through a raw DB-API connection and so bypasses the engine's events."""
    return _WRITE_LOCKS.get(engine)


def _serialize_sqlite_writers(engine: Engine) -> None:
    """Queue this process's SQLite writers on a lock instead of SQLite's busy handler.

    SQLite allows one writer; a second one retries in sleeps of up to 100 ms, which is what makes tail
    latency bad under load. Here a transaction takes an in-process lock at its first write and gives it
    back when its connection returns to the pool (after commit or rollback), so writers wait exactly
    as long as they must. A thread never waits for a lock it already holds through another connection,
    and a wait longer than 30 s falls back to SQLite's own handling.
    """
    lock = threading.Lock()
    _WRITE_LOCKS[engine] = lock
    owner: dict[str, int | None] = {"thread": None}

    def before_execute(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        info = conn.connection.info if conn.connection is not None else None
        if info is None or info.get("tidtam_write_lock"):
            return
        if not statement.lstrip()[:7].upper().startswith(_WRITE_VERBS):
            return
        if owner["thread"] == threading.get_ident():
            return
        if lock.acquire(timeout=_WRITE_LOCK_WAIT):
            owner["thread"] = threading.get_ident()
            info["tidtam_write_lock"] = True

    def release(record: Any) -> None:
        if record.info.pop("tidtam_write_lock", False):
            owner["thread"] = None
            lock.release()

    def on_checkin(dbapi_connection: Any, connection_record: Any) -> None:
        release(connection_record)

    def on_reset(dbapi_connection: Any, connection_record: Any, reset_state: Any) -> None:
        release(connection_record)

    sa.event.listen(engine, "before_cursor_execute", before_execute)
    sa.event.listen(engine.pool, "checkin", on_checkin)
    sa.event.listen(engine.pool, "reset", on_reset)


# PostgreSQL plans a statement anew at every execution until it has been prepared on the connection
# (psycopg: after 5 executions there) and run 5 times more; the sender's row with its projects took
# 5 ms to plan against 6 ms to run, the claim 0.7 ms. A worker prepares its statements at once
# (`WORKER_CONNECT_ARGS`) and an event batch's transaction asks for the generic plan of each
# (`prefer_generic_plans`, from the claim that begins it, models/events.py): planned once per
# connection, as the keys they look up are alike. The tick, whose selects span a whole area, keeps
# PostgreSQL's own choice.
WORKER_CONNECT_ARGS = {"prepare_threshold": 0}
_GENERIC_PLANS = sa.text("SET LOCAL plan_cache_mode = force_generic_plan")


def worker_engine_options(url: str) -> dict[str, Any]:
    """`make_engine` keywords for a worker process's engine (see WORKER_CONNECT_ARGS)."""
    if make_url(url).get_backend_name() != "postgresql":
        return {}
    return {"connect_args": dict(WORKER_CONNECT_ARGS)}


def prefer_generic_plans(session: Session) -> None:
    """For the rest of `session`'s transaction, on PostgreSQL: generic plans for prepared statements."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_GENERIC_PLANS)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
