"""`tidtam demo`: the service on the embedded defaults with the LINE emulator in place of LINE, and the
simulator page to chat through it.

On first start (an empty database) it loads a generated demo office for the fiscal year of the
service's clock and links its people to simulated LINE users; later starts reuse the database. The
emulator listens on its own loopback port; the service (web process and worker) is pointed at it
through the same settings a real deployment uses for LINE (channel secret and token, API base
URLs), so events and replies take exactly the production path. Real LINE is never contacted: the
demo ignores LINE settings from the environment and says so.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import typer
from fastapi import FastAPI
from sqlmodel import Session, col, select

from models import Office, Person
from models.db import make_engine
from tidtam import migrate
from tidtam.emulator import DEFAULT_ACCESS_TOKEN, DEFAULT_CHANNEL_SECRET, LineEmulator
from tidtam.settings import Settings

from .app import mount_simulator
from .people import link_demo_people

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


def prepare_database(settings: Settings, schools: int, say: Callable[[str], None]) -> None:
    """Migrate; on an empty database load the demo office for the clock's fiscal year; link the demo
    people to simulated LINE users when nobody is linked yet (a first start, or a database an earlier
    demo made before people were linked)."""
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
        prepare_database(settings, schools, typer.echo)
        url = f"http://{settings.host}:{port}"
        emulator.webhook_url = f"{url}/callback"

        def extend(app: FastAPI) -> None:
            emulator.clock = app.state.clock.now  # events stamped, tokens aged, quota months turned by it
            mount_simulator(app, emulator).refresh_people()

        def ready() -> None:
            typer.echo(f"\nTidtam demo is running. Open the LINE simulator: {url}/simulator\n")

        run_service(settings, host=settings.host, port=port, extend=extend, on_ready=ready)
    finally:
        emulator.stop()
