"""external_hangup, external_status, external_pause, logout, pause_code."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support import CLOSE, log_of

EPOCH = int(datetime(2026, 1, 15, 10, 30).timestamp())


def last(db):
    return log_of(db.last_log())


def agent(db, user="1000"):
    return db.row("vicidial_live_agents", user=user)


# --- shared steps, for every function of this module ----------------------------------------------
SESSION_CALLS = [
    ("external_hangup", "1", "external_hangup", "1"),
    ("external_status", "A", "external_status", "A"),
    ("external_pause", "PAUSE", "external_pause", f"PAUSE!{EPOCH}"),
    ("logout", "LOGOUT", "external_pause", "LOGOUT"),
    ("pause_code", "BREAK", "external_pause_code", "BREAK"),
]


@pytest.mark.parametrize(("function", "value", "column", "_written"), SESSION_CALLS)
def test_permission_denied_ends_and_changes_nothing(api, db, login, function, value, column, _written):
    login("1000")
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version webserver ")
    body = api(function, agent_user="1000", value=value, close_window_link="1")
    assert body == (
        f"ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - {value}|6666|{function}|ADMIN\n"
    )  # EXIT: no close-window link
    assert agent(db)[column] == ""
    assert last(db) == (function, "1000", value, "ERROR", "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION", "")


@pytest.mark.parametrize(("function", "value", "column", "_written"), SESSION_CALLS)
def test_alt_user_miss_ends_without_acting_on_agent_user(api, db, login, function, value, column, _written):
    """Upstream carried on with agent_user after the miss (hazard); we stop after the line."""
    login("1000")
    assert api(function, agent_user="1000", alt_user="99999", value=value) == "ERROR: no user found - 99999\n"
    assert agent(db)[column] == ""
    assert [log_of(r) for r in db.logs()] == [(function, "1000", value, "ERROR", "no user found", "")]


@pytest.mark.parametrize(("function", "value", "column", "written"), SESSION_CALLS)
def test_alt_user_resolves_the_agent(api, db, login, function, value, column, written):
    login("1000")
    login("1001")
    body = api(function, agent_user="1001", alt_user="71000", value=value)
    assert body.startswith("SUCCESS: ") and body.endswith("1000\n")
    assert agent(db)[column] == written
    assert agent(db, "1001")[column] == ""
    assert db.last_log()["agent_user"] == "1000"


# --- external_hangup ------------------------------------------------------------------------------
def test_external_hangup_sets_the_command(api, db, login):
    login("1000")
    assert api("external_hangup", agent_user="1000", value="1") == ("SUCCESS: external_hangup function set - 1|1000\n")
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == "1"
    log = db.last_log()
    assert (log["function"], log["agent_user"], log["value"], log["result"], log["result_reason"]) == (
        "external_hangup",
        "1000",
        "1",
        "SUCCESS",
        "external_hangup function set",
    )


def test_external_hangup_not_valid_changes_nothing(api, db, login):
    login("1000")
    assert api("external_hangup", agent_user="1000", value="") == "ERROR: external_hangup not valid - |1000\n"
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == ""


def test_external_hangup_agent_not_logged_in(api, db):
    assert api("external_hangup", agent_user="1000", value="1") == ("ERROR: agent_user is not logged in - 1000\n")
    assert db.last_log()["result_reason"] == "agent_user is not logged in"


# --- external_status ------------------------------------------------------------------------------
def test_external_status_plain_status(api, db, login):
    login("1000")
    assert api("external_status", agent_user="1000", value="A") == ("SUCCESS: external_status function set - A|1000\n")
    assert agent(db)["external_status"] == "A"
    assert last(db) == ("external_status", "1000", "A", "SUCCESS", "external_status function set", "")


def test_external_status_system_callback_with_qm_code(api, db, login):
    """The document's second example: a system callback status, every callback field, a QM code."""
    login("1000")
    body = api(
        "external_status",
        agent_user="1000",
        value="CALLBK",
        callback_datetime="2012-01-25+12:00:00",
        callback_type="USERONLY",
        callback_comments="callback+comments+go+here",
        qm_dispo_code="1234",
    )
    composed = "CALLBK!2012-01-25 12:00:00!USERONLY!callback comments go here!1234"
    assert body == f"SUCCESS: external_status function set - {composed}|1000\n"
    assert agent(db)["external_status"] == composed
    assert last(db) == ("external_status", "1000", composed, "SUCCESS", "external_status function set", "")


def test_external_status_campaign_callback_defaults_type_to_anyone(api, db, login):
    login("1000")  # TESTCAMP, where CAMPCB is a scheduled-callback status
    body = api(
        "external_status",
        agent_user="1000",
        value="CAMPCB",
        callback_datetime="2026-01-20 09:00:00",
        callback_type="AB",
    )
    assert body == "SUCCESS: external_status function set - CAMPCB!2026-01-20 09:00:00!ANYONE!!|1000\n"
    assert agent(db)["external_status"] == "CAMPCB!2026-01-20 09:00:00!ANYONE!!"


