"""`tidtam serve`: the web service (LINE webhook, health check) under uvicorn."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(
        host: str | None = typer.Option(None, help="Interface to bind (default TIDTAM_HOST or 127.0.0.1)."),
        port: int | None = typer.Option(None, help="Port (default TIDTAM_PORT or 8000)."),
        migrate_first: bool = typer.Option(True, "--migrate/--no-migrate", help="Upgrade the schema first."),
    ) -> None:
        """Run the service."""
        import uvicorn

        from tidtam import migrate
        from tidtam.service import create_app
        from tidtam.settings import Settings

        settings = Settings()
        if migrate_first:
            migrate.upgrade(settings.database_url)
        uvicorn.run(
            create_app(settings),
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
            access_log=False,  # access logs would carry LINE user ids in paths of some routes
        )
