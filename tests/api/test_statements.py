"""The statements an api.php command costs: the caller's and the agent's rows in one read, the command's write,
and the closing rows (api log, URL row, command record, supersession) — the request's whole budget, pinned.

Each statement the server runs is seen through SQLAlchemy's `before_cursor_execute` (the executor calls it too,
when a listener is there). On SQLite and MariaDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tests.support import api_batch_statements

EPOCH = 1768473000  # the frozen clock's (tests/support.py FROZEN_AT)


def _kind(sql: str) -> str:
    """A statement as its verb and table ("SELECT users+agent" for the caller's row read with the agent's)."""
    words = sql.split()
    verb = words[0]
    if verb == "SELECT":
        table = words[words.index("FROM") + 1]
        return "SELECT users+agent" if "LEFT OUTER JOIN vicidial_live_agents" in sql else f"SELECT {table}"
    if verb == "INSERT":
        return f"INSERT {words[2]}"
    return f"{verb} {words[1] if len(words) > 1 else ''}".strip()


@contextmanager
def statements(backend) -> Iterator[list[str]]:
    """Every statement api.php's batches run inside the block, as its verb and table (`_kind`), once the block
    ends. Left out: BEGIN, COMMIT, ROLLBACK, and the reads of `system_settings` and `servers`, which a server caches
    for `cache_seconds` (the tests set 0, so they are read on every request)."""
    kinds: list[str] = []
    with api_batch_statements(backend) as sent:
        yield kinds
    kinds.extend(k for k in map(_kind, sent) if k.split()[0] not in ("BEGIN", "COMMIT", "ROLLBACK")
                 and k not in ("SELECT system_settings", "SELECT servers"))


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


def test_a_manual_dial_makes_its_campaign_paused_and_permission_checks_in_one_read(api, login, backend):
    login("1000")
    api("version")
    with statements(backend) as seen:
        assert api("external_dial", agent_user="1000", value="7275551212", search="YES", preview="NO",
                   focus="YES") == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES||{EPOCH}||||\n"
    # the campaign's api_manual_dial, a paused row without a lead and agentcall_manual: one SELECT (dial._checks)
    assert seen == ["SELECT users+agent", "SELECT vicidial_campaigns", "UPDATE vicidial_live_agents",
                    "INSERT vicidial_api_log", "INSERT vicidial_api_urls", "INSERT openagc_commands",
                    "UPDATE openagc_commands"]
