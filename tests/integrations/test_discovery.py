"""`/api/v1/discovery/…`: 401 without credentials, the answers' shapes, and each list limited to what the caller
may see (allowed campaigns, viewable groups; a restricted group sees only its campaigns and agents)."""

from __future__ import annotations

import pytest

from openagc.integrations import keys
from tests.support import live_agent_row

BASE = "/api/v1/discovery"
ENDPOINTS = ("campaigns", "ingroups", "statuses", "pause-codes", "agents")
ADMIN = ("6666", "1234")
SUPERVISOR = ("7002", "1234")
PAUSE_CODES = [{"pause_code": code, "pause_code_name": name, "billable": "NO", "time_limit": 65000,
                "require_mgr_approval": False}
               for code, name in (("BREAK", "Break"), ("LUNCH", "Lunch"), ("MEET", "Meeting"), ("TRAIN", "Training"))]


def get(backend, path: str, auth=ADMIN, **params):
    return backend.client.get(f"{BASE}/{path}", auth=auth, params=params)


@pytest.fixture
def team2(db):
    """Group TEAM2 (campaign MANCAMP, sees TEAM2 only) with its supervisor 7002 and agent 2001 logged in; MANCAMP
    takes TEST_IN2 and transfers to TEST_IN3; in-groups belong to ADMIN except TRAINING_IN (TEAM2) and
    SALESLINE (every group)."""
    db.insert("vicidial_user_groups", user_group="TEAM2", group_name="Team 2", allowed_campaigns=" MANCAMP -",
              admin_viewable_groups=" TEAM2 -", agent_status_viewable_groups=" TEAM2 ", group_shifts="")
    for user, level in (("7002", 8), ("2001", 1)):
        db.insert("vicidial_users", user=user, **{"pass": "1234"}, full_name=f"User {user}", user_level=level,
                  user_group="TEAM2", active="Y", vdc_agent_api_access="1")
    db.insert("vicidial_live_agents", **live_agent_row("2001", campaign_id="MANCAMP", status="READY"))
    db.update("vicidial_campaigns", {"campaign_id": "MANCAMP"}, closer_campaigns=" TEST_IN2 -",
              xfer_groups=" TEST_IN3 -")
    db.update("vicidial_inbound_groups", {}, user_group="ADMIN")
    db.update("vicidial_inbound_groups", {"group_id": "TRAINING_IN"}, user_group="TEAM2")
    db.update("vicidial_inbound_groups", {"group_id": "SALESLINE"}, user_group="---ALL---")


@pytest.mark.parametrize("path", ENDPOINTS)
def test_credentials_are_required(backend, db, path):
    none = get(backend, path, auth=None)
    assert (none.status_code, none.json()) == (401, {"error": "authentication required"})
    assert none.headers["www-authenticate"] == 'Basic realm="openagc", Bearer'
    assert none.headers["cache-control"] == "no-store"
    wrong = get(backend, path, auth=("6666", "wrong"))
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid user or password"})
    assert db.row("vicidial_users", user="6666")["failed_login_count"] == 1  # api.php's lockout counts it


def test_a_user_without_api_access_is_refused(backend, db):
    db.update("vicidial_users", {"user": "6666"}, vdc_agent_api_access="0")
    assert get(backend, "campaigns").status_code == 401


def test_campaigns(backend, db):
    found = get(backend, "campaigns")
    assert found.status_code == 200
    ingroups = ["TEST_IN", "TEST_IN2", "TEST_IN3", "SALESLINE", "TRAINING_IN", "AGENTDIRECT"]
    assert found.json() == {"campaigns": [
        {"campaign_id": "MANCAMP", "campaign_name": "Manual Dial Campaign", "active": True, "dial_method": "MANUAL",
         "allow_inbound": False, "ingroups": [], "transfer_groups": ingroups, "pause_codes": "FORCE"},
        {"campaign_id": "TESTCAMP", "campaign_name": "Test Campaign", "active": True, "dial_method": "RATIO",
         "allow_inbound": True, "ingroups": ingroups, "transfer_groups": ingroups, "pause_codes": "Y"},
    ]}


def test_ingroups(backend, db):
    body = get(backend, "ingroups").json()
    assert [g["group_id"] for g in body["ingroups"]] == [
        "AGENTDIRECT", "SALESLINE", "TEST_IN", "TEST_IN2", "TEST_IN3", "TRAINING_IN"]
    assert body["ingroups"][1] == {"group_id": "SALESLINE", "group_name": "Sales Line", "active": True,
                                   "group_color": "#FF9999", "user_group": "---ALL---", "campaigns": ["TESTCAMP"]}


