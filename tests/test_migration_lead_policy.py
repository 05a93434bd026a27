"""Migration 0004: the campaign's lead-edit columns (`disable_alter_custdata`, `disable_alter_custphone`) are added
to a `vicidial_campaigns` that lacks them, with upstream's types and defaults, and left alone where they exist
(an upstream database, a newer baseline) — on SQLite and on MariaDB."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from openagc.store.database import make_sync_engine
from openagc.store.migrate import alembic_config, downgrade, upgrade
from tests.support import Backend, scratch_database

COLUMNS = ("disable_alter_custdata", "disable_alter_custphone")


@pytest.fixture
def url(backend: Backend, tmp_path) -> Iterator[str]:
    """An empty database of the session's kind, of this test alone."""
    with scratch_database(backend, "m0004", tmp_path) as found:
        yield found


def _policy(engine: sa.Engine) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.exec_driver_sql(
            "SELECT disable_alter_custdata, disable_alter_custphone FROM vicidial_campaigns "
            "WHERE campaign_id = 'OLD'").one())


def test_the_lead_policy_columns_are_added_only_where_missing(backend: Backend, url: str) -> None:
    engine = make_sync_engine(url)
    sync_url = engine.url.render_as_string(hide_password=False)
    try:
        upgrade(sync_url, "0003_commands")
        with engine.begin() as conn:  # a database made before this revision: no such columns
            for column in COLUMNS:
                conn.exec_driver_sql(f"ALTER TABLE vicidial_campaigns DROP COLUMN {column}")
            conn.exec_driver_sql("INSERT INTO vicidial_campaigns (campaign_id, campaign_name) VALUES ('OLD', 'x')")
        assert not set(COLUMNS) & {c["name"] for c in sa.inspect(engine).get_columns("vicidial_campaigns")}

        upgrade(sync_url)
        assert _policy(engine) == ("N", "Y")  # upstream's defaults for the rows already there
        if backend.kind == "mariadb":
            with engine.connect() as conn:
                shown = {r[0]: (r[1], r[2], r[4]) for r in conn.exec_driver_sql(
                    "SHOW COLUMNS FROM vicidial_campaigns") if r[0] in COLUMNS}
            assert shown == {"disable_alter_custdata": ("enum('Y','N')", "YES", "N"),
                             "disable_alter_custphone": ("enum('Y','N','HIDE')", "YES", "Y")}

        with engine.begin() as conn:  # present now, as in an upstream database: kept with their values
            conn.exec_driver_sql("UPDATE vicidial_campaigns SET disable_alter_custdata = 'Y', "
                                 "disable_alter_custphone = 'HIDE' WHERE campaign_id = 'OLD'")
        downgrade(sync_url, "0003_commands")
        upgrade(sync_url)
        assert _policy(engine) == ("Y", "HIDE")
        with engine.connect() as conn:
            version = conn.exec_driver_sql("SELECT version_num FROM openagc_alembic_version").scalar()
        assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    finally:
        engine.dispose()