def test_external_status_campaign_callback_of_another_campaign_is_not_a_callback(api, db, login):
    login("1000", campaign_id="MANCAMP")
    body = api("external_status", agent_user="1000", value="CAMPCB", callback_datetime="2026-01-20 09:00:00")
    assert body == "SUCCESS: external_status function set - CAMPCB|1000\n"
    assert agent(db)["external_status"] == "CAMPCB"


def test_external_status_non_callback_status_drops_callback_fields_keeps_qm(api, db, login):
    login("1000")
    body = api(
        "external_status",
        agent_user="1000",
        value="SALE",
        callback_datetime="2026-01-20 09:00:00",
        callback_type="USERONLY",
        callback_comments="x",
        qm_dispo_code="Q.1",
    )
    assert body == "SUCCESS: external_status function set - SALE!!!!Q.1|1000\n"
    assert agent(db)["external_status"] == "SALE!!!!Q.1"


def test_external_status_short_datetime_is_no_callback(api, db, login):
    login("1000")
    body = api("external_status", agent_user="1000", value="CALLBK", callback_datetime="2026-01-20")
    assert body == "SUCCESS: external_status function set - CALLBK|1000\n"
    assert agent(db)["external_status"] == "CALLBK"


def test_external_status_comments_cut_to_200_and_column_to_255(api, db, login):
    login("1000")
    comments, qm = "c" * 250, "q" * 100
    body = api(
        "external_status",
        agent_user="1000",
        value="CALLBK",
        callback_datetime="2026-01-20 09:00:00",
        callback_comments=comments,
        qm_dispo_code=qm,
    )
    composed = f"CALLBK!2026-01-20 09:00:00!ANYONE!{'c' * 200}!{qm}"
    assert body == f"SUCCESS: external_status function set - {composed}|1000\n"
    assert agent(db)["external_status"] == composed[:255]
    assert db.last_log()["value"] == composed[:255]


def test_external_status_not_valid(api, db, login):
    login("1000")
    assert api("external_status", agent_user="1000", value="") == "ERROR: external_status not valid - |1000\n"
    assert agent(db)["external_status"] == ""
    assert last(db) == ("external_status", "1000", "", "ERROR", "external_status not valid", "")


def test_external_status_not_logged_in(api, db):
    assert api("external_status", agent_user="1000", value="A") == ("ERROR: agent_user is not logged in - 1000\n")
    assert last(db) == ("external_status", "1000", "A", "ERROR", "agent_user is not logged in", "")


# --- external_pause -------------------------------------------------------------------------------
def test_external_pause_pause(api, db, login):
    login("1000", status="INCALL")  # PAUSE has no state check: the session pauses after the call
    assert api("external_pause", agent_user="1000", value="PAUSE") == (
        f"SUCCESS: external_pause function set - PAUSE|{EPOCH}|1000\n"
    )
    assert agent(db)["external_pause"] == f"PAUSE!{EPOCH}"
    assert last(db) == ("external_pause", "1000", "PAUSE", "SUCCESS", "external_pause function set", str(EPOCH))


@pytest.mark.parametrize("status", ["PAUSED", "MQUEUE"])
def test_external_pause_resume_when_paused(api, db, login, status):
    login("1000", status=status)
    assert api("external_pause", agent_user="1000", value="RESUME") == (
        f"SUCCESS: external_pause function set - RESUME|{EPOCH}|1000\n"
    )
    assert agent(db)["external_pause"] == f"RESUME!{EPOCH}"


@pytest.mark.parametrize("status", ["READY", "QUEUE", "INCALL", "CLOSER"])
def test_external_pause_resume_refused_when_not_paused(api, db, login, status):
    login("1000", status=status, external_pause="")
    body = api("external_pause", agent_user="1000", value="RESUME", close_window_link="1")
    assert body == "ERROR: external_pause agent is not paused - RESUME|1000\n"  # EXIT: no close-window link
    assert agent(db)["external_pause"] == ""
    assert last(db) == ("external_pause", "1000", "RESUME", "ERROR", "external_pause agent is not paused", "")


@pytest.mark.parametrize("value", ["XPAUSE", "PAUSED", "pause", "RESUMEX", ""])
def test_external_pause_exact_values_only(api, db, login, value):
    """Upstream accepted any value containing PAUSE/RESUME, which the screen then ignored (hazard)."""
    login("1000")
    body = api("external_pause", agent_user="1000", value=value, close_window_link="1")
    assert body == f"ERROR: external_pause not valid - {value}|1000\n" + CLOSE  # END: the trailer follows
    assert agent(db)["external_pause"] == ""
    assert last(db) == ("external_pause", "1000", value, "ERROR", "external_pause not valid", "")


