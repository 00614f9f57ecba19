"""`tidtam demo`: the service on the embedded defaults with the LINE emulator in place of LINE, and the
simulator page to chat through it.

On first start (an empty database) it loads a generated demo office for the fiscal year of the
service's clock and links its people to simulated LINE users; later starts reuse the database. The
emulator listens on its own loopback port; the service (web process and worker) is pointed at it
through the same settings a real deployment uses for LINE (channel secret and token, API base
URLs), so events and replies take exactly the production path. Real LINE is never contacted: the
demo ignores LINE settings from the environment and says so. The chats are kept in a file beside
the database between starts (``record_file``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

import typer
from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from models import Office, Person
from models.db import make_engine
from tidtam import migrate
from tidtam.emulator import DEFAULT_ACCESS_TOKEN, DEFAULT_CHANNEL_SECRET, LineEmulator
from tidtam.settings import Settings

from .app import mount_simulator
from .people import link_demo_people

log = logging.getLogger(__name__)
LINE_SETTINGS = (
    "LINE_CHANNEL_SECRET",
    "LINE_CHANNEL_ACCESS_TOKEN",
    "LINE_API_BASE_URL",
    "LINE_DATA_API_BASE_URL",
)


def point_at_emulator(emulator: LineEmulator) -> list[str]:
    """Set the LINE settings of this process (and of the worker it starts) to the emulator's; returns
    the names of LINE settings that were set before (and are now ignored)."""
    ignored = [name for name in LINE_SETTINGS if os.environ.get(name)]
    os.environ.update(
        {
            "LINE_CHANNEL_SECRET": emulator.channel_secret,
            "LINE_CHANNEL_ACCESS_TOKEN": emulator.access_token,
            "LINE_API_BASE_URL": emulator.base_url,
            "LINE_DATA_API_BASE_URL": emulator.base_url,
        }
    )
    return ignored


def record_file(settings: Settings) -> Path:
    """Where the simulator keeps the chats between starts: beside the SQLite database file (``var/``
    for another database)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).with_name(Path(url.database).name + ".simulator.json")
    return Path("var") / "simulator-chats.json"


class RecordKeeper:
    """Saves the emulator's record every few seconds when it changed, and once more at the end."""

    def __init__(self, emulator: LineEmulator, path: Path, every: float = 10.0) -> None:
        self.emulator, self.path, self.every = emulator, path, every
        self._saved = emulator.last_seq
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="simulator-record", daemon=True)

    def start(self) -> RecordKeeper:
        self._thread.start()
        return self

    def _save(self) -> None:
        seq = self.emulator.last_seq
        if seq != self._saved:
            self.emulator.save_record(self.path)
            self._saved = seq

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self._save()
            except OSError:
                log.warning("could not save the simulator's chats")

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._save()


def prepare_database(settings: Settings, schools: int, say: Callable[[str], None]) -> bool:
    """Migrate; on an empty database load the demo office for the clock's fiscal year; link the demo
    people to simulated LINE users when nobody is linked yet (a first start, or a database an earlier
    demo made before people were linked). True when the database was empty."""
    from scheduler.clock import local_today, make_clock
    from scheduler.fiscal import fiscal_year_of

    migrate.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        clock = make_clock(settings, engine)  # TIDTAM_NOW or a moved clock: that date's fiscal year
        with Session(engine) as session:
            empty = session.exec(select(Office).limit(1)).first() is None
            linked = session.exec(
                select(Person.id).where(col(Person.line_user_id).is_not(None)).limit(1)
            ).first()
        if empty:
            from tidtam.workbook import demo as demo_data
            from tidtam.workbook import import_source

            fiscal_year = fiscal_year_of(local_today(clock, settings.tz))
            say(f"loading a demo office with {schools} schools (fiscal year {fiscal_year})…")
            source, _ = demo_data.demo_source(schools, 1, fiscal_year)
            result = import_source(source, engine, clock, label=f"demo-{schools}")
            if getattr(result, "errors", None):
                say("the demo data did not import; starting with an empty database")
        if empty or linked is None:
            count = link_demo_people(engine, clock.now())
            if count:
                say(f"linked {count} people of the demo office to simulated LINE users")
    finally:
        engine.dispose()
    return empty


def set_up_rich_menus(settings: Settings) -> None:
    """What `tidtam line setup` does for the rich menus, against the emulator: each role's menu made
    (or kept, when the emulator's saved record has it), everyone linked to theirs."""
    from bot.line_client import LineClient
    from bot.rich_menus import sync
    from scheduler.clock import make_clock

    engine = make_engine(settings.database_url)
    client = LineClient(
        access_token=settings.line_channel_access_token.get_secret_value(),
        api_base_url=settings.line_api_base_url,
        data_api_base_url=settings.line_data_api_base_url,
        timeout=settings.line_timeout_seconds,
    )
    try:
        with Session(engine) as session:
            sync(session, client, make_clock(settings, engine).now(), settings.tz)
            session.commit()
    finally:
        client.close()
        engine.dispose()


def run_demo(*, schools: int, port: int | None, quota: int | None) -> None:
    """Start the emulator, prepare the database, serve the service with the simulator mounted."""
    from tidtam.commands.serve import run_service

    emulator = LineEmulator(
        channel_secret=DEFAULT_CHANNEL_SECRET, access_token=DEFAULT_ACCESS_TOKEN, quota_limit=quota
    ).start()
    try:
        ignored = point_at_emulator(emulator)
        if ignored:
            typer.echo(
                "note: the demo always uses its built-in LINE emulator; "
                f"{', '.join(ignored)} from the environment are ignored (`tidtam serve` uses them)",
                err=True,
            )
        settings = Settings()
        port = port or settings.port
        if not os.environ.get("TIDTAM_PUBLIC_URL"):  # links the bot sends (the dashboard's) open here
            os.environ["TIDTAM_PUBLIC_URL"] = f"http://{settings.host}:{port}"
            settings = Settings()
        fresh = prepare_database(settings, schools, typer.echo)
        history = record_file(settings)
        if fresh:
            history.unlink(missing_ok=True)  # chats of a database that is gone
        elif emulator.load_record(history):
            typer.echo("the simulator's chats are back as they were")
        set_up_rich_menus(settings)
        keeper = RecordKeeper(emulator, history).start()
        url = f"http://{settings.host}:{port}"
        emulator.webhook_url = f"{url}/callback"

        def extend(app: FastAPI) -> None:
            emulator.clock = app.state.clock.now  # events stamped, tokens aged, quota months turned by it
            mount_simulator(app, emulator).refresh_people()

        def ready() -> None:
            typer.echo(f"\nTidtam demo is running. Open the LINE simulator: {url}/simulator\n")

        try:
            run_service(
                settings, host=settings.host, port=port, extend=extend, on_ready=ready, on_stop=keeper.stop
            )
        finally:
            keeper.stop()  # again, when the server never started
    finally:
        emulator.stop()
