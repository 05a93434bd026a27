"""Command records (`openagc_commands`): every command written for an agent and its outcome.

Revision ID: 0003_commands
Revises: 0002_login_failures
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from openagc.store.schema import openagc_commands

revision: str = "0003_commands"
down_revision: str | Sequence[str] | None = "0002_login_failures"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database created by a newer baseline already has it (the baseline creates every missing table).
    openagc_commands.create(bind=op.get_bind(), checkfirst=True)


def downgrade() -> None:
    openagc_commands.drop(bind=op.get_bind(), checkfirst=True)
