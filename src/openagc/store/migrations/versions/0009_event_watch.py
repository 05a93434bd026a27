"""The stock-VICIdial event watcher's lease and cursors (`openagc_event_watch`, `openagc_event_watch_agents`).

Revision ID: 0009_event_watch
Revises: 0008_webhooks
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from openagc.store.schema import openagc_event_watch, openagc_event_watch_agents

revision: str = "0009_event_watch"
down_revision: str | Sequence[str] | None = "0008_webhooks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database created by a newer baseline already has them (the baseline creates every missing table).
    openagc_event_watch.create(bind=op.get_bind(), checkfirst=True)
    openagc_event_watch_agents.create(bind=op.get_bind(), checkfirst=True)


def downgrade() -> None:
    openagc_event_watch_agents.drop(bind=op.get_bind(), checkfirst=True)
    openagc_event_watch.drop(bind=op.get_bind(), checkfirst=True)
