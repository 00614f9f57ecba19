"""the service clock: the offset of a moved clock, shared by the service's processes

Revision ID: 0005_clock
Revises: 0004
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0005_clock"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offset_us", sa.BigInteger(), nullable=False),
        sa.Column("moved_to", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("moved_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_service_clock_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_clock")),
    )


def downgrade() -> None:
    op.drop_table("service_clock")
