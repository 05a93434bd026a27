"""The integrators' event stream (`/api/v1/events`) fed by the engine, through real requests on both databases."""

from __future__ import annotations

from tests.engine.conftest import wait_for
from tests.engine.test_agent_phone import connected_phone
from tests.engine.test_session_commands import start_inbound_call
from tests.integrations.event_support import SseReader, kinds


def vla(db):
    return db.row("vicidial_live_agents", user="1000")


def test_a_shift_through_the_engine_comes_out_as_events(eng, db):
    agent_api = eng.api
    stream = SseReader(eng.server.base_url)
    try:
        token = eng.login()
        assert eng.agent("ready", token).status_code == 200
        eng.inbound("3125551001", "TEST_IN")
        eng.settle()
        wait_for(lambda: vla(db)["status"] == "INCALL", what="the call delivered")
        eng.services.clock.advance(30)
        assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
        wait_for(lambda: eng.state(token)["phase"] == "DISPO", what="the disposition phase")
        assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
        stream.wait(lambda ev: "call.dispositioned" in kinds(ev) and ev[-1]["type"] == "command.outcome",
                    what="the disposition's events")
    finally:
        stream.close()
    call = db.row("vicidial_closer_log", lead_id=12345)
    assert [e["id"] for e in stream.events] == list(range(1, 14))  # a new stream starts at the newest: all of them
    assert {(e["agent"], e["campaign"], e["user_group"]) for e in stream.events} == {("1000", "TESTCAMP", "AGENTS")}
    assert [e["time"] for e in stream.events] == ["2026-01-15T10:30:00.000+00:00"] * 7 + [
        "2026-01-15T10:30:30.000+00:00"] * 6
    uniqueid = call["uniqueid"]
    callerid = next(e["data"]["call_id"] for e in stream.events if e["type"] == "call.ringing")
    assert callerid.startswith("Y") and len(callerid) == 20
    call_data = {"call_id": callerid, "uniqueid": uniqueid, "lead_id": 12345, "phone_number": "3125551001",
                 "direction": "inbound", "group": "TEST_IN"}
    idle = {"status": "CLOSER", "pause_code": "", "lead_id": 0}
    resume, hangup, status = (r["command_id"] for r in db.rows("openagc_commands", order_by="command_id"))
    assert [(e["type"], e["data"]) for e in stream.events] == [
        ("agent.logged_in", {"state": "PAUSED", "server_ip": "10.10.10.15", "conf_exten": "8600051",
                             "extension": "SIP/1000"}),
        ("agent.state", {"state": "PAUSED", "previous": "", "status": "PAUSED", "pause_code": "LOGIN", "lead_id": 0}),
        ("agent.state", {"state": "CLOSER", "previous": "PAUSED"} | idle),
        ("command.outcome", {"command_id": resume, "command": "external_pause", "value": "RESUME!1768473000",
                             "state": "applied", "reason": "", "source": "agent", "function": "agent"}),
        ("call.ringing", call_data | {"stage": "offered"}),
        ("call.answered", call_data),
        ("agent.state", {"state": "INCALL", "previous": "CLOSER", "status": "INCALL", "pause_code": "",
                         "lead_id": 12345}),
        ("call.ended", call_data | {"cause": "AGENT", "length_in_sec": 30}),
        ("agent.state", {"state": "DISPO", "previous": "INCALL", "status": "PAUSED", "pause_code": "",
                         "lead_id": 12345}),
        ("command.outcome", {"command_id": hangup, "command": "external_hangup", "value": "1", "state": "applied",
                             "reason": "", "source": "api", "function": "external_hangup"}),
        ("call.dispositioned", {"lead_id": 12345, "status": "NI", "uniqueid": uniqueid,
                                "agent_log_id": db.row("vicidial_agent_log", status="NI")["agent_log_id"],
                                "phone_number": "3125551001"}),
        ("agent.state", {"state": "CLOSER", "previous": "DISPO"} | idle),
        ("command.outcome", {"command_id": status, "command": "external_status", "value": "NI", "state": "applied",
                             "reason": "", "source": "api", "function": "external_status"}),
    ]
    # what the events say is what the rows say
    assert db.row("vicidial_closer_log", uniqueid=uniqueid)["term_reason"] == "AGENT"
    assert db.count("openagc_events") == 13


