"""What every companion request goes through: version and coffee before the login, the login (api.php's check,
lockout and IP lists; one refusal line, no log row), the unknown function, the source, api_allowed_functions,
each function's permission, the api log rows, POST, headers and JSON."""

from __future__ import annotations

import time

import pytest

from openagc.api.auth import LOCKOUT_FAILURES
from tests.companion.conftest import AUTH, PATH, add_user, log_row, logged
from tests.support import FROZEN_AT

EPOCH = int(FROZEN_AT.timestamp())
DENIED = {
    "agent_status": "agent_status USER DOES NOT HAVE PERMISSION TO GET AGENT INFO",
    "logged_in_agents": "logged_in_agents USER DOES NOT HAVE PERMISSION TO GET AGENT INFO",
    "callid_info": "callid_info USER DOES NOT HAVE PERMISSION TO GET CALL INFO",
    "agent_ingroup_info": "agent_ingroup_info USER DOES NOT HAVE PERMISSION TO GET AGENT INFO",
    "agent_campaigns": "agent_campaigns USER DOES NOT HAVE PERMISSION TO GET AGENT INFO",
    "in_group_status": "in_group_status USER DOES NOT HAVE PERMISSION TO GET IN-GROUP INFO",
    "user_group_status": "user_group_status USER DOES NOT HAVE PERMISSION TO GET USER GROUP INFO",
}
LOGIN_INCORRECT = "ERROR: Login incorrect, please try again: |{}|\n"


def _version_text(dst: int, tz: str, tznow: str) -> str:
    return (f"VERSION: 2.14-202|BUILD: 250720-1841|DATE: 2026-01-15 10:30:00|EPOCH: {EPOCH}|DST: {dst}|TZ: {tz}|"
            f"TZNOW: {tznow}|")


def _dst() -> int:
    return 1 if time.localtime(EPOCH).tm_isdst > 0 else 0


def test_version_needs_no_login_and_is_logged(companion, db):
    text = _version_text(_dst(), "-5.00", "-4" if _dst() else "-5.00")
    assert companion("version", auth=None) == text + "\n"
    assert log_row(db) == logged(db, "version", "SUCCESS", "", text, user="") | {"source": ""}
    assert db.last_log()["api_date"] == FROZEN_AT
    url = db.row("vicidial_api_urls", api_id=db.last_log()["api_id"])
    assert (url["url"], url["remote_ip"]) == ("function=version", "127.0.0.1")
    assert db.row("vicidial_urls", url_id=db.last_log()["api_url"])["url"].endswith(PATH)
    # wrong credentials do not matter to version
    assert companion("version", auth={"user": "6666", "pass": "wrong"}) == text + "\n"
    assert db.row("vicidial_users", user="6666")["failed_login_count"] == 0


def test_version_without_an_active_server_reads_the_process_zone(companion, db):
    db.update("servers", {"server_id": "demo1"}, active="N")
    offset = time.localtime(EPOCH).tm_gmtoff
    hhmm = abs(offset) // 3600 * 100 + abs(offset) % 3600 // 60
    tznow = f"{(-hhmm if offset < 0 else hhmm) / 100:.14G}"
    assert companion("version", auth=None) == _version_text(_dst(), "", tznow) + "\n"


def test_version_as_json(companion, db):
    dst = _dst()
    assert companion.json("version") == {"result": "SUCCESS", "function": "version", "data": [{
        "version": "2.14-202", "build": "250720-1841", "date": "2026-01-15 10:30:00", "epoch": EPOCH, "dst": dst,
        "tz": "-5.00", "tznow": "-4" if dst else "-5.00"}]}


def test_coffee_is_a_teapot(companion, db):
    response = companion.get("brew_coffee", auth=None)
    assert (response.status_code, response.text) == (418, "Coffee: brew_coffee|Error 418 I'm a teapot")
    assert log_row(db) == logged(db, "brew_coffee", "ERROR", "", "Coffee: brew_coffee|Error 418 I'm a teapot",
                                 user="") | {"source": ""}


@pytest.mark.parametrize("credentials", [
    {"user": "6666", "pass": "wrong"},
    {"user": "6666", "pass": "1"},
    {"user": "nosuch", "pass": "1234"},
    {"user": "6666"},
])
def test_refused_login_echoes_nothing_and_writes_no_log_row(companion, db, credentials):
    body = companion("agent_status", auth=credentials | {"source": "test"}, agent_user="1000")
    assert body == LOGIN_INCORRECT.format(credentials["user"])
    assert db.count("vicidial_api_log") == 0
    if credentials["user"] == "6666":
        user = db.row("vicidial_users", user="6666")
        assert (user["failed_login_count"], user["failed_last_type_today"], user["failed_last_ip_today"]) == (
            1, "01cBAD", "127.0.0.1")


