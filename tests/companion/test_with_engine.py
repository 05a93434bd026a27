"""The companion API over what the engine writes: an agent's shift seen through agent_status and callid_info, and
the remote-agent bot of the integrations (it reads the call id from agent_status, hangs up with ra_call_control,
and finds the inbound call by its id afterwards: the engine logs `vicidial_log_extended` for inbound calls as
upstream's inbound AGI does)."""

from __future__ import annotations

from datetime import datetime

from tests.companion.conftest import Companion
from tests.engine.conftest import wait_for
from tests.support import live_agent_row


def fields(body: str) -> list[str]:
    return body.rstrip("\n").split("|")


def test_a_manual_call_seen_through_agent_status_and_callid_info(eng, db):
    companion, agent_api = Companion(eng.client), eng.api
    eng.login()
    first = fields(companion("agent_status", agent_user="1000", include_ip="YES"))
    assert (first[0], first[8], first[9], first[12], first[13]) == ("PAUSED", "LOGIN", "", "8600051", "127.0.0.1")

    body = agent_api("external_dial", agent_user="1000", value="3125551002", phone_code="1", search="YES",
                     preview="NO", focus="YES")
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["status"] == "INCALL")
    callerid = db.row("vicidial_live_agents", user="1000")["callerid"]
    ringing = fields(companion("agent_status", agent_user="1000"))
    assert (ringing[0], ringing[1], ringing[2], ringing[9], ringing[10]) == (
        "INCALL", callerid, "12346", "DIAL", "3125551002")

    eng.advance(2)  # answered (the call log starts here: 10:30:02)
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["uniqueid"] not in ("", None))
    assert fields(companion("agent_status", agent_user="1000"))[9] == ""
    eng.advance(25)
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: fields(companion("agent_status", agent_user="1000"))[9] == "DISPO")
    assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["lead_id"] == 0)

    assert companion("callid_info", call_id=callerid, detail="YES") == (
        f"{callerid}|25|2026-01-15 10:30:02|3125551002|OUTBOUND_MANUAL|TESTCAMP|101|NI|1000\n")


def test_a_remote_agent_bot_finds_its_call_id_and_hangs_up(eng, db):
    companion, agent_api = Companion(eng.client), eng.api
    now = datetime(2026, 1, 15, 10, 30)
    db.insert("vicidial_live_agents", **live_agent_row(
        "1028", status="CLOSER", extension="R/3125550777", conf_exten="3125550777", closer_campaigns=" TEST_IN -",
        outbound_autodial="N", agent_log_id=0, last_call_finish=now, last_state_change=now))
    db.insert("vicidial_live_inbound_agents", user="1028", group_id="TEST_IN", last_call_time=now,
              last_call_finish=now, last_call_time_filtered=now, last_call_finish_filtered=now)
    eng.run(eng.engine.rebuild())
    assert fields(companion("agent_status", agent_user="1028"))[0] == "CLOSER"

    chan = eng.inbound("3125551001", "TEST_IN")
    eng.settle()
    wait_for(lambda: fields(companion("agent_status", agent_user="1028"))[0] == "INCALL", what="call delivered")
    status = fields(companion("agent_status", agent_user="1028"))
    call_id = status[1]
    assert (call_id, status[2], status[10]) == (chan.call_id, "12345", "3125551001")
    assert companion("logged_in_agents", campaigns="TESTCAMP", user_groups="AGENTS").startswith(
        f"1028|TESTCAMP|3125550777|INCALL|12345|{call_id}|")

    eng.advance(12)
    body = agent_api("ra_call_control", agent_user="1028", value=call_id, stage="HANGUP", status="TEST88")
    assert body.startswith("SUCCESS: ra_call_control hungup"), body
    wait_for(lambda: eng.switch.channel(chan.name) is None, what="the caller hung up")
    wait_for(lambda: fields(companion("agent_status", agent_user="1028"))[0] == "READY", what="the bot is ready")
    # the call is found by its id afterwards (remote agents keep no agent log: no customer time)
    assert companion("callid_info", call_id=call_id, detail="YES") == (
        f"{call_id}|0|2026-01-15 10:30:00|3125551001|INBOUND|TEST_IN|101|TEST88|1028\n")
