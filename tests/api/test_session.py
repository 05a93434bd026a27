"""external_hangup, external_status, external_pause, logout, pause_code."""

from __future__ import annotations


def test_external_hangup_sets_the_command(api, db, login):
    login("1000")
    assert api("external_hangup", agent_user="1000", value="1") == "SUCCESS: external_hangup function set - 1|1000\n"
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == "1"
    log = db.last_log()
    assert (log["function"], log["agent_user"], log["value"], log["result"], log["result_reason"]) == (
        "external_hangup", "1000", "1", "SUCCESS", "external_hangup function set")


def test_external_hangup_not_valid_changes_nothing(api, db, login):
    login("1000")
    assert api("external_hangup", agent_user="1000", value="") == "ERROR: external_hangup not valid - |1000\n"
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == ""


def test_external_hangup_agent_not_logged_in(api, db):
    assert api("external_hangup", agent_user="1000", value="1") == (
        "ERROR: agent_user is not logged in - 1000\n")
    assert db.last_log()["result_reason"] == "agent_user is not logged in"
