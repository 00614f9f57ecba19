"""the outbox holds due items for a free reply: rider text, riding key, merged rows

Revision ID: 0008_quota
Revises: 0007_intents
Create Date: 2026-12-02 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0008_quota"
down_revision: str | None = "0007_intents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("ride_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("rider", sa.Text(), nullable=True))
        batch.add_column(sa.Column("merged_into", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("rode_at", models.types.UTCDateTime(timezone=True), nullable=True))
        batch.create_index("ix_outbox_message_ride_key", ["ride_key", "status"])


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_index("ix_outbox_message_ride_key")
        batch.drop_column("rode_at")
        batch.drop_column("merged_into")
        batch.drop_column("rider")
        batch.drop_column("ride_key")
