"""external_pause / logout / pause_code / external_hangup / external_status through /agc/api.php."""

from __future__ import annotations

from tests.engine.conftest import wait_for

EPOCH = 1768473000


def vla(db):
    return db.row("vicidial_live_agents", user="1000")


def start_inbound_call(eng, db, token, *, number="3125551001"):
    """Login done: go CLOSER, take an inbound call; returns the customer channel."""
    assert eng.agent("ready", token).status_code == 200
    chan = eng.inbound(number, "TEST_IN")
    eng.settle()
    wait_for(lambda: vla(db)["status"] == "INCALL", what="call delivered")
    return chan


def test_pause_and_resume_while_idle(eng, db, agent_api):
    token = eng.login()
    first = vla(db)["agent_log_id"]
    eng.services.clock.advance(3)
    assert agent_api("external_pause", agent_user="1000", value="RESUME").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "CLOSER")
    assert vla(db)["external_pause"] == ""  # claimed (compare-and-clear)
    eng.services.clock.advance(7)
    assert agent_api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "PAUSED")
    row = db.row("vicidial_agent_log", agent_log_id=first)
    assert (row["pause_sec"], row["wait_sec"]) == (3, 7)
    second = vla(db)["agent_log_id"]
    assert second > first
    new = db.row("vicidial_agent_log", agent_log_id=second)
    assert (new["pause_epoch"], new["wait_epoch"], new["sub_status"]) == (EPOCH + 10, EPOCH + 10, None)
    assert eng.state(token)["phase"] == "PAUSED"


def test_pause_codes(eng, db, agent_api):
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200
    eng.services.clock.advance(2)
    assert agent_api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "PAUSED")
    paused_row = vla(db)["agent_log_id"]
    assert agent_api("pause_code", agent_user="1000", value="BREAK").startswith("SUCCESS")
    wait_for(lambda: vla(db)["pause_code"] == "BREAK")
    assert vla(db)["external_pause_code"] == ""
    assert db.row("vicidial_agent_log", agent_log_id=paused_row)["sub_status"] == "BREAK"
    eng.services.clock.advance(60)
    assert agent_api("pause_code", agent_user="1000", value="LUNCH").startswith("SUCCESS")
    wait_for(lambda: vla(db)["pause_code"] == "LUNCH")
    assert db.row("vicidial_agent_log", agent_log_id=paused_row)["pause_sec"] == 60
    newer = vla(db)["agent_log_id"]
    assert newer > paused_row and db.row("vicidial_agent_log", agent_log_id=newer)["sub_status"] == "LUNCH"
    # RESUME clears the pause code
    assert agent_api("external_pause", agent_user="1000", value="RESUME").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "CLOSER")
    assert vla(db)["pause_code"] == ""


def test_pause_during_a_call_is_deferred_until_after_the_dispo(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    call_row = vla(db)["agent_log_id"]
    assert agent_api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["pending"] == "PAUSE")
    assert vla(db)["status"] == "INCALL" and vla(db)["external_pause"] == f"PAUSE!{EPOCH}"
    eng.services.clock.advance(20)
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert eng.state(token)["pending"] == "PAUSE"
    assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: vla(db)["lead_id"] == 0)
    row = vla(db)
    assert row["status"] == "PAUSED" and row["external_pause"] == "" and row["agent_log_id"] > call_row
    assert db.row("vicidial_agent_log", agent_log_id=call_row)["status"] == "NI"
    assert db.row("vicidial_closer_log", uniqueid=chan.uniqueid)["status"] == "NI"
    assert eng.state(token)["pending"] == ""


def test_logout_during_a_call_is_deferred_until_after_the_dispo(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    assert agent_api("logout", agent_user="1000", value="LOGOUT").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["pending"] == "LOGOUT")
    assert vla(db)["status"] == "INCALL"
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert eng.state(token)["pending"] == "LOGOUT"
    assert agent_api("external_status", agent_user="1000", value="SALE").startswith("SUCCESS")
    wait_for(lambda: db.count("vicidial_live_agents", user="1000") == 0)
    assert db.row("vicidial_list", lead_id=12345)["status"] == "SALE"
    assert [r["event"] for r in db.rows("vicidial_user_log", order_by="user_log_id")] == ["LOGIN", "LOGOUT"]
    assert db.count("vicidial_session_data", user="1000") == 0


def test_logout_while_idle_is_immediate(eng, db, agent_api):
    eng.login()
    eng.services.clock.advance(9)
    assert agent_api("logout", agent_user="1000", value="LOGOUT").startswith("SUCCESS")
    wait_for(lambda: db.count("vicidial_live_agents", user="1000") == 0)
    row = db.row("vicidial_agent_log", user="1000")
    assert (row["sub_status"], row["pause_sec"]) == ("LOGIN", 9)


def test_hangup_sent_while_idle_does_not_hang_up_the_next_call(eng, db, agent_api):
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    eng.run(eng.engine.sweep())
    assert vla(db)["external_hangup"] == "0"  # refused at once, not left armed for the next call
    record = db.row("openagc_commands", command="external_hangup")
    assert (record["state"], record["reason"]) == ("rejected", "agent has no call")
    chan = eng.inbound()
    eng.settle()
    wait_for(lambda: vla(db)["status"] == "INCALL")
    eng.run(eng.engine.sweep())
    assert vla(db)["status"] == "INCALL"
    assert eng.switch.channel(chan.name) is not None


def test_status_sent_during_the_call_applies_when_it_ends(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    assert agent_api("external_status", agent_user="1000", value="NP").startswith("SUCCESS")
    eng.run(eng.engine.sweep())
    assert vla(db)["external_status"] == "NP" and vla(db)["status"] == "INCALL"
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "CLOSER")
    assert db.row("vicidial_list", lead_id=12345)["status"] == "NP"


def test_status_with_a_scheduled_callback(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    body = agent_api(
        "external_status",
        agent_user="1000",
        value="CALLBK",
        callback_datetime="2026-01-20 14:00:00",
        callback_type="USERONLY",
        callback_comments="call back after lunch",
    )
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: db.count("vicidial_callbacks", lead_id=12345) == 1)
    cb = db.row("vicidial_callbacks", lead_id=12345)
    assert (
        cb["status"],
        str(cb["callback_time"]),
        cb["recipient"],
        cb["user"],
        cb["lead_status"],
        cb["comments"],
        cb["campaign_id"],
    ) == ("ACTIVE", "2026-01-20 14:00:00", "USERONLY", "1000", "CALLBK", "call back after lunch", "TESTCAMP")
    assert db.row("vicidial_list", lead_id=12345)["status"] == "CBHOLD"
    assert db.rows("vicidial_closer_log", lead_id=12345)[-1]["status"] == "CALLBK"


def test_customer_hangup_makes_the_call_dead_until_the_agent_hangs_up(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    row_id = vla(db)["agent_log_id"]
    eng.services.clock.advance(10)
    eng.run(eng.switch.hangup(chan.name))  # the customer leaves
    eng.settle()
    wait_for(lambda: eng.state(token)["dead"])
    assert db.count("vicidial_auto_calls") == 0
    eng.services.clock.advance(4)
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    val = db.row("vicidial_agent_log", agent_log_id=row_id)
    assert (val["talk_sec"], val["dead_sec"]) == (14, 4)
    assert db.row("vicidial_closer_log", uniqueid=chan.uniqueid)["term_reason"] == "CALLER"
