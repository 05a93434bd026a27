"""The campaign's lead-edit policy: `vicidial_campaigns.disable_alter_custdata` and `disable_alter_custphone`.

Upstream's own columns (types and defaults as upstream declares them); an upstream database already has them,
and so does a database created by a newer baseline. Only the missing ones are added.

Revision ID: 0004_alter_custdata
Revises: 0003_commands
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from openagc.store.migrate import add_missing_columns
from openagc.store.schema import vicidial_campaigns

revision: str = "0004_alter_custdata"
down_revision: str | Sequence[str] | None = "0003_commands"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_missing_columns(vicidial_campaigns, "disable_alter_custdata", "disable_alter_custphone")


def downgrade() -> None:
    # Nothing to undo: the columns are upstream's (an upstream database had them before this revision), and a
    # table the baseline created is dropped whole by the baseline's own downgrade.
    pass
