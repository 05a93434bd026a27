"""Webhook subscriptions and their attempt log (`openagc_webhooks`, `openagc_webhook_attempts`).

Revision ID: 0008_webhooks
Revises: 0007_api_keys
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from openagc.store.schema import openagc_webhook_attempts, openagc_webhooks

revision: str = "0008_webhooks"
down_revision: str | Sequence[str] | None = "0007_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database created by a newer baseline already has them (the baseline creates every missing table).
    openagc_webhooks.create(bind=op.get_bind(), checkfirst=True)
    openagc_webhook_attempts.create(bind=op.get_bind(), checkfirst=True)


def downgrade() -> None:
    openagc_webhook_attempts.drop(bind=op.get_bind(), checkfirst=True)
    openagc_webhooks.drop(bind=op.get_bind(), checkfirst=True)
