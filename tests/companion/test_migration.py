"""Migration 0006: `vicidial_users.view_reports` and `modify_users` (the companion API's permissions) are added to a
`vicidial_users` that lacks them, with upstream's types and defaults, and left alone where they exist (an
upstream database, a newer baseline) — on SQLite and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from openagc.store.database import make_sync_engine
from openagc.store.migrate import alembic_config, downgrade, upgrade
from tests.support import Backend, scratch_database

COLUMNS = ("modify_users", "view_reports")


@pytest.fixture
def url(backend: Backend, tmp_path) -> Iterator[str]:
    """An empty database of the session's kind, of this test alone."""
    with scratch_database(backend, "m0006", tmp_path) as found:
        yield found


def _permissions(engine: sa.Engine) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.exec_driver_sql(
            "SELECT modify_users, view_reports FROM vicidial_users WHERE user = 'old'").one())


def test_the_report_permission_columns_are_added_only_where_missing(backend: Backend, url: str) -> None:
    engine = make_sync_engine(url)
    sync_url = engine.url.render_as_string(hide_password=False)
    try:
        upgrade(sync_url, "0005_events")
        with engine.begin() as conn:  # a database made before this revision: no such columns
            for column in COLUMNS:
                conn.exec_driver_sql(f"ALTER TABLE vicidial_users DROP COLUMN {column}")
            conn.exec_driver_sql("INSERT INTO vicidial_users (user, pass) VALUES ('old', 'x')")
        assert not set(COLUMNS) & {c["name"] for c in sa.inspect(engine).get_columns("vicidial_users")}

        upgrade(sync_url)
        assert _permissions(engine) == ("0", "0")  # upstream's defaults for the rows already there
        if backend.kind == "mariadb":
            with engine.connect() as conn:
                shown = {r[0]: (r[1], r[2], r[4]) for r in conn.exec_driver_sql(
                    "SHOW COLUMNS FROM vicidial_users") if r[0] in COLUMNS}
            assert shown == {"modify_users": ("enum('0','1')", "YES", "0"),
                             "view_reports": ("enum('0','1')", "YES", "0")}

        with engine.begin() as conn:  # present now, as in an upstream database: kept with their values
            conn.exec_driver_sql("UPDATE vicidial_users SET modify_users = '1', view_reports = '1' WHERE user = 'old'")
        downgrade(sync_url, "0005_events")
        upgrade(sync_url)
        assert _permissions(engine) == ("1", "1")
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM openagc_alembic_version").scalar()
        assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    finally:
        engine.dispose()
