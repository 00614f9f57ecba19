"""The models and the migrations agree, on every backend; the schema goes down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine

import models
from tidtam import migrate


def test_migrations_match_models(engine: Engine) -> None:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, models.metadata) == []


def test_every_table_is_created(engine: Engine) -> None:
    names = set(sa.inspect(engine).get_table_names())
    assert set(models.metadata.tables) <= names
    assert "alembic_version" in names


def test_downgrade_to_base_and_back(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'updown.sqlite3'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    engine = sa.create_engine(url)
    assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    assert set(models.metadata.tables) <= set(sa.inspect(engine).get_table_names())
    engine.dispose()
