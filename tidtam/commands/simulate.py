"""`tidtam simulate --fy 2570 [--schools N] [--quota 300] [--seed S] [--json]`: a fiscal year of the
service replayed day by day against the LINE emulator, and what it cost in LINE messages."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("simulate")
    def simulate(
        fy: int = typer.Option(2570, "--fy", help="Fiscal year (BE) to replay, 1 Oct – 30 Sep."),
        schools: int | None = typer.Option(
            None,
            "--schools",
            help="Simulate a generated office of N schools (default: the database's office).",
        ),
        quota: int = typer.Option(300, "--quota", help="The LINE plan's monthly push quota; 0: no quota."),
        seed: int = typer.Option(1, "--seed", help="Seed of the simulated people's behaviour."),
        as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
        rules: Path | None = typer.Option(
            None, "--rules", help="A rules file to simulate instead of TIDTAM_RULES_FILE."
        ),
        scratch_url: str | None = typer.Option(
            None,
            "--scratch-database",
            help="Database URL to simulate in (emptied first; default: a temporary SQLite file).",
        ),
    ) -> None:
        """Replay a fiscal year: the real tick, outbox and dispatcher, simulated people, the LINE emulator."""
        import os

        from tidtam.settings import Settings
        from tidtam.simulation.runner import SimulationConfig, SimulationError, run_simulation

        settings = Settings()
        external = os.environ.get("LINE_API_BASE_URL")
        config = SimulationConfig(
            fiscal_year=fy,
            schools=schools,
            quota=quota or None,
            seed=seed,
            source_url=None if schools is not None else settings.database_url,
            line_base_url=external or None,
            rules_file=rules or settings.rules_file,
            database_url=scratch_url,
        )
        try:
            figures = run_simulation(config)
        except SimulationError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from error
        typer.echo(figures.as_json() if as_json else figures.table())
