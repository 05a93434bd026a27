"""agent_campaigns: every answer line, the agent's group's campaigns and their in-groups, campaign_id,
ignore_agentdirect, active flags, scope, stages, header and JSON."""

from __future__ import annotations

from tests.companion.conftest import add_team, log_row, logged

ALL_INGROUPS = "AGENTDIRECT-SALESLINE-TEST_IN-TEST_IN2-TEST_IN3-TRAINING_IN"
NOT_EXIST = "agent_campaigns AGENT USER DOES NOT EXIST"
NONE_AVAILABLE = "agent_campaigns THIS AGENT USER HAS NO AVAILABLE CAMPAIGNS"


def test_unknown_agent(companion, db):
    assert companion("agent_campaigns", agent_user="4242") == f"ERROR: {NOT_EXIST}: |6666|4242\n"
    assert log_row(db) == logged(db, "agent_campaigns", "ERROR", NOT_EXIST, "4242", agent_user="4242")


def test_an_agent_outside_the_callers_viewable_groups_does_not_exist(companion, db):
    supervisor = add_team(db)
    assert companion("agent_campaigns", auth=supervisor, agent_user="1000") == f"ERROR: {NOT_EXIST}: |7002|1000\n"
    assert companion("agent_campaigns", auth=supervisor, agent_user="2001") == "2001|MANCAMP|\n"


def test_no_available_campaigns(companion, db):
    assert companion("agent_campaigns", agent_user="1000", campaign_id="NOSUCH") == (
        f"ERROR: {NONE_AVAILABLE}: 1000|6666|\n")
    assert log_row(db) == logged(db, "agent_campaigns", "ERROR", NONE_AVAILABLE, "1000|6666|", agent_user="1000")
    db.update("vicidial_campaigns", {}, active="N")
    assert companion("agent_campaigns", agent_user="1000") == f"ERROR: {NONE_AVAILABLE}: 1000|6666|\n"


def test_a_group_without_campaigns(companion, db):
    db.update("vicidial_user_groups", {"user_group": "AGENTS"}, allowed_campaigns="")
    assert companion("agent_campaigns", agent_user="1000") == f"ERROR: {NONE_AVAILABLE}: 1000|6666|\n"


def test_the_agents_campaigns_and_in_groups(companion, db):
    body = companion("agent_campaigns", agent_user="1000")
    assert body == f"1000|MANCAMP-TESTCAMP|{ALL_INGROUPS}\n"
    assert log_row(db) == logged(db, "agent_campaigns", "SUCCESS", "agent_campaigns RESULTS FOUND: 1",
                                 f"6666|1000|MANCAMP-TESTCAMP|{ALL_INGROUPS}", agent_user="1000")


def test_every_campaign_for_a_group_allowed_all(companion, db):
    db.insert("vicidial_campaigns", campaign_id="INACTIVE", campaign_name="Old", active="N")
    assert companion("agent_campaigns", agent_user="6666") == f"6666|MANCAMP-TESTCAMP|{ALL_INGROUPS}\n"


def test_campaign_id_ignore_agentdirect_stage_and_header(companion, db):
    db.update("vicidial_inbound_groups", {"group_id": "TEST_IN3"}, active="N")
    body = companion("agent_campaigns", agent_user="1000", campaign_id="TESTCAMP", ignore_agentdirect="Y",
                     stage="csv", header="YES")
    assert body == ("user,allowed_campaigns_list,allowed_ingroups_list\n"
                    "1000,TESTCAMP,SALESLINE-TEST_IN-TEST_IN2-TRAINING_IN\n")
    assert companion("agent_campaigns", agent_user="1000", campaign_id="MANCAMP", stage="tab") == "1000\tMANCAMP\t\n"


def test_json(companion, db):
    assert companion.json("agent_campaigns", agent_user="1000", campaign_id="TESTCAMP") == {
        "result": "SUCCESS", "function": "agent_campaigns", "data": [{
            "user": "1000", "allowed_campaigns": ["TESTCAMP"], "allowed_ingroups": ALL_INGROUPS.split("-")}]}
    assert companion.json("agent_campaigns", agent_user="4242") == {
        "result": "ERROR", "function": "agent_campaigns", "reason": NOT_EXIST, "details": ["6666", "4242"]}
