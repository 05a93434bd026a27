"""The report permissions the companion status API checks: `vicidial_users.view_reports` and `modify_users`.

Upstream's own columns (types and defaults as upstream declares them); an upstream database already has them,
and so does a database created by a newer baseline. Only the missing ones are added.

Revision ID: 0006_report_permissions
Revises: 0005_events
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from openagc.store.migrate import add_missing_columns
from openagc.store.schema import vicidial_users

revision: str = "0006_report_permissions"
down_revision: str | Sequence[str] | None = "0005_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_missing_columns(vicidial_users, "modify_users", "view_reports")


def downgrade() -> None:
    # Nothing to undo: the columns are upstream's (an upstream database had them before this revision), and a
    # table the baseline created is dropped whole by the baseline's own downgrade.
    pass
