"""agent_status: every answer line, the real-time sub-statuses, stages, header, include_ip, scope and JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.companion.conftest import add_team, agent_log, auto_call, log_row, logged, login_log
from tests.support import FROZEN_AT

HEADER = ("status|callerid|lead_id|campaign_id|calls_today|full_name|user_group|user_level|pause_code|"
          "real_time_sub_status|phone_number|vendor_lead_code|session_id")
CID = "M1150103000000012345"


def test_no_agent_user_is_an_invalid_search(companion, db):
    assert companion("agent_status") == "ERROR: agent_status INVALID SEARCH PARAMETERS: 6666|\n"
    assert log_row(db) == logged(db, "agent_status", "ERROR", "agent_status INVALID SEARCH PARAMETERS", "6666|")


def test_unknown_agent(companion, db):
    assert companion("agent_status", agent_user="4242") == "ERROR: agent_status AGENT NOT FOUND: 6666|4242\n"
    assert log_row(db) == logged(db, "agent_status", "ERROR", "agent_status AGENT NOT FOUND", "6666|4242",
                                 agent_user="4242")


def test_an_agent_outside_the_callers_viewable_groups_is_not_found(companion, db, login):
    supervisor = add_team(db)
    login("1000")
    assert companion("agent_status", auth=supervisor, agent_user="1000") == (
        "ERROR: agent_status AGENT NOT FOUND: 7002|1000\n")
    assert companion("agent_status", auth=supervisor, agent_user="2001") == (
        "PAUSED||0|MANCAMP|0|Agent 2001|TEAM2|1|||||8600052\n")


def test_agent_not_logged_in(companion, db):
    assert companion("agent_status", agent_user="1000") == "ERROR: agent_status AGENT NOT LOGGED IN: 6666|1000\n"
    assert log_row(db) == logged(db, "agent_status", "ERROR", "agent_status AGENT NOT LOGGED IN", "6666|1000",
                                 agent_user="1000")


def test_a_paused_agent_with_its_pause_code(companion, db, login):
    row_id = agent_log(db, "1000", sub_status="BREAK")
    login("1000", agent_log_id=row_id, calls_today=3)
    line = "PAUSED||0|TESTCAMP|3|Agent 1000|AGENTS|1|BREAK||||8600051\n"
    assert companion("agent_status", agent_user="1000") == line
    assert log_row(db) == logged(db, "agent_status", "SUCCESS", f"agent_status {line}", "6666|1000|pipe",
                                 agent_user="1000")


@pytest.mark.parametrize(("stage", "sep", "logged_stage"), [
    ("csv", ",", "csv"), ("tab", "\t", "tab"), ("pipe", "|", "pipe"), ("html", "|", "pipe")])
def test_stages_and_header(companion, db, login, stage, sep, logged_stage):
    login("1000", status="INCALL", lead_id=12345, callerid=CID, comments="AUTO")
    auto_call(db, CID)
    body = companion("agent_status", agent_user="1000", stage=stage, header="YES")
    row = f"INCALL|{CID}|12345|TESTCAMP|0|Agent 1000|AGENTS|1|||3125551001|1234567890|8600051"
    assert body == f"{HEADER}\n{row}\n".replace("|", sep)
    assert log_row(db)["data"] == f"6666|1000|{logged_stage}"
    assert log_row(db)["result_reason"] == f"agent_status {body}"[:255]


@pytest.mark.parametrize(("arrange", "sub_status", "lead_id"), [
    ({"status": "PAUSED", "lead_id": 12345}, "DISPO", 12345),
    ({"status": "PAUSED", "preview_lead_id": 12346}, "PREVIEW", 12346),
    ({"status": "READY", "on_hook_agent": "Y", "ring_callerid": "Y1150103000000012345"}, "RING", 0),
    ({"status": "READY", "on_hook_agent": "Y", "ring_callerid": "short"}, "", 0),
    ({"status": "INCALL", "lead_id": 12345, "callerid": "V1150103000000012345", "comments": "AUTO"}, "DEAD", 12345),
])
def test_sub_statuses_without_a_live_call(companion, db, login, arrange, sub_status, lead_id):
    login("1000", **arrange)
    fields = companion("agent_status", agent_user="1000").rstrip("\n").split("|")
    assert (fields[0], fields[2], fields[9]) == (arrange["status"], str(lead_id), sub_status)


def test_a_live_call_shows_the_callers_number(companion, db, login):
    login("1000", status="INCALL", lead_id=12345, callerid=CID, comments="INBOUND")
    auto_call(db, CID, phone_number="7275550123", call_type="IN", campaign_id="TEST_IN")
    assert companion("agent_status", agent_user="1000") == (
        f"INCALL|{CID}|12345|TESTCAMP|0|Agent 1000|AGENTS|1|||7275550123|1234567890|8600051\n")


def test_three_way_park_and_dial(companion, db, login):
    login("1000", status="INCALL", lead_id=12345, callerid=CID, comments="MANUAL")
    login("1001", status="INCALL", lead_id=12345, callerid="M1150103000000099999", comments="MANUAL",
          conf_exten="8600052")
    auto_call(db, CID)
    assert companion("agent_status", agent_user="1000").split("|")[9] == "3-WAY"
    db.update("vicidial_auto_calls", {"callerid": CID}, uniqueid="", channel="")
    assert companion("agent_status", agent_user="1000").split("|")[9] == "DIAL"  # ringing: no uniqueid, no channel
    db.insert("parked_channels", channel="SIP/trunk-00000001", server_ip="10.10.10.15", channel_group=CID,
              extension="8301", parked_by="1000", parked_time=FROZEN_AT)
    assert companion("agent_status", agent_user="1000").split("|")[9] == "PARK"
    db.delete("parked_channels")
    db.delete("vicidial_auto_calls")
    assert companion("agent_status", agent_user="1000").split("|")[9] == "DEAD"  # 3-WAY, then no call: DEAD


@pytest.mark.parametrize("comments", ["CHAT", "EMAIL"])
def test_chat_and_email_sessions_are_never_dead(companion, db, login, comments):
    login("1000", status="INCALL", lead_id=12345, callerid=CID, comments=comments)
    assert companion("agent_status", agent_user="1000").split("|")[9] == ""


def test_include_ip_the_latest_login_of_the_last_two_days(companion, db, login):
    login("1000")
    login_log(db, "1000", "192.168.1.205", FROZEN_AT - timedelta(hours=3))
    login_log(db, "1000", "192.168.1.206", FROZEN_AT - timedelta(minutes=5))
    login_log(db, "1000", "10.0.0.9", FROZEN_AT - timedelta(days=3))
    assert companion("agent_status", agent_user="1000", include_ip="YES", header="YES", stage="csv") == (
        HEADER.replace("|", ",") + ",computer_ip\n"
        "PAUSED,,0,TESTCAMP,0,Agent 1000,AGENTS,1,,,,,8600051,192.168.1.206\n")


def test_include_ip_without_a_recent_login_adds_no_field(companion, db, login):
    login("1000")
    login_log(db, "1000", "10.0.0.9", FROZEN_AT - timedelta(days=3))
    assert companion("agent_status", agent_user="1000", include_ip="YES", header="YES") == (
        f"{HEADER}|computer_ip\nPAUSED||0|TESTCAMP|0|Agent 1000|AGENTS|1|||||8600051\n")


def test_json(companion, db, login):
    login("1000", status="PAUSED", preview_lead_id=12346)
    login_log(db, "1000", "192.168.1.206", FROZEN_AT)
    assert companion.json("agent_status", agent_user="1000", include_ip="YES") == {
        "result": "SUCCESS", "function": "agent_status", "data": [{
            "status": "PAUSED", "callerid": "", "lead_id": 12346, "campaign_id": "TESTCAMP", "calls_today": 0,
            "full_name": "Agent 1000", "user_group": "AGENTS", "user_level": 1, "pause_code": "",
            "real_time_sub_status": "PREVIEW", "phone_number": "3125551002", "vendor_lead_code": "1234567891",
            "session_id": "8600051", "computer_ip": "192.168.1.206"}]}
    assert companion.json("agent_status", agent_user="1001") == {
        "result": "ERROR", "function": "agent_status", "reason": "agent_status AGENT NOT LOGGED IN",
        "details": ["6666", "1001"]}
