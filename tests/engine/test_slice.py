"""The vertical slice: login → READY → inbound call delivered → external_hangup → external_status → logout."""

from __future__ import annotations

from tests.engine.conftest import wait_for

EPOCH = 1768473000  # FROZEN_AT


def test_login_creates_the_session_rows(eng, db):
    token = eng.login()
    vla = db.row("vicidial_live_agents", user="1000")
    assert (vla["status"], vla["conf_exten"], vla["extension"], vla["pause_code"]) == (
        "PAUSED",
        "8600051",
        "SIP/1000",
        "LOGIN",
    )
    assert vla["closer_campaigns"] == " TEST_IN SALESLINE -"
    assert vla["outbound_autodial"] == "N"
    assert db.row("vicidial_conferences", conf_exten=8600051)["extension"] == "SIP/1000"
    assert {r["group_id"] for r in db.rows("vicidial_live_inbound_agents", user="1000")} == {
        "TEST_IN",
        "SALESLINE",
    }
    val = db.row("vicidial_agent_log", user="1000")
    assert (
        val["agent_log_id"],
        val["sub_status"],
        val["pause_epoch"],
        val["wait_epoch"],
        val["pause_sec"],
    ) == (vla["agent_log_id"], "LOGIN", EPOCH, EPOCH, 0)
    sd = db.row("vicidial_session_data", user="1000")
    assert sd["session_name"] == token and sd["conf_exten"] == "8600051"
    assert sd["agent_login_call"] == (
        "||2026-01-15 10:30:00|NEW|N|10.10.10.15||Originate|S2601151030008600051|Channel: SIP/1000|"
        'Context: default|Exten: 8600051|Priority: 1|Callerid: "S2601151030008600051" <7275551111>|||||'
    )
    assert db.row("vicidial_user_log", user="1000")["event"] == "LOGIN"
    vm = db.row("vicidial_manager", callerid="S2601151030008600051")
    assert (vm["action"], vm["cmd_line_b"], vm["cmd_line_d"]) == (
        "Originate",
        "Channel: SIP/1000",
        "Exten: 8600051",
    )
    eng.advance(1)  # the agent's phone answers into the conference
    assert [c.name.split("-")[0] for c in eng.switch.conference_members("8600051")] == ["SIP/1000"]
    assert eng.state(token)["phase"] == "PAUSED"


def test_login_refusals(eng):
    assert (
        eng.client.post(
            "/agent/login",
            json={
                "user": "1000",
                "pass": "bad",
                "phone_login": "1000",
                "phone_pass": "test",
                "campaign": "TESTCAMP",
            },
        ).status_code
        == 401
    )
    eng.login()
    assert (
        eng.client.post(
            "/agent/login",
            json={
                "user": "1000",
                "pass": "1234",
                "phone_login": "1000",
                "phone_pass": "test",
                "campaign": "TESTCAMP",
            },
        ).status_code
        == 409
    )
    assert eng.client.get("/agent/state").status_code == 200  # the login cookie authenticates
    eng.client.cookies.clear()
    assert eng.client.get("/agent/state").status_code == 401
    assert eng.client.get("/agent/state", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_inbound_call_through_hangup_dispo_and_logout(eng, db, agent_api):
    token = eng.login()
    eng.advance(1)
    r = eng.agent("ready", token)
    assert r.status_code == 200 and r.json()["state"]["phase"] == "CLOSER"
    val_id = db.row("vicidial_live_agents", user="1000")["agent_log_id"]
    eng.services.clock.advance(5)
    chan = eng.inbound("3125551001", "TEST_IN")
    eng.settle()
    vla = wait_for(lambda: (v := db.row("vicidial_live_agents", user="1000"))["status"] == "INCALL" and v)
    assert (vla["lead_id"], vla["comments"], vla["callerid"], vla["channel"]) == (
        12345,
        "INBOUND",
        chan.call_id,
        chan.name,
    )
    assert db.row("vicidial_list", lead_id=12345)["status"] == "INCALL"
    closer = db.row("vicidial_closer_log", uniqueid=chan.uniqueid)
    assert (closer["status"], closer["user"], closer["campaign_id"]) == ("INCALL", "1000", "TEST_IN")
    assert [c.name for c in eng.switch.conference_members("8600051")][-1] == chan.name
    val = db.row("vicidial_agent_log", agent_log_id=val_id)
    assert (val["pause_sec"], val["wait_sec"], val["talk_epoch"]) == (1, 5, EPOCH + 6)

    eng.services.clock.advance(30)
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["status"] == "PAUSED")
    vla = db.row("vicidial_live_agents", user="1000")
    assert (vla["lead_id"], vla["external_hangup"], vla["callerid"], vla["uniqueid"]) == (12345, "0", "", "0")
    wait_for(lambda: eng.switch.channel(chan.name) is None)  # the switch acts just after the commit
    assert db.count("vicidial_auto_calls") == 0
    closer = db.row("vicidial_closer_log", uniqueid=chan.uniqueid)
    assert (closer["status"], closer["length_in_sec"], closer["term_reason"]) == ("DISPO", 30, "AGENT")
    assert db.row("vicidial_manager", action="Hangup")["callerid"] == f"HLvdcW{EPOCH + 36}1000"
    assert eng.state(token)["phase"] == "DISPO"

    eng.services.clock.advance(4)
    db.update("vicidial_live_agents", {"user": "1000"}, external_status="SALE")
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["lead_id"] == 0)
    assert db.row("vicidial_list", lead_id=12345)["status"] == "SALE"
    assert db.row("vicidial_closer_log", uniqueid=chan.uniqueid)["status"] == "SALE"
    val = db.row("vicidial_agent_log", agent_log_id=val_id)
    assert (val["talk_sec"], val["dispo_epoch"], val["dispo_sec"], val["status"]) == (
        30,
        EPOCH + 36,
        4,
        "SALE",
    )
    vla = db.row("vicidial_live_agents", user="1000")
    assert vla["status"] == "CLOSER" and vla["agent_log_id"] > val_id  # auto-dial campaign: ready, new row

    r = eng.agent("logout", token)
    assert r.status_code == 200 and r.json()["logged_out"] is True
    assert db.count("vicidial_live_agents", user="1000") == 0
    assert db.count("vicidial_live_inbound_agents", user="1000") == 0
    assert db.row("vicidial_conferences", conf_exten=8600051)["extension"] == ""
    assert [r["event"] for r in db.rows("vicidial_user_log", order_by="user_log_id")] == ["LOGIN", "LOGOUT"]
    eng.settle()
    assert eng.switch.conference_members("8600051") == []