@pytest.mark.parametrize("arrange", [{"active": "N"}, {"user_level": 6}, {"user_level": 0}])
def test_inactive_or_low_level_users_are_refused(companion, db, arrange):
    db.update("vicidial_users", {"user": "6666"}, **arrange)
    assert companion("agent_status", agent_user="1000") == LOGIN_INCORRECT.format("6666")
    assert db.count("vicidial_api_log") == 0
    if arrange.get("user_level") == 6:  # the password was right: not counted as a failed login
        assert db.row("vicidial_users", user="6666")["failed_login_count"] == 0


def test_refused_login_as_json(companion, db):
    assert companion.json("agent_status", auth={"user": "6666", "pass": "nope"}) == {
        "result": "ERROR", "function": "agent_status", "reason": "Login incorrect, please try again",
        "details": ["6666"]}


def test_the_lockout_is_api_phps(companion, api, db):
    for _ in range(LOCKOUT_FAILURES):
        assert companion("logged_in_agents", auth={"user": "6666", "pass": "wrong"}) == LOGIN_INCORRECT.format("6666")
    # locked from this address, with the right password, here and on api.php
    assert companion("logged_in_agents") == LOGIN_INCORRECT.format("6666")
    assert api("external_pause", agent_user="1000", value="PAUSE") == "ERROR: Invalid Username/Password: |6666|\n"
    user = db.row("vicidial_users", user="6666")
    assert (user["failed_login_count"], user["failed_last_type_today"]) == (LOCKOUT_FAILURES, "03cLOCK")


def test_ip_lists_apply(companion, db):
    db.update("system_settings", {}, allow_ip_lists="1")
    db.update("vicidial_user_groups", {"user_group": "ADMIN"}, api_ip_list="OFFICE")
    db.insert("vicidial_ip_lists", ip_list_id="OFFICE", ip_list_name="Office", active="Y")
    db.insert("vicidial_ip_list_entries", ip_list_id="OFFICE", ip_address="10.1.1.1")
    assert companion("logged_in_agents") == LOGIN_INCORRECT.format("6666")
    assert db.row("vicidial_users", user="6666")["failed_last_type_today"] == "04cIPBLOCK"
    db.insert("vicidial_ip_list_entries", ip_list_id="OFFICE", ip_address="127.0.0.x")
    assert companion("logged_in_agents") == "ERROR: logged_in_agents NO LOGGED IN AGENTS: 6666|\n"


def test_unknown_function(companion, db):
    assert companion("add_lead") == "ERROR: NO FUNCTION SPECIFIED\n"
    assert log_row(db) == logged(db, "add_lead", "ERROR", "NO FUNCTION SPECIFIED", "")
    assert companion.json("stereo_recording") == {"result": "ERROR", "function": "stereo_recording",
                                                  "reason": "NO FUNCTION SPECIFIED", "details": ["stereo_recording"]}
    assert companion() == "ERROR: NO FUNCTION SPECIFIED\n"  # no function at all


def test_unknown_function_with_the_debug_format_ends_the_page(companion, db):
    assert companion("nosuch", format="debug") == (
        "ERROR: NO FUNCTION SPECIFIED\n\n<!-- script runtime: 0 seconds -->\n</body>\n</html>\n")


@pytest.mark.parametrize("function", sorted(DENIED))
def test_invalid_source(companion, db, function):
    body = companion(function, source="x", agent_user="1000")
    assert body == "ERROR: Invalid Source - x\nERROR: Invalid Source: |x|\n"
    assert log_row(db) == logged(db, function, "ERROR", "Invalid Source", "", agent_user="1000") | {"source": "x"}
    assert db.count("vicidial_api_log") == 1


def test_invalid_source_as_json(companion, db):
    assert companion.json("agent_status", source="") == {"result": "ERROR", "function": "agent_status",
                                                         "reason": "Invalid Source", "details": [""]}


@pytest.mark.parametrize("function", sorted(DENIED))
def test_function_not_in_api_allowed_functions(companion, db, function):
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version agent_statusX ")
    body = companion(function, agent_user="1000")
    assert body == f"ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION: |6666|{function}|\n"
    assert log_row(db) == logged(db, function, "ERROR", "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION",
                                 "", agent_user="1000")


def test_a_listed_function_is_allowed(companion, db, login):
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" agent_status ")
    login("1000")
    assert companion("agent_status", agent_user="1000").startswith("PAUSED|")
    assert companion("logged_in_agents").startswith("ERROR: auth USER DOES NOT HAVE PERMISSION")


