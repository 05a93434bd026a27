"""logged_in_agents: every answer line, filters, the caller's scope, show_sub_status, stages, header and JSON."""

from __future__ import annotations

from tests.companion.conftest import add_team, agent_log, auto_call, log_row, logged

HEADER = "user|campaign_id|session_id|status|lead_id|callerid|calls_today|full_name|user_group|user_level"
CID = "M1150103000000012345"


def test_no_logged_in_agents(companion, db):
    assert companion("logged_in_agents", agent_user="1000") == (
        "ERROR: logged_in_agents NO LOGGED IN AGENTS: 6666|1000\n")
    assert log_row(db) == logged(db, "logged_in_agents", "ERROR", "logged_in_agents NO LOGGED IN AGENTS",
                                 "6666|1000", agent_user="1000")


def test_every_logged_in_agent_in_login_order(companion, db, login):
    login("1001", status="READY", conf_exten="8600052", calls_today=2)
    login("1000", status="INCALL", lead_id=12345, callerid=CID, comments="AUTO")
    body = companion("logged_in_agents")
    assert body == ("1001|TESTCAMP|8600052|READY|0||2|Agent 1001|AGENTS|1\n"
                    f"1000|TESTCAMP|8600051|INCALL|12345|{CID}|0|Agent 1000|AGENTS|1\n")
    assert log_row(db) == logged(db, "logged_in_agents", "SUCCESS", f"logged_in_agents {body}", "6666|2|pipe")


def test_stage_header_and_sub_status(companion, db, login):
    row_id = agent_log(db, "1000", sub_status="LOGIN")
    login("1000", status="INCALL", lead_id=12345, callerid=CID, comments="AUTO", agent_log_id=row_id)
    login("1001", status="PAUSED", conf_exten="8600052", preview_lead_id=12346)
    auto_call(db, CID)
    body = companion("logged_in_agents", stage="csv", header="YES", show_sub_status="YES")
    assert body == (f"{HEADER},pause_code,sub_status\n".replace("|", ",")
                    + f"1000,TESTCAMP,8600051,INCALL,12345,{CID},0,Agent 1000,AGENTS,1,LOGIN,\n"
                    "1001,TESTCAMP,8600052,PAUSED,12346,,0,Agent 1001,AGENTS,1,,PREVIEW\n")
    assert log_row(db)["data"] == "6666|2|csv"
    # without show_sub_status the previewed lead is not shown in the lead_id column
    assert companion("logged_in_agents", stage="tab").split("\n")[1] == (
        "1001\tTESTCAMP\t8600052\tPAUSED\t0\t\t0\tAgent 1001\tAGENTS\t1")


def test_campaign_and_user_group_filters(companion, db, login):
    login("1000")
    login("1001", campaign_id="MANCAMP", conf_exten="8600052")
    login("6666", conf_exten="8600053")
    assert companion("logged_in_agents", campaigns="MANCAMP|NOSUCH") == (
        "1001|MANCAMP|8600052|PAUSED|0||0|Agent 1001|AGENTS|1\n")
    assert companion("logged_in_agents", user_groups="ADMIN") == "6666|TESTCAMP|8600053|PAUSED|0||0|API User|ADMIN|8\n"
    assert log_row(db)["data"] == "6666|3|pipe"  # every live row the campaigns allow, before the group filter
    assert companion("logged_in_agents", user_groups="NOSUCH") == "ERROR: logged_in_agents NO LOGGED IN AGENTS: 6666|\n"


def test_a_restricted_caller_sees_its_campaigns_and_viewable_groups_only(companion, db, login):
    supervisor = add_team(db)
    login("1000")
    login("1001", campaign_id="MANCAMP", conf_exten="8600053")  # a MANCAMP agent of a group TEAM2 may not see
    assert companion("logged_in_agents", auth=supervisor) == "2001|MANCAMP|8600052|PAUSED|0||0|Agent 2001|TEAM2|1\n"
    assert log_row(db) == logged(db, "logged_in_agents", "SUCCESS",
                                 "logged_in_agents 2001|MANCAMP|8600052|PAUSED|0||0|Agent 2001|TEAM2|1\n",
                                 "7002|2|pipe", user="7002")
    assert companion("logged_in_agents", auth=supervisor, campaigns="TESTCAMP") == (
        "ERROR: logged_in_agents NO LOGGED IN AGENTS: 7002|\n")


def test_json(companion, db, login):
    login("1000", status="READY")
    assert companion.json("logged_in_agents", show_sub_status="YES") == {
        "result": "SUCCESS", "function": "logged_in_agents", "data": [{
            "user": "1000", "campaign_id": "TESTCAMP", "session_id": "8600051", "status": "READY", "lead_id": 0,
            "callerid": "", "calls_today": 0, "full_name": "Agent 1000", "user_group": "AGENTS", "user_level": 1,
            "pause_code": "", "sub_status": ""}]}
