"""`tidtam db upgrade|current|downgrade`: the database schema."""

from __future__ import annotations

import typer

from tidtam import migrate
from tidtam.settings import Settings


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)

    @db.command("upgrade")
    def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
        """Create or upgrade the schema to the newest revision."""
        settings = Settings()
        migrate.upgrade(settings.database_url, revision)
        typer.echo(f"database is at {revision}")

    @db.command("downgrade")
    def downgrade(revision: str = typer.Argument(..., help="Target revision, e.g. base or -1.")) -> None:
        """Step the schema back (development only)."""
        migrate.downgrade(Settings().database_url, revision)

    @db.command("current")
    def current() -> None:
        """Print the schema revision the database is at."""
        migrate.current(Settings().database_url)

    app.add_typer(db, name="db")