@pytest.mark.parametrize("function", sorted(DENIED))
def test_without_api_access_every_function_is_denied(companion, db, function):
    db.update("vicidial_users", {"user": "6666"}, vdc_agent_api_access="0")
    assert companion(function, agent_user="1000") == f"ERROR: {DENIED[function]}: |6666|0|\n"
    assert log_row(db) == logged(db, function, "ERROR", DENIED[function], "0", agent_user="1000")
    assert companion.json(function) == {"result": "ERROR", "function": function, "reason": DENIED[function],
                                        "details": ["6666", "0"]}


@pytest.mark.parametrize("function", sorted(set(DENIED) - {"agent_ingroup_info"}))
def test_without_view_reports_the_report_functions_are_denied(companion, db, function):
    db.update("vicidial_users", {"user": "6666"}, view_reports="0")
    assert companion(function, agent_user="1000") == f"ERROR: {DENIED[function]}: |6666|0|\n"


def test_agent_ingroup_info_needs_no_view_reports(companion, db, login):
    db.update("vicidial_users", {"user": "6666"}, view_reports="0")
    login("1000")
    assert companion("agent_ingroup_info", agent_user="1000", stage="text").startswith("SUCCESS:  - 1000|text\n")


@pytest.mark.parametrize("arrange", [{"level": 7, "modify_users": "1"}, {"level": 8, "modify_users": "0"}])
def test_agent_campaigns_needs_level_8_and_modify_users(companion, db, arrange):
    credentials = add_user(db, "7001", level=arrange["level"], modify_users=arrange["modify_users"])
    body = companion("agent_campaigns", auth=credentials, agent_user="1000")
    assert body == f"ERROR: {DENIED['agent_campaigns']}: |7001|0|\n"
    assert log_row(db) == logged(db, "agent_campaigns", "ERROR", DENIED["agent_campaigns"], "0", agent_user="1000",
                                 user="7001")


def test_a_level_7_reporter_may_use_the_report_functions(companion, db, login):
    credentials = add_user(db, "7001")
    login("1000")
    assert companion("agent_status", auth=credentials, agent_user="1000").startswith("PAUSED|")


def test_post_and_get_before_post_and_the_logged_url_masks_the_password(companion, backend, db, login):
    login("1000")
    response = backend.client.post(PATH, params={"agent_user": "1000"},
                                   data=AUTH | {"function": "agent_status", "agent_user": "1001"})
    assert response.text.startswith("PAUSED||0|TESTCAMP|")  # agent_user from the query string
    url = db.row("vicidial_api_urls", api_id=db.last_log()["api_id"])["url"]
    assert url == ("agent_user=1000&GET-AND-POST=Y&source=test&user=6666&pass=XXXXXXXX&function=agent_status"
                   "&agent_user=1001")
    assert "1234" not in url


def test_headers(companion, db):
    text = companion.get("version")
    assert text.headers["content-type"] == "text/html; charset=utf-8"
    assert text.headers["content-security-policy"] == "sandbox; default-src 'none'; frame-ancestors 'none'"
    assert (text.headers["cache-control"], text.headers["pragma"]) == ("no-cache, must-revalidate", "no-cache")
    assert companion.get("version", format="json").headers["content-type"] == "application/json"


def test_repeated_slashes_reach_the_companion(backend, db):
    assert backend.client.get("/vicidial//non_agent_api.php?function=version").text.startswith("VERSION: 2.14-202|")


def test_hostile_values_are_filtered_not_run(companion, db, login):
    login("1000")
    users = db.count("vicidial_users")
    assert companion("user_group_status", user_groups="AGENTS') OR 1=1 -- |ADMIN") == (
        "AGENTSOR11-- ADMIN|0|0|0|0|0|0|0|0\n")
    assert companion("agent_status", agent_user="1000' OR '1'='1") == (
        "ERROR: agent_status AGENT NOT FOUND: 6666|1000OR11\n")
    assert companion("callid_info", call_id="M1150103000000012345';DROP TABLE vicidial_log;--") == (
        "ERROR: callid_info INVALID SEARCH PARAMETERS: 6666|M1150103000000012345DROPTABLEvicidiallog\n")
    assert companion("logged_in_agents", campaigns="TESTCAMP\"|x") == (
        "1000|TESTCAMP|8600051|PAUSED|0||0|Agent 1000|AGENTS|1\n")
    huge = "A" * 10000  # upstream's limit: a list this long is no search
    assert companion("in_group_status", in_groups=huge) == (
        f"ERROR: in_group_status INVALID SEARCH PARAMETERS: 6666|{huge}\n")
    assert len(db.last_log()["data"]) == 4096  # cut as api.php cuts its log data
    assert db.count("vicidial_users") == users and db.count("vicidial_log") == 0
