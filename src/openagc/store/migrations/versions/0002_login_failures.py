"""Failed logins per user and source address (`openagc_login_failures`, docs/security.md).

Revision ID: 0002_login_failures
Revises: 0001_baseline
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from openagc.store.types import DATETIME, INT, VARCHAR

TABLE = "openagc_login_failures"

revision: str = "0002_login_failures"
down_revision: str | Sequence[str] | None = "0001_baseline"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A database created by a newer baseline already has it (the baseline creates every missing table).
    if sa.inspect(op.get_bind()).has_table(TABLE):
        return
    op.create_table(
        TABLE,
        sa.Column("user", VARCHAR(20), primary_key=True, autoincrement=False, nullable=False),
        sa.Column("source", VARCHAR(64), primary_key=True, autoincrement=False, nullable=False),
        sa.Column("failures", INT(10, unsigned=True), server_default=sa.text("'0'"), nullable=False),
        sa.Column("window_start", DATETIME(), nullable=False),
        mysql_engine="InnoDB",
        mysql_charset="utf8mb4",
    )


def downgrade() -> None:
    if sa.inspect(op.get_bind()).has_table(TABLE):
        op.drop_table(TABLE)
