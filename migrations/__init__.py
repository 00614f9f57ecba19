"""Alembic migrations; `tidtam db upgrade` runs them (see `tidtam/migrate.py`)."""
