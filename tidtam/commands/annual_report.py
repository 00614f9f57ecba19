"""`tidtam annual-report --fy 2570 --out DIR [--public]`: the year's report as HTML and PDF (manual A.6).

`--public` leaves out every person's name and LINE detail (for publishing to the public).
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("annual-report")
    def annual_report(
        fiscal_year: int = typer.Option(..., "--fy", help="Fiscal year in BE, e.g. 2570."),
        out: Path = typer.Option(..., "--out", help="Folder to write annual-report-<FY>.html and .pdf into."),
        public: bool = typer.Option(False, "--public", help="Leave out people's names (the public edition)."),
    ) -> None:
        """Write the annual report: results by strategy, indicators, budget, problems and suggestions."""
        from sqlmodel import Session

        from dashboard.annual import build, write
        from messages import dashboard as text
        from models.db import make_engine
        from scheduler.clock import local_today, make_clock
        from tidtam.settings import Settings

        settings = Settings()
        engine = make_engine(settings.database_url)
        try:
            with Session(engine) as session:
                report = build(
                    session,
                    fiscal_year,
                    local_today(make_clock(settings, engine), settings.tz),
                    public=public,
                )
            if report is None:
                typer.echo(text.no_fiscal_year(fiscal_year), err=True)
                raise typer.Exit(1)
            written = write(report, out)
        finally:
            engine.dispose()
        typer.echo(text.annual_report_written(str(written.html), str(written.pdf)))
