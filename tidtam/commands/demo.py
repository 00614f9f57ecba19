"""`tidtam demo`: what `make run` starts — the service with a demo office, the LINE emulator and the
browser simulator (tidtam/simulator/demo.py)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        schools: int = typer.Option(40, help="Schools in the generated demo office (first run only)."),
        port: int | None = typer.Option(None, help="Port (default TIDTAM_PORT or 8000)."),
        quota: int | None = typer.Option(
            None,
            help="The emulated LINE plan's monthly push quota (e.g. 300, the Thai free plan); none by default.",
        ),
    ) -> None:
        """Try Tidtam without LINE: a demo office, a LINE emulator, and a chat simulator in the browser."""
        from tidtam.simulator.demo import run_demo

        run_demo(schools=schools, port=port, quota=quota)
