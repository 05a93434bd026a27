"""Baseline: create every table of ``openagc.store.schema.metadata`` that does not exist yet.

This revision is the only one built from the metadata. It never alters or drops a table it finds
already present, so it is safe on a database that already holds upstream VICIdial's full schema
(drop-in mode): those tables are kept as they are. The names of the tables it did create are
recorded in ``openagc_created_tables``; ``downgrade`` drops only those. Every later revision is
written as explicit ``op.*`` operations.

Revision ID: 0001_baseline
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from openagc.store.schema import metadata

revision: str = "0001_baseline"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_created = sa.Table(
    "openagc_created_tables",
    sa.MetaData(),
    sa.Column("table_name", sa.String(64), primary_key=True),
    mysql_engine="InnoDB",
    mysql_charset="utf8mb4",
)


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    missing = [t for t in metadata.sorted_tables if t.name not in existing]
    metadata.create_all(bind=bind, tables=missing, checkfirst=True)
    _created.create(bind=bind, checkfirst=True)
    if missing:
        op.bulk_insert(_created, [{"table_name": t.name} for t in missing])


def downgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table(_created.name):
        return
    names = set(bind.execute(sa.select(_created.c.table_name)).scalars())
    tables = [t for t in metadata.sorted_tables if t.name in names]
    metadata.drop_all(bind=bind, tables=tables, checkfirst=True)
    _created.drop(bind=bind, checkfirst=True)