def test_statuses(backend, db):
    body = get(backend, "statuses").json()
    assert [s["status"] for s in body["system"]] == sorted(
        ["NEW", "QUEUE", "INCALL", "DROP", "DISPO", "XFER", "CBHOLD", "NA", "A", "B", "DC", "N", "NI", "NP", "SALE",
         "DNC", "CALLBK", "LSMERG"])
    sale = next(s for s in body["system"] if s["status"] == "SALE")
    assert sale == {"status": "SALE", "status_name": "Sale Made", "category": "UNDEFINED", "selectable": True,
                    "human_answered": True, "sale": True, "dnc": False, "customer_contact": True,
                    "not_interested": False, "unworkable": False, "scheduled_callback": False, "completed": True,
                    "answering_machine": False, "min_sec": 0, "max_sec": 0}
    assert {c: [s["status"] for s in found] for c, found in body["campaigns"].items()} == {
        "MANCAMP": ["APPT"], "TESTCAMP": ["CAMPCB", "TEST88"]}
    one = get(backend, "statuses", campaign="TESTCAMP").json()
    assert (one["system"], list(one["campaigns"])) == (body["system"], ["TESTCAMP"])
    missing = get(backend, "statuses", campaign="NOSUCH")
    assert (missing.status_code, missing.json()) == (404, {"error": "no such campaign: NOSUCH"})


def test_pause_codes(backend, db):
    assert get(backend, "pause-codes").json() == {"campaigns": {"MANCAMP": PAUSE_CODES, "TESTCAMP": PAUSE_CODES}}
    assert get(backend, "pause-codes", campaign="MANCAMP").json() == {"campaigns": {"MANCAMP": PAUSE_CODES}}
    assert get(backend, "pause-codes", campaign="NOSUCH").status_code == 404


def test_agents(backend, db, login):
    login("1000", status="INCALL")
    body = get(backend, "agents").json()
    assert [a["user"] for a in body["agents"]] == ["1000", "1001", "1028", "6666", "6667"]
    assert body["agents"][0] == {"user": "1000", "full_name": "Agent 1000", "user_group": "AGENTS", "user_level": 1,
                                 "active": True, "logged_in": {"campaign_id": "TESTCAMP", "status": "INCALL"}}
    assert body["agents"][1]["logged_in"] is None


def test_a_restricted_group_sees_its_campaigns_in_groups_and_agents_only(backend, db, team2, login):
    login("1000")
    assert [c["campaign_id"] for c in get(backend, "campaigns", auth=SUPERVISOR).json()["campaigns"]] == ["MANCAMP"]
    assert [(g["group_id"], g["campaigns"]) for g in get(backend, "ingroups", auth=SUPERVISOR).json()["ingroups"]] == [
        ("SALESLINE", []), ("TEST_IN2", ["MANCAMP"]), ("TEST_IN3", []), ("TRAINING_IN", [])]
    statuses = get(backend, "statuses", auth=SUPERVISOR).json()
    assert list(statuses["campaigns"]) == ["MANCAMP"]
    hidden = get(backend, "statuses", auth=SUPERVISOR, campaign="TESTCAMP")
    assert (hidden.status_code, hidden.json()) == (404, {"error": "no such campaign: TESTCAMP"})  # as if unknown
    assert get(backend, "pause-codes", auth=SUPERVISOR, campaign="TESTCAMP").status_code == 404
    assert list(get(backend, "pause-codes", auth=SUPERVISOR).json()["campaigns"]) == ["MANCAMP"]
    assert get(backend, "agents", auth=SUPERVISOR).json() == {"agents": [
        {"user": "2001", "full_name": "User 2001", "user_group": "TEAM2", "user_level": 1, "active": True,
         "logged_in": {"campaign_id": "MANCAMP", "status": "READY"}},
        {"user": "7002", "full_name": "User 7002", "user_group": "TEAM2", "user_level": 8, "active": True,
         "logged_in": None}]}


def test_the_demo_agents_group_sees_its_two_campaigns_and_its_own_agents(backend, db):
    assert [c["campaign_id"] for c in get(backend, "campaigns", auth=("1000", "1234")).json()["campaigns"]] == [
        "MANCAMP", "TESTCAMP"]
    assert [a["user"] for a in get(backend, "agents", auth=("1000", "1234")).json()["agents"]] == [
        "1000", "1001", "1028", "6667"]


def test_an_api_key_stands_for_its_user(backend, db, team2):
    with backend.sync.begin() as conn:
        _, token = keys.create(conn, user="7002")
    found = backend.client.get(f"{BASE}/campaigns", headers={"Authorization": f"Bearer {token}"})
    assert [c["campaign_id"] for c in found.json()["campaigns"]] == ["MANCAMP"]
    refused = backend.client.get(f"{BASE}/campaigns", headers={"Authorization": "Bearer nonsense"})
    assert (refused.status_code, refused.json()) == (401, {"error": "invalid API key"})
