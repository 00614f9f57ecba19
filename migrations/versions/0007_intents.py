"""rich menus: the menus the service created on LINE, and which one each person was last shown

Revision ID: 0007_intents
Revises: 0006_dashboard
Create Date: 2026-12-02 01:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import models.types

revision: str = "0007_intents"
down_revision: str | None = "0006_dashboard"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rich_menu",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("line_id", sa.String(length=100), nullable=False),
        sa.Column("created_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rich_menu")),
    )
    op.create_table(
        "rich_menu_link",
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("linked_at", models.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_rich_menu_link_person_id_person")
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_rich_menu_link")),
    )


def downgrade() -> None:
    op.drop_table("rich_menu_link")
    op.drop_table("rich_menu")
