"""Run the Alembic migrations programmatically (no ``alembic.ini`` needed).

``upgrade(sync_url)`` is what ``openagc init-db`` and the tests call. ``sync_url`` is a sync
SQLAlchemy URL: ``sqlite:///path/to/file.db`` or ``mysql+pymysql://user:pass@host/db``.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(sync_url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at the package's migrations folder."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if sync_url is not None:
        # ConfigParser interpolation: '%' in passwords must be doubled.
        cfg.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return cfg


def _engine(sync_url: str) -> sa.Engine:
    url = make_url(sync_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def _run(sync_url: str, action: str, revision: str) -> None:
    engine = _engine(sync_url)
    try:
        with engine.begin() as conn:
            cfg = alembic_config(sync_url)
            cfg.attributes["connection"] = conn
            getattr(command, action)(cfg, revision)
    finally:
        engine.dispose()


def upgrade(sync_url: str, revision: str = "head") -> None:
    """Bring the database at ``sync_url`` up to ``revision`` (default: the newest)."""
    _run(sync_url, "upgrade", revision)


def downgrade(sync_url: str, revision: str = "base") -> None:
    """Step the database back to ``revision``; the baseline drops only tables it created."""
    _run(sync_url, "downgrade", revision)


def upgrade_connection(conn: sa.Connection, revision: str = "head") -> None:
    """Run the upgrade on an already open sync connection (e.g. inside ``run_sync``)."""
    cfg = alembic_config(conn.engine.url.render_as_string(hide_password=False))
    cfg.attributes["connection"] = conn
    command.upgrade(cfg, revision)


def add_missing_columns(table: sa.Table, *names: str) -> None:
    """In a migration: add the columns `names` of `table`, as `store/schema.py` declares them (type, nullability,
    server default), where the database lacks them; an existing column (an upstream database) is never altered."""
    from alembic import op

    present = {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table.name)}
    for name in names:
        if name not in present:
            column = table.c[name]
            default = column.server_default.arg if isinstance(column.server_default, sa.DefaultClause) else None
            op.add_column(table.name, sa.Column(name, column.type, nullable=column.nullable, server_default=default))
