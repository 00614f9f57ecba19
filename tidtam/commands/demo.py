"""`tidtam demo`: what `make run` starts — migrate, load a demo office if the database is empty, serve."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        schools: int = typer.Option(40, help="Schools in the generated demo office (first run only)."),
        port: int | None = typer.Option(None, help="Port (default TIDTAM_PORT or 8000)."),
    ) -> None:
        """Run the service on the embedded defaults, with a generated demo office on first start."""
        from sqlmodel import Session, select

        from models import Office
        from models.db import make_engine
        from tidtam import migrate
        from tidtam.settings import Settings

        settings = Settings()
        migrate.upgrade(settings.database_url)
        engine = make_engine(settings.database_url)
        with Session(engine) as session:
            empty = session.exec(select(Office).limit(1)).first() is None
        if empty:
            from scheduler.clock import local_today, make_clock
            from scheduler.fiscal import fiscal_year_of
            from tidtam.workbook import demo as demo_data
            from tidtam.workbook import import_source

            clock = make_clock(settings, engine)  # TIDTAM_NOW or a moved clock: that date's fiscal year
            fiscal_year = fiscal_year_of(local_today(clock, settings.tz))
            typer.echo(f"loading a demo office with {schools} schools (fiscal year {fiscal_year})…")
            source, _ = demo_data.demo_source(schools, 1, fiscal_year)
            result = import_source(source, engine, clock, label=f"demo-{schools}")
            if getattr(result, "errors", None):
                typer.echo("the demo data did not import; starting with an empty database", err=True)
        engine.dispose()
        typer.echo(f"Tidtam is running: http://{settings.host}:{port or settings.port}/healthz")
        from tidtam.commands.serve import run_service

        run_service(settings, host=settings.host, port=port or settings.port)
