"""Drop-in mode: the API (engine off) against a database built from upstream's fuller schema.

Upstream's tables carry many more columns (NOT NULL with defaults) and there are many more tables. This builds
our schema, widens it the way upstream's is wider, re-runs the migration (which must leave existing tables
alone) and drives the API against it.
"""

from __future__ import annotations

import httpx
import sqlalchemy as sa

from openagc.api.app import Services
from openagc.config import Settings
from openagc.service import create_app
from openagc.store.database import Database, make_sync_engine
from openagc.store.demo import seed_demo
from openagc.store.migrate import upgrade
from tests.support import LiveServer, live_agent_row, scratch_database

EXTRA_COLUMNS = {
    # names no table of ours declares, shaped like upstream's (NOT NULL with a default)
    "vicidial_live_agents": [
        "legacy_ra_flag VARCHAR(20) NOT NULL DEFAULT ''",
        "legacy_hook CHAR(1) NOT NULL DEFAULT 'N'",
    ],
    "vicidial_users": ["legacy_shifts CHAR(1) NOT NULL DEFAULT '0'", "legacy_wrapup SMALLINT DEFAULT -1"],
    "vicidial_api_log": ["legacy_info VARCHAR(20) NOT NULL DEFAULT ''"],
    "system_settings": ["legacy_sounds CHAR(1) NOT NULL DEFAULT '0'"],
}


def _widen(url: str) -> None:
    engine = make_sync_engine(url)
    with engine.begin() as conn:
        for table, columns in EXTRA_COLUMNS.items():
            for column in columns:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column}")
        conn.exec_driver_sql("CREATE TABLE vicidial_shifts (shift_id VARCHAR(20) NOT NULL PRIMARY KEY)")
    engine.dispose()


def test_api_runs_on_a_wider_upstream_schema(backend, tmp_path):
    with scratch_database(backend, "dropin", tmp_path) as url:
        _run_on(url)


def _run_on(url: str) -> None:
    sync = make_sync_engine(url)
    try:
        upgrade(sync.url.render_as_string(hide_password=False))
        _widen(url)
        upgrade(sync.url.render_as_string(hide_password=False))  # existing tables are left alone
        with sync.begin() as conn:
            seed_demo(conn)
            conn.execute(schema_table("vicidial_live_agents").insert().values(**live_agent_row("1000")))
        settings = Settings(database=url, engine=False, server_name="upstream", hostname="web1", cache_seconds=0)
        server = LiveServer(create_app(settings, Services(settings=settings, db=Database(url))))
        try:
            base = f"{server.base_url}/agc/api.php?source=test&user=6666&pass=1234&agent_user=1000"
            assert httpx.get(f"{base}&function=external_pause&value=PAUSE").text.startswith(
                "SUCCESS: external_pause function set - PAUSE|"
            )
            assert httpx.get(f"{base}&function=external_status&value=A").text == (
                "SUCCESS: external_status function set - A|1000\n"
            )
        finally:
            server.stop()
        with sync.connect() as conn:
            row = conn.exec_driver_sql(
                "SELECT external_status, legacy_ra_flag, legacy_hook FROM vicidial_live_agents WHERE user='1000'"
            ).one()
            assert tuple(row) == ("A", "", "N")
            logged = conn.exec_driver_sql("SELECT COUNT(*), MIN(legacy_info) FROM vicidial_api_log").one()
            assert tuple(logged) == (2, "")
    finally:
        sync.dispose()


def schema_table(name: str) -> sa.Table:
    from openagc.store.schema import metadata

    return metadata.tables[name]
