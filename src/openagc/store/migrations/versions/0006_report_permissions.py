"""The report permissions the companion status API checks: `vicidial_users.view_reports` and `modify_users`.

Upstream's own columns (types and defaults as upstream declares them); an upstream database already has them,
and so does a database created by a newer baseline. Only the missing ones are added.

Revision ID: 0006_report_permissions
Revises: 0005_events
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from openagc.store.types import default, enum

TABLE = "vicidial_users"
COLUMNS = {
    "modify_users": (("0", "1"), "0"),
    "view_reports": (("0", "1"), "0"),
}

revision: str = "0006_report_permissions"
down_revision: str | Sequence[str] | None = "0005_events"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(TABLE)}
    for name, (values, dflt) in COLUMNS.items():
        if name not in present:
            op.add_column(TABLE, sa.Column(name, enum(*values), server_default=default(dflt), nullable=True))


def downgrade() -> None:
    # Nothing to undo: the columns are upstream's (an upstream database had them before this revision), and a
    # table the baseline created is dropped whole by the baseline's own downgrade.
    pass
