"""the daily tick's big write costs less: the outbox's event and riding indexes hold only the rows
they find, and PostgreSQL compresses the messages column with lz4

Revision ID: 0010_tickpar
Revises: 0009_evaluation
Create Date: 2026-12-02 16:00:00.000000

* ``ix_outbox_message_event_id`` becomes partial (``event_id IS NOT NULL``): its one query
  (``models.outbox.claim_due_messages(event_id=...)``, ``event_id = ?``) implies it on both
  backends, and the tick's 144,000 rows a day (no event) no longer go into it.
* ``ix_outbox_message_ride_key`` likewise (``ride_key IS NOT NULL``): it is searched by riding key
  only (``=`` or ``IN``), and replies and pushes that cannot ride (the day's messages unless
  ``[riding] reminders_wait_hours``) have none.
* PostgreSQL: a day's message longer than ~2 KB is compressed when stored (TOAST); lz4 compresses
  (and reads back) several times faster than the default pglz. Only where the server was built
  with lz4; rows already stored keep their compression.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_tickpar"
down_revision: str | None = "0009_evaluation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ANSWERS = sa.text("event_id IS NOT NULL")
_RIDING = sa.text("ride_key IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index("ix_outbox_message_event_id")
        batch.create_index(
            "ix_outbox_message_event_id",
            ["event_id"],
            sqlite_where=_ANSWERS,
            postgresql_where=_ANSWERS,
        )
        batch.drop_index("ix_outbox_message_ride_key")
        batch.create_index(
            "ix_outbox_message_ride_key",
            ["ride_key", "status"],
            sqlite_where=_RIDING,
            postgresql_where=_RIDING,
        )
    if _lz4():
        op.execute("ALTER TABLE outbox_message ALTER COLUMN messages SET COMPRESSION lz4")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox_message ALTER COLUMN messages SET COMPRESSION default")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index("ix_outbox_message_event_id")
        batch.create_index("ix_outbox_message_event_id", ["event_id"])
        batch.drop_index("ix_outbox_message_ride_key")
        batch.create_index("ix_outbox_message_ride_key", ["ride_key", "status"])


def _lz4() -> bool:
    """PostgreSQL 14 or later built with lz4 (it lists lz4 among the TOAST compression methods)."""
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    found = bind.execute(
        sa.text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
    ).scalar()
    return found is not None and "lz4" in found
