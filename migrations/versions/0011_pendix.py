"""the webhook event store's indexes hold pending events only: the claim's test for an earlier
pending event of the same source no longer walks every event the source ever sent

Revision ID: 0011_pendix
Revises: 0010_tickpar
Create Date: 2026-12-04 18:30:00.000000

* ``ix_webhook_event_pending_source`` (``source_key, id``, partial: ``status = 'pending'``) replaces
  ``ix_webhook_event_source_key`` (every event): its one query, the claim's ``NOT EXISTS`` (an
  earlier pending event of the source, ``models.events._PG_CLAIM``), read a source's whole history
  under a generic plan (2,000 buffers and 1.4 ms a batch of 16 over a 200,000-event history).
* ``ix_webhook_event_pending`` (``id``, partial: ``status = 'pending' AND id > 0``) replaces
  ``ix_webhook_event_status_id`` (``status, id``): the intake's pending reads (in id order) are its
  only queries, and only they say ``id > 0`` (true of every id): the claim's test cannot take this
  index instead of the source's, which PostgreSQL did with statistics taken while nothing was
  pending (both partial indexes then look empty to it) and, under a backlog of 5,000 events, walked
  every earlier pending event for each event claimed (0.6 ms each; 0.03 ms by the source's index).
* A claim's UPDATE to done takes its row out of both, and no longer adds an entry to two indexes of
  the whole history (a status change is never a HOT update). Both queries spell the status as the
  literal ``'pending'``, without which neither database's planner would use a partial index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_pendix"
down_revision: str | None = "0010_tickpar"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PENDING = sa.text("status = 'pending'")
_PENDING_IDS = sa.text("status = 'pending' AND id > 0")


def upgrade() -> None:
    with op.batch_alter_table("webhook_event") as batch:
        batch.drop_index("ix_webhook_event_status_id")
        batch.drop_index("ix_webhook_event_source_key")
        batch.create_index(
            "ix_webhook_event_pending", ["id"], sqlite_where=_PENDING_IDS, postgresql_where=_PENDING_IDS
        )
        batch.create_index(
            "ix_webhook_event_pending_source",
            ["source_key", "id"],
            sqlite_where=_PENDING,
            postgresql_where=_PENDING,
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_event") as batch:
        batch.drop_index("ix_webhook_event_pending_source")
        batch.drop_index("ix_webhook_event_pending")
        batch.create_index("ix_webhook_event_source_key", ["source_key"])
        batch.create_index("ix_webhook_event_status_id", ["status", "id"])
