"""API keys (`openagc_api_keys`): integrators' keys, stored as the SHA-256 of their secret (integrations/keys.py).

Revision ID: 0007_api_keys
Revises: 0006_report_permissions
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from openagc.store.schema import openagc_api_keys

revision: str = "0007_api_keys"
down_revision: str | Sequence[str] | None = "0006_report_permissions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database created by a newer baseline already has it (the baseline creates every missing table).
    openagc_api_keys.create(bind=op.get_bind(), checkfirst=True)


def downgrade() -> None:
    openagc_api_keys.drop(bind=op.get_bind(), checkfirst=True)
