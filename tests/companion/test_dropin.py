"""Drop-in: the companion API (engine off) against a database shaped like upstream's fuller schema — more columns
(NOT NULL with defaults) on the tables it reads and writes, and the report permissions present before openagc's
migration ran (the migration leaves them and their values alone)."""

from __future__ import annotations

import httpx

from openagc.api.app import Services
from openagc.config import Settings
from openagc.service import create_app
from openagc.store.database import Database, make_sync_engine
from openagc.store.demo import seed_demo
from openagc.store.migrate import upgrade
from openagc.store.schema import metadata
from tests.support import FROZEN_AT, LiveServer, live_agent_row, scratch_database

EXTRA_COLUMNS = {
    "vicidial_users": ["legacy_hotkeys CHAR(1) NOT NULL DEFAULT '0'", "legacy_wrapup SMALLINT DEFAULT -1"],
    "vicidial_user_groups": ["legacy_shift VARCHAR(20) NOT NULL DEFAULT ''"],
    "vicidial_live_agents": ["legacy_ra_flag VARCHAR(20) NOT NULL DEFAULT ''"],
    "vicidial_log_extended": ["legacy_url_processed CHAR(1) NOT NULL DEFAULT 'N'"],
    "vicidial_api_log": ["legacy_info VARCHAR(20) NOT NULL DEFAULT ''"],
}


def _upstream_database(url: str) -> None:
    """Our schema, widened the way upstream's is wider."""
    engine = make_sync_engine(url)
    sync_url = engine.url.render_as_string(hide_password=False)
    upgrade(sync_url)
    with engine.begin() as conn:
        for table, columns in EXTRA_COLUMNS.items():
            for column in columns:
                conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column}")
    upgrade(sync_url)  # existing tables and columns are left alone
    with engine.begin() as conn:
        seed_demo(conn)
        conn.execute(metadata.tables["vicidial_live_agents"].insert().values(
            **live_agent_row("1000", status="INCALL", lead_id=12345, callerid="M1150103000000012345",
                             comments="MANUAL")))
        conn.execute(metadata.tables["vicidial_log_extended"].insert().values(
            uniqueid="1768473000.1", call_date=FROZEN_AT, lead_id=12345,
            caller_code="M1150103000000012345"))
        conn.execute(metadata.tables["vicidial_log"].insert().values(
            uniqueid="1768473000.1", lead_id=12345, list_id=101, campaign_id="TESTCAMP",
            call_date=FROZEN_AT, status="INCALL", phone_number="3125551001", user="1000"))
    engine.dispose()


def test_the_companion_runs_on_a_wider_upstream_schema(backend, tmp_path):
    with scratch_database(backend, "companion", tmp_path) as url:
        _run_on(url)


def _run_on(url: str) -> None:
    _upstream_database(url)
    settings = Settings(database=url, engine=False, server_name="upstream", hostname="web1", cache_seconds=0)
    server = LiveServer(create_app(settings, Services(settings=settings, db=Database(url))))
    try:
        base = f"{server.base_url}/vicidial/non_agent_api.php?source=test&user=6666&pass=1234"
        assert httpx.get(f"{base}&function=agent_status&agent_user=1000").text == (
            "INCALL|M1150103000000012345|12345|TESTCAMP|0|Agent 1000|AGENTS|1||DEAD|3125551001|1234567890"
            "|8600051\n")
        assert httpx.get(f"{base}&function=logged_in_agents").text == (
            "1000|TESTCAMP|8600051|INCALL|12345|M1150103000000012345|0|Agent 1000|AGENTS|1\n")
        assert httpx.get(f"{base}&function=callid_info&call_id=M1150103000000012345&detail=YES").text == (
            "M1150103000000012345|0|2026-01-15 10:30:00|3125551001|OUTBOUND_MANUAL|TESTCAMP|101|INCALL|1000\n")
        assert httpx.get(f"{base}&function=user_group_status&user_groups=AGENTS").text == (
            "AGENTS|0|1|0|0|0|1|0|0\n")
    finally:
        server.stop()
    engine = make_sync_engine(url)
    with engine.connect() as conn:
        logged = conn.exec_driver_sql(
            "SELECT COUNT(*), MIN(api_script), MIN(legacy_info) FROM vicidial_api_log").one()
        assert tuple(logged) == (4, "non-agent", "")
        webserver = conn.exec_driver_sql("SELECT webserver, hostname FROM vicidial_webservers").one()
        assert tuple(webserver) == ("upstream", "web1")
    engine.dispose()
