"""`tidtam export --fy 2570 --quarter 1 FILE`: the quarter's eMENSCR-ready export (.xlsx or .csv).

A .csv FILE is written with its indicators beside it (`FILE-indicators.csv`). `--columns` (or
TIDTAM_EXPORT_COLUMNS_FILE) names a column mapping that matches the ministry coordinator's template.
Exit code 1: no such quarter, or a mapping or file name that cannot be used (the Thai reason is printed).
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_command(
        path: Path = typer.Argument(..., help="Where to write: a .xlsx workbook or a .csv file."),
        fiscal_year: int = typer.Option(..., "--fy", help="Fiscal year in BE, e.g. 2570."),
        quarter: int = typer.Option(..., "--quarter", min=1, max=4, help="Quarter 1-4 of the fiscal year."),
        columns: Path | None = typer.Option(None, "--columns", help="A column mapping TOML file."),
    ) -> None:
        """Export one row per project with its report for the quarter, and one per indicator."""
        from sqlmodel import Session

        from dashboard.exports import MappingError, export, load_mapping
        from dashboard.queries import choose_period
        from messages import dashboard as text
        from models.db import make_engine
        from scheduler.clock import local_today, make_clock
        from tidtam.settings import Settings

        settings = Settings()
        engine = make_engine(settings.database_url)
        try:
            mapping = load_mapping(columns or settings.export_columns_file)
            with Session(engine) as session:
                today = local_today(make_clock(settings, engine), settings.tz)
                period = choose_period(session, today, fiscal_year, quarter)
                if period is None:
                    typer.echo(text.no_period(fiscal_year, quarter), err=True)
                    raise typer.Exit(1)
                summary = export(session, period, path, mapping=mapping, tz=settings.tz)
        except MappingError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        finally:
            engine.dispose()
        typer.echo(text.export_written(summary.projects, summary.indicators, [str(f) for f in summary.files]))