def test_an_outbound_call_with_recording_park_transfer_and_commands(eng, db):
    agent_api = eng.api
    eng.login()
    stream = SseReader(eng.server.base_url, params={"after": 0})
    try:
        assert agent_api("external_dial", value="3125551002", phone_code="1", agent_user="1000", search="YES",
                         preview="NO", focus="YES").startswith("SUCCESS")
        wait_for(lambda: vla(db)["status"] == "INCALL", what="dialing")
        eng.advance(2)  # the customer answers
        wait_for(lambda: vla(db)["uniqueid"] not in ("", None), what="answered")
        assert agent_api("recording", agent_user="1000", value="START").startswith("SUCCESS")
        wait_for(lambda: db.count("recording_log") == 1, what="recording")
        assert agent_api("park_call", agent_user="1000", value="GRAB_CUSTOMER").startswith("SUCCESS")  # not parked
        wait_for(lambda: vla(db)["external_park"] == "", what="refused")
        assert agent_api("park_call", agent_user="1000", value="PARK_CUSTOMER").startswith("SUCCESS")
        wait_for(lambda: db.count("parked_channels") == 1, what="parked")
        assert agent_api("park_call", agent_user="1000", value="GRAB_CUSTOMER").startswith("SUCCESS")
        wait_for(lambda: db.count("parked_channels") == 0, what="grabbed")
        assert agent_api("transfer_conference", agent_user="1000", value="DIAL_WITH_CUSTOMER",
                         phone_number="3125559999").startswith("SUCCESS")
        wait_for(lambda: vla(db)["external_transferconf"] == "", what="3-way dialled")
        eng.settle()
        eng.advance(2)
        assert agent_api("transfer_conference", agent_user="1000", value="HANGUP_XFER").startswith("SUCCESS")
        wait_for(lambda: vla(db)["external_transferconf"] == "", what="3-way hung up")
        eng.settle()
        assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
        assert agent_api("external_status", agent_user="1000", value="SALE").startswith("SUCCESS")
        eng.advance(10)
        assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
        wait_for(lambda: vla(db)["lead_id"] == 0, what="dispositioned")
        stream.wait(lambda ev: ev and ev[-1]["type"] == "command.outcome" and ev[-1]["data"]["value"] == "SALE",
                    what="the last outcome")
    finally:
        stream.close()
    call = {"call_id": "M1151030000000012346", "uniqueid": "1768473000.2", "lead_id": 12346,
            "phone_number": "3125551002", "direction": "outbound", "group": "TESTCAMP"}
    outcome = ("command.outcome",)
    shown = [(e["type"], e["data"]) if e["type"] != "command.outcome" else
             (*outcome, e["data"]["command"], e["data"]["state"], e["data"]["reason"]) for e in stream.events[2:]]
    channel = db.row("park_log")["channel"]
    recording = db.row("recording_log")
    assert shown == [
        ("call.ringing", call | {"uniqueid": "", "stage": "dialing"}),
        ("agent.state", {"state": "INCALL", "previous": "PAUSED", "status": "INCALL", "pause_code": "",
                         "lead_id": 12346}),
        (*outcome, "external_dial", "applied", ""),
        ("call.answered", call),
        ("recording.started", {"recording_id": recording["recording_id"], "filename": recording["filename"],
                               "lead_id": 12346}),
        (*outcome, "external_recording", "applied", ""),
        (*outcome, "external_park", "rejected", "not parked"),
        ("call.parked", {"leg": "customer", "channel": channel}),
        (*outcome, "external_park", "applied", ""),
        ("call.grabbed", {"leg": "customer", "channel": channel}),
        (*outcome, "external_park", "applied", ""),
        ("call.transfer", {"step": "requested", "function": "DIAL_WITH_CUSTOMER", "phase": "DIALING"}),
        (*outcome, "external_transferconf", "applied", ""),
        ("call.transfer", {"step": "answered", "call_id": "DC1768473002W12346W"}),
        ("call.transfer", {"step": "requested", "function": "HANGUP_XFER", "phase": "IDLE"}),
        (*outcome, "external_transferconf", "applied", ""),
        # the disposition waited for the end of the call: one transaction ends the call and dispositions it
        ("call.ended", call | {"cause": "AGENT", "length_in_sec": 12}),
        ("call.dispositioned", {"lead_id": 12346, "status": "SALE", "uniqueid": "1768473000.2",
                                "agent_log_id": db.row("vicidial_agent_log", status="SALE")["agent_log_id"],
                                "phone_number": "3125551002"}),
        ("recording.stopped", {"recording_id": recording["recording_id"], "filename": recording["filename"],
                               "lead_id": 12346, "length_in_sec": 12}),
        ("agent.state", {"state": "PAUSED", "previous": "INCALL", "status": "PAUSED", "pause_code": "",
                         "lead_id": 0}),
        (*outcome, "external_hangup", "applied", ""),
        (*outcome, "external_status", "superseded", ""),  # NI, replaced by SALE before the call ended
        (*outcome, "external_status", "applied", ""),
    ]
    assert [e["data"]["value"] for e in stream.events if e["type"] == "command.outcome"][-2:] == ["NI", "SALE"]


def test_a_recording_closed_by_reconciliation_is_announced(eng, db):
    """The switch restarted under a recording call: the engine closes the recording when it reconciles (not in an
    agent's transaction) and says so."""
    token = eng.login()
    connected_phone(eng, token)
    start_inbound_call(eng, db, token)
    assert eng.api("recording", agent_user="1000", value="START").startswith("SUCCESS")
    wait_for(lambda: eng.switch.recordings(), what="the recording")
    stream = SseReader(eng.server.base_url, params={"type": "recording.stopped"})
    try:
        eng.call(eng.switch.restart)
        eng.settle()
        stream.wait(lambda ev: ev, what="recording.stopped")
    finally:
        stream.close()
    rec = db.row("recording_log", user="1000")
    assert [(e["agent"], e["campaign"], e["data"]) for e in stream.events] == [
        ("1000", "TESTCAMP", {"recording_id": rec["recording_id"], "filename": rec["filename"], "lead_id": 12345,
                              "length_in_sec": rec["length_in_sec"]})]
