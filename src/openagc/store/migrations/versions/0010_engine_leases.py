"""Leases of engines that share the agents (`openagc_engine_leases`).

Revision ID: 0010_engine_leases
Revises: 0009_event_watch
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from openagc.store.schema import openagc_engine_leases

revision: str = "0010_engine_leases"
down_revision: str | Sequence[str] | None = "0009_event_watch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database created by a newer baseline already has it (the baseline creates every missing table).
    openagc_engine_leases.create(bind=op.get_bind(), checkfirst=True)


def downgrade() -> None:
    openagc_engine_leases.drop(bind=op.get_bind(), checkfirst=True)
