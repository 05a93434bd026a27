"""external_dial (manual dial, preview, alt dial, MANUALNEXT, the manual-dial queue) through /agc/api.php."""

from __future__ import annotations

from tests.engine.conftest import wait_for

EPOCH = 1768473000


def vla(db):
    return db.row("vicidial_live_agents", user="1000")


def dial_args(**kw):
    return {"agent_user": "1000", "search": "YES", "preview": "NO", "focus": "YES"} | kw


def test_manual_dial_answered_hung_up_and_dispositioned(eng, db, agent_api):
    token = eng.login()
    row_id = vla(db)["agent_log_id"]
    eng.services.clock.advance(5)
    body = agent_api("external_dial", value="3125551002", phone_code="1", **dial_args())
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["status"] == "INCALL")
    agent = vla(db)
    callerid = agent["callerid"]
    assert callerid == "M115103005" + "0000012346" and len(callerid) == 20
    assert (agent["lead_id"], agent["comments"], agent["external_dial"]) == (12346, "MANUAL", "")
    vac = db.row("vicidial_auto_calls", callerid=callerid)
    assert (vac["status"], vac["call_type"], vac["phone_number"]) == ("XFER", "OUT", "3125551002")
    vm = db.row("vicidial_manager", callerid=callerid)
    assert (vm["action"], vm["cmd_line_b"], vm["cmd_line_d"], vm["cmd_line_g"]) == (
        "Originate",
        "Channel: Local/8600051@default",
        "Exten: 913125551002",
        "Timeout: 60000",
    )
    lead = db.row("vicidial_list", lead_id=12346)
    assert (lead["status"], lead["called_count"], lead["user"]) == ("INCALL", 1, "1000")
    assert db.row("vicidial_agent_log", agent_log_id=row_id)["pause_sec"] == 5
    eng.advance(2)  # the customer answers
    wait_for(lambda: vla(db)["uniqueid"] not in ("", None))
    uid = vla(db)["uniqueid"]
    log = db.row("vicidial_log", uniqueid=uid)
    assert (log["status"], log["comments"], log["user"], log["lead_id"]) == (
        "INCALL",
        "MANUAL",
        "1000",
        12346,
    )
    assert db.row("vicidial_manager", callerid=callerid)["status"] == "UPDATED"
    eng.advance(25)
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    log = db.row("vicidial_log", uniqueid=uid)
    assert (log["status"], log["length_in_sec"], log["term_reason"]) == ("DISPO", 25, "AGENT")
    assert db.count("vicidial_auto_calls") == 0
    assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: vla(db)["lead_id"] == 0)
    assert db.row("vicidial_log", uniqueid=uid)["status"] == "NI"
    val = db.row("vicidial_agent_log", agent_log_id=row_id)
    assert (val["pause_sec"], val["wait_sec"], val["talk_sec"], val["comments"], val["status"]) == (
        5,
        2,
        25,
        "MANUAL",
        "NI",
    )
    assert vla(db)["status"] == "PAUSED"  # a manual dial started from pause returns to pause


def test_preview_then_dial_only_and_skip(eng, db, agent_api):
    token = eng.login()
    body = agent_api("external_dial", lead_id="12347", **dial_args(preview="YES", value=""))
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["preview_lead_id"] == 12347)
    assert vla(db)["status"] == "PAUSED" and eng.state(token)["preview_lead_id"] == 12347
    assert agent_api("preview_dial_action", agent_user="1000", value="SKIP").startswith("SUCCESS")
    wait_for(lambda: vla(db)["preview_lead_id"] == 0)
    assert vla(db)["external_dial"] == "" and vla(db)["status"] == "PAUSED"
    agent_api("external_dial", lead_id="12347", **dial_args(preview="YES", value=""))
    wait_for(lambda: vla(db)["preview_lead_id"] == 12347)
    assert agent_api("preview_dial_action", agent_user="1000", value="ALTDIAL").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "INCALL")
    callerid = vla(db)["callerid"]
    assert db.row("vicidial_auto_calls", callerid=callerid)["phone_number"] == "3125551903"  # alt_phone
    assert db.row("vicidial_auto_calls", callerid=callerid)["alt_dial"] == "ALT"
    assert vla(db)["preview_lead_id"] == 0


def test_manualnext_dials_the_next_hopper_lead(eng, db, agent_api):
    eng.login()
    body = agent_api("external_dial", value="MANUALNEXT", **dial_args())
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["status"] == "INCALL")
    assert vla(db)["lead_id"] == 12345  # first dialable lead of TESTCAMP's list, through the hopper
    assert db.count("vicidial_hopper", lead_id=12345) == 0


def test_manual_dial_queue_is_promoted_and_dialed(eng, db, agent_api):
    token = eng.login(campaign="MANCAMP")
    body = agent_api("external_dial", value="8135551002", phone_code="1", **dial_args())
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["status"] == "INCALL")
    assert vla(db)["lead_id"] == 12353
    assert db.row("vicidial_manual_dial_queue", user="1000")["status"] == "QUEUE"
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    row_id = vla(db)["agent_log_id"]
    assert agent_api("external_status", agent_user="1000", value="APPT").startswith("SUCCESS")
    wait_for(lambda: vla(db)["lead_id"] == 0)
    assert db.count("vicidial_manual_dial_queue", user="1000") == 0  # QUEUE rows deleted at dispo
    assert vla(db)["status"] == "PAUSED" and vla(db)["agent_log_id"] > row_id  # manual campaign: new row


def test_dnc_number_is_not_dialed(eng, db, agent_api):
    token = eng.login()
    db.update(
        "vicidial_live_agents", {"user": "1000"}, external_dial=f"7275550000!1!YES!NO!YES!!{EPOCH}!!!!!!!"
    )
    wait_for(lambda: vla(db)["external_dial"] == "")
    assert vla(db)["status"] == "PAUSED" and db.count("vicidial_auto_calls") == 0
    assert eng.state(token)["phase"] == "PAUSED"
