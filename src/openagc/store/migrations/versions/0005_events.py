"""The durable event log (`openagc_events`, `openagc_event_sequence`).

Revision ID: 0005_events
Revises: 0004_alter_custdata
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from openagc.store.schema import openagc_event_sequence, openagc_events

revision: str = "0005_events"
down_revision: str | Sequence[str] | None = "0004_alter_custdata"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database created by a newer baseline already has them (the baseline creates every missing table).
    openagc_events.create(bind=op.get_bind(), checkfirst=True)
    openagc_event_sequence.create(bind=op.get_bind(), checkfirst=True)


def downgrade() -> None:
    openagc_event_sequence.drop(bind=op.get_bind(), checkfirst=True)
    openagc_events.drop(bind=op.get_bind(), checkfirst=True)
