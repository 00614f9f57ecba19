"""Shared fixtures: database URLs for every backend we cover, engines on migrated schemas, settings.

Database tests take the `db_url` (or `engine`) fixture and run once per backend: SQLite always, and
PostgreSQL when it is reachable at TIDTAM_TEST_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres).
With TIDTAM_REQUIRE_POSTGRES=1 (CI sets it) an unreachable PostgreSQL is an error, not a skip.
The run ends by saying which backends it covered.

`office_clock` pins the machine clock for tests that go through an entry point reading the system
clock (see tests/office_clock.py); no test takes "today" from the machine's date or time zone.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

TESTS_DIR = Path(__file__).parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))  # makes `fakeline` (the fake LINE platform) importable

pytest_plugins = ["browser"]  # the `chromium` fixture for browser tests (tests/browser.py)
if (TESTS_DIR / "fakeline" / "pytest_plugin.py").exists():
    pytest_plugins.append("fakeline.pytest_plugin")

from office_clock import PINNED_AT, OfficeClock, machine_clock_at  # noqa: E402

import models  # noqa: E402
from models.db import make_engine  # noqa: E402
from tidtam import migrate  # noqa: E402

PG_ADMIN_URL = os.environ.get("TIDTAM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_PG = os.environ.get("TIDTAM_REQUIRE_POSTGRES") == "1"
_covered: set[str] = set()
_pg_state: dict[str, object] = {}


def _pg_reachable() -> bool:
    if "reachable" not in _pg_state:
        try:
            engine = make_engine(PG_ADMIN_URL, pool_size=1, max_overflow=0)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _pg_state["reachable"] = True
        except Exception as exc:  # report, then skip or fail below
            _pg_state["reachable"] = False
            _pg_state["error"] = repr(exc)
    return bool(_pg_state["reachable"])


@pytest.fixture(scope="session")
def pg_database_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated to head, dropped at the end."""
    if not _pg_reachable():
        message = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {_pg_state.get('error')}"
        if REQUIRE_PG:
            pytest.fail(message)
        pytest.skip(message)
    name = f"tidtam_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_all(engine: Engine) -> None:
    tables = [t.name for t in reversed(models.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
            )
        else:
            for table in tables:
                conn.execute(sa.text(f'DELETE FROM "{table}"'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database on each backend in turn."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tidtam.sqlite3'}"
        migrate.upgrade(url)
        _covered.add("sqlite")
        yield url
        return
    url = request.getfixturevalue("pg_database_url")
    cleaner = make_engine(url, pool_size=1, max_overflow=0)
    _truncate_all(cleaner)
    _covered.add("postgresql")
    yield url
    _truncate_all(cleaner)
    cleaner.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def office_clock() -> Iterator[OfficeClock]:
    """The machine clock pinned at `PINNED_AT` (06:30 in Bangkok, the previous day in UTC) for the test,
    still ticking; `office_clock.now()` and `office_clock.today` (Bangkok) are what the product sees."""
    with machine_clock_at(PINNED_AT) as clock:
        yield clock


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A pytest-xdist worker hands the backends it covered to the controller, which prints them."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["tidtam_covered"] = sorted(_covered)
        workeroutput["tidtam_pg_error"] = _pg_state.get("error")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    output = getattr(node, "workeroutput", {})
    _covered.update(output.get("tidtam_covered", []))
    if output.get("tidtam_pg_error"):
        _pg_state["error"] = output["tidtam_pg_error"]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    covered = ", ".join(sorted(_covered)) or "none"
    terminalreporter.write_sep("=", f"database backends covered: {covered}")
    if "postgresql" not in _covered and _pg_state.get("error"):
        terminalreporter.write_line(f"PostgreSQL was skipped: {_pg_state['error']}")