def test_external_pause_one_character_alt_user_passes_validation_without_lookup(api, db, login):
    login("1000")
    assert api("external_pause", agent_user="", alt_user="7", value="PAUSE") == (
        "ERROR: agent_user is not logged in - \n"
    )
    assert agent(db)["external_pause"] == ""
    assert api("external_pause", agent_user="1000", alt_user="7", value="PAUSE") == (
        f"SUCCESS: external_pause function set - PAUSE|{EPOCH}|1000\n"
    )
    assert agent(db)["external_pause"] == f"PAUSE!{EPOCH}"


def test_external_pause_not_valid_without_agent(api, db):
    assert api("external_pause", agent_user="", value="PAUSE") == "ERROR: external_pause not valid - PAUSE|\n"


def test_external_pause_not_logged_in(api, db):
    assert api("external_pause", agent_user="1000", value="PAUSE") == ("ERROR: agent_user is not logged in - 1000\n")
    assert last(db) == ("external_pause", "1000", "PAUSE", "ERROR", "agent_user is not logged in", "")


# --- logout ---------------------------------------------------------------------------------------
def test_logout_sets_the_command_over_a_pending_pause(api, db, login):
    login("1000", external_pause=f"PAUSE!{EPOCH - 5}")
    assert api("logout", agent_user="1000", value="LOGOUT") == (f"SUCCESS: logout function set - LOGOUT|{EPOCH}|1000\n")
    assert agent(db)["external_pause"] == "LOGOUT"
    assert last(db) == ("logout", "1000", "LOGOUT", "SUCCESS", "logout function set", str(EPOCH))


@pytest.mark.parametrize("value", ["LOGOUTNOW", "XLOGOUT", "logout", "PAUSE"])
def test_logout_exact_value_only(api, db, login, value):
    login("1000")
    assert api("logout", agent_user="1000", value=value) == f"ERROR: logout not valid - {value}|1000\n"
    assert agent(db)["external_pause"] == ""
    assert last(db) == ("logout", "1000", value, "ERROR", "logout not valid", "")


def test_logout_one_character_alt_user(api, db, login):
    login("1000")
    assert api("logout", agent_user="1000", alt_user="X", value="LOGOUT") == (
        f"SUCCESS: logout function set - LOGOUT|{EPOCH}|1000\n"
    )


def test_logout_not_logged_in(api, db):
    assert api("logout", agent_user="1000", value="LOGOUT") == "ERROR: agent_user is not logged in - 1000\n"
    assert last(db) == ("logout", "1000", "LOGOUT", "ERROR", "agent_user is not logged in", "")


# --- pause_code -----------------------------------------------------------------------------------
def test_pause_code_sets_the_code(api, db, login):
    login("1000", status="PAUSED")
    assert api("pause_code", agent_user="1000", value="BREAK") == "SUCCESS: pause_code function sent - 1000\n"
    assert agent(db)["external_pause_code"] == "BREAK"
    assert last(db) == ("pause_code", "1000", "BREAK", "SUCCESS", "pause_code function sent", str(EPOCH))


def test_pause_code_is_not_checked_against_the_campaign_codes(api, db, login):
    login("1000")
    assert api("pause_code", agent_user="1000", value="XYZ123") == ("SUCCESS: pause_code function sent - 1000\n")
    assert agent(db)["external_pause_code"] == "XYZ123"


def test_pause_code_agent_not_paused(api, db, login):
    login("1000", status="READY")
    body = api("pause_code", agent_user="1000", value="BREAK", close_window_link="1")
    assert body == "ERROR: pause_code error - agent is not paused - 1000\n" + CLOSE
    assert agent(db)["external_pause_code"] == ""
    assert last(db) == ("pause_code", "1000", "BREAK", "ERROR", "pause_code error - agent is not paused", "")


@pytest.mark.parametrize("value", ["JUMPING", ""])
def test_pause_code_not_valid(api, db, login, value):
    """The document prints `6666|JUMPING`; upstream's code prints value first."""
    login("1000")
    assert api("pause_code", agent_user="1000", value=value) == (f"ERROR: pause_code not valid - {value}|1000\n")
    assert agent(db)["external_pause_code"] == ""
    assert last(db) == ("pause_code", "1000", value, "ERROR", "pause_code not valid", "")


def test_pause_code_not_logged_in(api, db):
    assert api("pause_code", agent_user="1000", value="BREAK") == ("ERROR: agent_user is not logged in - 1000\n")
    assert last(db) == ("pause_code", "1000", "BREAK", "ERROR", "agent_user is not logged in", "")


def test_json_format(api, db, login):
    login("1000")
    response = api.get("external_pause", agent_user="1000", value="PAUSE", format="json")
    assert response.json() == {
        "result": "SUCCESS",
        "reason": "external_pause function set",
        "details": ["PAUSE", str(EPOCH), "1000"],
        "notices": [],
        "command_id": db.row("openagc_commands", command="external_pause")["command_id"],
    }
