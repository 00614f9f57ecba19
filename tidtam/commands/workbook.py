"""`tidtam template`, `tidtam import` and `tidtam demo-data`: the import workbook from the command line.

The commands only parse options, call ``tidtam.workbook`` and print the Thai summary it words; exit
code 1 means the workbook had errors and nothing was written.
"""

from __future__ import annotations

from pathlib import Path

import typer

from messages import workbook as text


def print_result(result: object) -> None:
    """The Thai summary of an ``ImportResult``: problems, then per-sheet counts and codes."""
    from tidtam.workbook.importer import ImportResult

    assert isinstance(result, ImportResult)
    if result.errors:
        typer.echo(text.errors_heading(len(result.errors)), err=True)
        for problem in result.errors:
            typer.echo(str(problem), err=True)
    if result.warnings:
        typer.echo(text.warnings_heading(len(result.warnings)))
        for problem in result.warnings:
            typer.echo(str(problem))
    plan = result.plan
    if plan is None:
        return
    if result.dry_run:
        typer.echo(text.dry_run_heading())
    elif result.written:
        typer.echo(text.import_heading())
    else:
        typer.echo(text.nothing_changed())
    for sheet, counts in plan.counts().items():
        typer.echo(text.sheet_counts_line(sheet, counts["created"], counts["updated"], counts["unchanged"]))
        if plan.sheets[sheet].create:
            typer.echo(text.created_codes_line(plan.sheets[sheet].created_codes))
        if plan.sheets[sheet].update:
            typer.echo(text.updated_codes_line(plan.sheets[sheet].updated_codes))
    if plan.fiscal_years:
        typer.echo(text.fiscal_years_created_line(plan.fiscal_years))


def register(app: typer.Typer) -> None:
    @app.command("template")
    def template(path: Path = typer.Argument(..., help="Where to write the blank .xlsx workbook.")) -> None:
        """Write a blank import workbook with Thai headers and an instructions sheet."""
        from tidtam.workbook.template import write_template

        write_template(path)
        typer.echo(text.template_written(str(path)))

    @app.command("import")
    def import_(
        path: Path = typer.Argument(..., help="An .xlsx workbook or a folder of CSV files."),
        dry_run: bool = typer.Option(False, "--dry-run", help="Report what would change; write nothing."),
    ) -> None:
        """Import offices, people, strategies, projects and indicators (all or nothing)."""
        from models.db import make_engine
        from scheduler.clock import make_clock
        from tidtam.settings import Settings
        from tidtam.workbook import import_workbook

        settings = Settings()
        engine = make_engine(settings.database_url)
        try:
            result = import_workbook(path, engine, make_clock(settings, engine), dry_run=dry_run)
        finally:
            engine.dispose()
        print_result(result)
        if result.errors:
            raise typer.Exit(1)

    @app.command("demo-data")
    def demo_data(
        schools: int = typer.Option(..., "--schools", min=1, help="How many schools to generate."),
        out: Path | None = typer.Option(None, "--out", help="Write the workbook to this .xlsx file."),
        import_now: bool = typer.Option(False, "--import", help="Import straight into the database."),
        seed: int = typer.Option(1, "--seed", help="Same seed, same data."),
        fiscal_year: int = typer.Option(2570, "--fiscal-year", help="Fiscal year (BE) of the projects."),
    ) -> None:
        """Generate a realistic, fictional area office with N schools."""
        from tidtam.workbook import demo

        if out is None and not import_now:
            typer.echo(text.demo_needs_target(), err=True)
            raise typer.Exit(2)
        if out is not None:
            counts = demo.write_demo_xlsx(out, schools, seed, fiscal_year)
            typer.echo(text.demo_written(str(out), schools, counts.projects))
        if import_now:
            from models.db import make_engine
            from scheduler.clock import make_clock
            from tidtam.settings import Settings
            from tidtam.workbook import import_source, import_workbook

            settings = Settings()
            engine = make_engine(settings.database_url)
            try:
                clock = make_clock(settings, engine)
                if out is not None:
                    result = import_workbook(out, engine, clock)
                else:
                    source, _ = demo.demo_source(schools, seed, fiscal_year)
                    result = import_source(source, engine, clock, label=f"demo-{schools}-seed{seed}")
            finally:
                engine.dispose()
            print_result(result)
            if result.errors:
                raise typer.Exit(1)
