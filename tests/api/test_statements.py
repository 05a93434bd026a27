"""The statements an api.php command costs: the caller's and the agent's rows in one read, the command's write,
and the closing rows (api log, URL row, command record, supersession) — the request's whole budget, pinned.

Each statement the server runs is seen through SQLAlchemy's `before_cursor_execute` (the executor calls it too,
when a listener is there). On SQLite and MariaDB.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from openagc.services import API_BATCHES

EPOCH = 1768473000  # the frozen clock's (tests/support.py FROZEN_AT)


@contextmanager
def statements(backend) -> Iterator[list[str]]:
    """Every statement the server runs inside the block, as its verb and table ("SELECT users+agent" for the
    caller's row read with the agent's). Left out: BEGIN, COMMIT, ROLLBACK, the reads of `system_settings` and
    `servers`, which a server caches for `cache_seconds` (the tests set 0, so they are read on every request), and
    whatever runs outside api.php's batches (the engine's transitions, the event log's watchers)."""
    seen: list[str] = []

    def note(_conn, _cursor, sql: str, *_rest) -> None:
        task = asyncio.current_task()
        if task is None or task.get_name() != API_BATCHES:
            return
        words = sql.split()
        verb = words[0]
        if verb == "SELECT":
            table = words[words.index("FROM") + 1]
            kind = "SELECT users+agent" if "LEFT OUTER JOIN vicidial_live_agents" in sql else f"SELECT {table}"
        elif verb == "INSERT":
            kind = f"INSERT {words[2]}"
        else:
            kind = f"{verb} {words[1] if len(words) > 1 else ''}".strip()
        if verb not in ("BEGIN", "COMMIT", "ROLLBACK") and kind not in ("SELECT system_settings", "SELECT servers"):
            seen.append(kind)

    engine = backend.services.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def test_a_command_reads_the_caller_and_the_agent_in_one_statement_and_writes_its_rows_in_four_more(
        api, login, backend, db):
    login("1000")
    api("version")  # the server's and the page's log ids are known (cached once per process)
    with statements(backend) as seen:
        assert api("external_pause", agent_user="1000", value="PAUSE") == (
            f"SUCCESS: external_pause function set - PAUSE|{EPOCH}|1000\n")
    assert seen == ["SELECT users+agent", "UPDATE vicidial_live_agents", "INSERT vicidial_api_log",
                            "INSERT vicidial_api_urls", "INSERT openagc_commands", "UPDATE openagc_commands"]
    record = db.rows("openagc_commands")[-1]
    log = db.rows("vicidial_api_log")[-1]
    assert record["api_log_id"] == log["api_id"] and record["value"] == f"PAUSE!{EPOCH}"


def test_an_agent_with_no_live_row_read_beside_the_caller_is_not_logged_in(api, login, backend):
    login("1000")
    api("version")
    with statements(backend) as seen:
        assert api("external_pause", agent_user="1001", value="PAUSE") == (
            "ERROR: agent_user is not logged in - 1001\n")
    assert seen == ["SELECT users+agent", "INSERT vicidial_api_log", "INSERT vicidial_api_urls"]


def test_with_an_alt_user_the_agent_is_read_after_it_is_resolved(api, login, backend, db):
    login("1000")
    api("version")
    db.update("vicidial_users", {"user": "1000"}, custom_three="ALT1")
    with statements(backend) as seen:
        assert api("external_pause", agent_user="1001", alt_user="ALT1", value="PAUSE") == (
            f"SUCCESS: external_pause function set - PAUSE|{EPOCH}|1000\n")
    # the caller alone, alt_user's lookup, then agent 1000's row (not 1001's, which the request named)
    assert seen == ["SELECT vicidial_users", "SELECT vicidial_users", "SELECT vicidial_live_agents",
                    "UPDATE vicidial_live_agents", "INSERT vicidial_api_log", "INSERT vicidial_api_urls",
                    "INSERT openagc_commands", "UPDATE openagc_commands"]
