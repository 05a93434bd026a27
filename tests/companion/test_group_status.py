"""in_group_status and user_group_status: every answer line, each counter, the caller's scope, stages, header
and JSON, over a floor of agents in every state."""

from __future__ import annotations

import pytest

from tests.companion.conftest import add_team, add_user, auto_call, log_row, logged
from tests.support import FROZEN_AT

USER_GROUP_HEADER = ("usergroups|calls_waiting|agents_logged_in|agents_in_calls|agents_waiting|agents_paused|"
                     "agents_in_dead_calls|agents_in_dispo|agents_in_dial")
IN_GROUP_HEADER = ("ingroups|total_calls|calls_waiting|agents_logged_in|agents_in_calls|agents_waiting|"
                   "agents_paused|agents_in_dispo|agents_in_dial")


def cid(n: int) -> str:
    return f"Y11501030000000{n:05d}"


@pytest.fixture
def floor(db, login):
    """Nine agents in every state, their calls, two callers waiting (TEST_IN, SALESLINE), and who takes which
    in-group; SALESLINE belongs to the ADMIN user group."""
    for user in ("2002", "2003", "2004", "2005"):
        add_user(db, user, group="AGENTS", level=1)
    conf = iter(range(8600051, 8600099))
    agents = {
        "1000": {"status": "INCALL", "lead_id": 12345, "callerid": cid(1), "comments": "INBOUND"},
        "1001": {"status": "READY"},
        "6667": {"status": "PAUSED", "lead_id": 12346},  # dispositioning
        "1028": {"status": "INCALL", "lead_id": 12347, "callerid": cid(2), "comments": "AUTO"},  # its call is gone
        "6666": {"status": "PAUSED"},
        "2002": {"status": "INCALL", "lead_id": 12348, "callerid": cid(3), "comments": "MANUAL"},  # ringing
        "2003": {"status": "INCALL", "lead_id": 12349, "callerid": cid(4), "comments": "AUTO"},  # parked caller
        "2004": {"status": "CLOSER"},
        "2005": {"status": "QUEUE", "lead_id": 12350},
    }
    for user, values in agents.items():
        login(user, conf_exten=str(next(conf)), **values)
    auto_call(db, cid(1), campaign_id="TEST_IN", call_type="IN")
    auto_call(db, cid(3), uniqueid="", channel="", lead_id=12348)
    auto_call(db, cid(4), lead_id=12349)
    auto_call(db, cid(5), campaign_id="TEST_IN", status="LIVE", call_type="IN", lead_id=12351)
    auto_call(db, cid(6), campaign_id="SALESLINE", status="LIVE", call_type="IN", lead_id=12352)
    db.insert("parked_channels", channel="SIP/trunk-00000004", server_ip="10.10.10.15", channel_group=cid(4),
              extension="8301", parked_by="2003", parked_time=FROZEN_AT)
    for user, group in (("1000", "TEST_IN"), ("1001", "TEST_IN"), ("1001", "SALESLINE"), ("6667", "SALESLINE"),
                        ("2004", "TEST_IN")):
        db.insert("vicidial_live_inbound_agents", user=user, group_id=group)
    db.update("vicidial_inbound_groups", {"group_id": "SALESLINE"}, user_group="ADMIN")


@pytest.mark.parametrize("function", ["user_group_status", "in_group_status"])
def test_nothing_to_search_for(companion, db, function):
    reason = f"{function} INVALID SEARCH PARAMETERS"
    assert companion(function) == f"ERROR: {reason}: 6666|\n"
    assert log_row(db) == logged(db, function, "ERROR", reason, "6666|")


def test_user_group_status_counts_every_state(companion, db, floor):
    body = companion("user_group_status", user_groups="AGENTS|ADMIN")
    assert body == "AGENTS ADMIN|2|9|4|2|1|1|1|1\n"
    assert log_row(db) == logged(db, "user_group_status", "SUCCESS", "user_group_status AGENTS FOUND: 9",
                                 "6666|AGENTS|ADMIN|pipe")
    assert companion("user_group_status", user_groups="ADMIN", stage="csv", header="YES") == (
        USER_GROUP_HEADER.replace("|", ",") + "\nADMIN,2,1,0,0,1,0,0,0\n")
    assert log_row(db)["data"] == "6666|ADMIN|csv"
    assert companion("user_group_status", user_groups="NOSUCH", stage="tab") == "NOSUCH\t2\t0\t0\t0\t0\t0\t0\t0\n"
    assert log_row(db)["result_reason"] == "user_group_status AGENTS FOUND: 0"


def test_user_group_status_of_a_restricted_caller(companion, db, floor):
    supervisor = add_team(db)
    # its own group only; calls of its campaign (MANCAMP) and of the in-groups its groups may see (not SALESLINE)
    assert companion("user_group_status", auth=supervisor, user_groups="AGENTS|TEAM2") == (
        "AGENTS TEAM2|1|1|0|0|1|0|0|0\n")


def test_in_group_status_counts_calls_and_agents_taking_the_groups(companion, db, floor):
    body = companion("in_group_status", in_groups="TEST_IN|SALESLINE", header="YES")
    assert body == f"{IN_GROUP_HEADER}\nTEST_IN SALESLINE|3|2|4|1|2|0|1|0\n"
    assert log_row(db) == logged(db, "in_group_status", "SUCCESS", "in_group_status CALLS FOUND: 4",
                                 "6666|TEST_IN|SALESLINE|pipe")
    assert companion("in_group_status", in_groups="SALESLINE", stage="csv") == "SALESLINE,1,1,2,0,1,0,1,0\n"
    assert companion("in_group_status", in_groups="TRAINING_IN", stage="tab") == (
        "TRAINING_IN\t0\t0\t0\t0\t0\t0\t0\t0\n")


def test_in_group_status_of_a_restricted_caller(companion, db, floor):
    supervisor = add_team(db)
    db.insert("vicidial_live_inbound_agents", user="2001", group_id="TEST_IN")
    assert companion("in_group_status", auth=supervisor, in_groups="TEST_IN|SALESLINE") == (
        "TEST_IN SALESLINE|2|1|1|0|0|1|0|0\n")


def test_json(companion, db, floor):
    assert companion.json("user_group_status", user_groups="AGENTS|ADMIN") == {
        "result": "SUCCESS", "function": "user_group_status", "data": [{
            "usergroups": ["AGENTS", "ADMIN"], "calls_waiting": 2, "agents_logged_in": 9, "agents_in_calls": 4,
            "agents_waiting": 2, "agents_paused": 1, "agents_in_dead_calls": 1, "agents_in_dispo": 1,
            "agents_in_dial": 1}]}
    assert companion.json("in_group_status", in_groups="TEST_IN") == {
        "result": "SUCCESS", "function": "in_group_status", "data": [{
            "ingroups": ["TEST_IN"], "total_calls": 2, "calls_waiting": 1, "agents_logged_in": 3,
            "agents_in_calls": 1, "agents_waiting": 2, "agents_paused": 0, "agents_in_dispo": 0,
            "agents_in_dial": 0}]}
    assert companion.json("in_group_status") == {
        "result": "ERROR", "function": "in_group_status", "reason": "in_group_status INVALID SEARCH PARAMETERS",
        "details": ["6666", ""]}
