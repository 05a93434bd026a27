"""What the engine asks of the switch, asserted on the switch (findings of the Asterisk 22 run).

Each scenario checks what the simulated switch did or was sent — dial strings as an Originate would carry them,
which conference a channel is in, what was hung up — and not only the rows the engine wrote.
"""

from __future__ import annotations

from openagc.switch.port import ChannelKind
from tests.engine.conftest import wait_for
from tests.engine.test_session_commands import start_inbound_call, vla

CONF = "8600051"


def dials(eng, prefix=""):
    """The dial strings of the originates whose call id starts with `prefix`, in order."""
    return [o.dial for o in eng.call(lambda: list(eng.switch.originates)) if o.call_id.startswith(prefix)]


def xfer(agent_api, value, **kw):
    body = agent_api("transfer_conference", agent_user="1000", value=value, **kw)
    assert body.startswith("SUCCESS"), body


# --- finding 1: one meaning for a dialled number, the campaign's prefix once ------------------------------------


def test_three_way_leg_is_dialled_with_the_prefix_once(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    xfer(agent_api, "DIAL_WITH_CUSTOMER", phone_number="3125559999")
    wait_for(lambda: dials(eng, "DC"), what="the 3-way originate")
    assert dials(eng, "DC") == ["Local/913125559999@default"]  # Asterisk 22 was sent Local/9913125559999@default
    row = db.rows("vicidial_manager", action="Originate")[-1]
    assert row["callerid"].startswith("DC") and row["cmd_line_b"] == "Channel: Local/913125559999@default"


def test_campaign_dial_prefix_is_honoured_by_every_dial(eng, db, agent_api):
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, dial_prefix="7", three_way_dial_prefix="",
              omit_phone_code="N")
    token = eng.login()
    # manual dial
    assert agent_api("external_dial", value="3125551002", phone_code="1", agent_user="1000", search="YES",
                     preview="NO", focus="YES").startswith("SUCCESS")
    wait_for(lambda: dials(eng, "M"), what="the manual originate")
    assert dials(eng, "M") == ["Local/713125551002@default"]
    assert db.rows("vicidial_manager", action="Originate")[-1]["cmd_line_d"] == "Exten: 713125551002"
    eng.advance(2)
    wait_for(lambda: vla(db)["uniqueid"] not in ("", None))
    # 3-way leg and blind transfer on the same call
    xfer(agent_api, "DIAL_WITH_CUSTOMER", phone_number="3125559999")
    wait_for(lambda: dials(eng, "DC"), what="the 3-way originate")
    assert dials(eng, "DC") == ["Local/713125559999@default"]
    xfer(agent_api, "HANGUP_XFER")
    wait_for(lambda: not [c for c in eng.switch.list_channels() if c.call_id.startswith("DC")])
    eng.settle()
    customer = vla(db)["channel"]
    xfer(agent_api, "BLIND_TRANSFER", phone_number="3125558888")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    eng.settle()
    row = [r for r in db.rows("vicidial_manager", action="Redirect") if r["callerid"].startswith("XBvdcW")][0]
    assert (row["cmd_line_b"], row["cmd_line_d"]) == (f"Channel: {customer}", "Exten: 713125558888")
    far = eng.call(lambda: [c for c in eng.switch.list_channels() if c.call_id.startswith("XB")])
    assert [c.number for c in far] == ["713125558888"]


def test_auto_dial_uses_the_campaign_prefix(eng, db):
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, dial_prefix="8")
    token = eng.login(ingroups=[], blended=True)
    assert eng.agent("ready", token).status_code == 200
    wait_for(lambda: dials(eng, "V"), what="an auto-dial originate")
    vac = db.rows("vicidial_auto_calls")[0]
    first = eng.call(lambda: [o for o in eng.switch.originates if o.call_id == vac["callerid"]][0])
    assert (first.dial, first.exten) == (f"Local/8{vac['phone_code']}{vac['phone_number']}@default", "8301")


# --- finding 2: an answered auto-dial call waits parked until the engine redirects it ---------------------------


def test_answered_auto_dial_call_is_redirected_into_the_agents_conference(eng, db):
    token = eng.login(ingroups=[], blended=True)
    assert eng.agent("ready", token).status_code == 200
    wait_for(lambda: db.count("vicidial_auto_calls") >= 1)
    callerid = db.rows("vicidial_auto_calls")[0]["callerid"]
    eng.advance(2)
    wait_for(lambda: vla(db)["status"] == "INCALL")
    eng.settle()
    chan = eng.call(lambda: eng.switch.find(call_id=callerid))
    assert chan is not None and chan.kind == ChannelKind.CUSTOMER
    assert (chan.conference, chan.parked) == (CONF, False)
    assert chan.name == vla(db)["channel"]
    assert [c.name for c in eng.call(lambda: eng.switch.conference_members(CONF))][-1] == chan.name



# --- finding 6: LEAVE_3WAY_CALL stops the recording in the conference it records -------------------------------


def test_leave_3way_stops_the_recording_where_it_runs_and_the_3way_conference_is_released(eng, db, agent_api):
    token = eng.login()
    eng.advance(1)  # the agent's phone answers
    chan = start_inbound_call(eng, db, token)
    assert agent_api("recording", agent_user="1000", value="START").startswith("SUCCESS")
    wait_for(lambda: vla(db)["external_recording"].isdigit())
    eng.settle()
    assert [c.kind for c in eng.call(lambda: eng.switch.conference_members(CONF))] == [
        ChannelKind.AGENT, ChannelKind.CUSTOMER, ChannelKind.RECORDING]
    xfer(agent_api, "DIAL_WITH_CUSTOMER", phone_number="3125559999")
    wait_for(lambda: dials(eng, "DC"))
    eng.settle()
    eng.advance(2)
    leg = wait_for(lambda: eng.call(lambda: next((c for c in eng.switch.list_channels()
                                                  if c.call_id.startswith("DC") and c.conference == CONF), None)))
    eng.advance(8)
    xfer(agent_api, "LEAVE_3WAY_CALL")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    eng.settle()
    # the switch stopped it in 8600051 (Asterisk 22: RecordingNotFound in 8600052, the leg kept recording)
    assert {c.name for c in eng.call(lambda: eng.switch.conference_members(CONF))} == {chan.name, leg.name}
    recs = eng.call(lambda: eng.switch.recordings())
    assert [(r.conference, r.length_seconds) for r in recs] == [(CONF, 10)]
    row = db.rows("recording_log")[0]
    assert (row["length_in_sec"], row["channel"]) == (10, f"Local/5{CONF}@default")
    wait_for(lambda: db.row("recording_log", recording_id=row["recording_id"])["location"] == recs[0].path)
    # the 3rd party hangs up: the customer is let go and the old conference freed
    eng.run(eng.switch.hangup(leg.name))
    eng.settle()
    wait_for(lambda: db.row("vicidial_conferences", conf_exten=int(CONF))["extension"] == "")
    eng.settle()
    assert eng.call(lambda: eng.switch.conference_members(CONF)) == []


# --- finding 5: call_agent for a Local (EXTERNAL) phone --------------------------------------------------------


def newest_originate(db):
    return db.rows("vicidial_manager", order_by="man_id", action="Originate")[-1]


def test_call_agent_rings_a_local_phone_as_the_agents_phone(eng, db, agent_api):
    db.update("phones", {"login": "1000"}, protocol="EXTERNAL", dialplan_number="8300", ext_context="default")
    eng.login()
    eng.advance(1)
    phone = eng.call(lambda: eng.switch.find(kind=ChannelKind.AGENT))
    eng.run(eng.switch.hangup(phone.name))
    eng.settle()
    assert agent_api("call_agent", agent_user="1000", value="CALL").startswith("SUCCESS")
    wait_for(lambda: newest_originate(db)["status"] == "SENT")
    sent = eng.call(lambda: eng.switch.originates[-1])
    # Asterisk 22 was sent Local/98300@default as a customer (→ Failure) and the row said UPDATED
    assert (sent.kind, sent.dial, sent.exten, sent.caller_id) == (ChannelKind.AGENT, "Local/8300@default", CONF,
                                                                   "7275551111")
    eng.advance(1)
    again = eng.call(lambda: eng.switch.find(kind=ChannelKind.AGENT))
    assert again is not None and again.name.startswith("Local/8300@default-") and again.conference == CONF
    wait_for(lambda: newest_originate(db)["status"] == "UPDATED")
    assert newest_originate(db)["channel"] == again.name


def test_call_agent_whose_phone_never_answers_is_dead(eng, db, agent_api):
    eng.login()
    eng.advance(1)
    phone = eng.call(lambda: eng.switch.find(kind=ChannelKind.AGENT))
    eng.run(eng.switch.hangup(phone.name))
    eng.settle()
    assert agent_api("call_agent", agent_user="1000", value="CALL").startswith("SUCCESS")
    wait_for(lambda: newest_originate(db)["status"] == "SENT")
    ringing = wait_for(lambda: eng.call(lambda: eng.switch.find(kind=ChannelKind.AGENT)))
    eng.run(eng.switch.hangup(ringing.name, "NO ANSWER"))  # the phone is not picked up
    eng.settle()
    wait_for(lambda: newest_originate(db)["status"] == "DEAD")


# --- smaller observations -----------------------------------------------------------------------------------


def test_call_log_ends_when_the_customer_hangs_up_not_at_the_agents_later_hangup(eng, db, agent_api):
    eng.login()
    assert agent_api("external_dial", value="3125551002", phone_code="1", agent_user="1000", search="YES",
                     preview="NO", focus="YES").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "INCALL")
    eng.advance(2)
    wait_for(lambda: vla(db)["uniqueid"] not in ("", None))
    uid, customer = vla(db)["uniqueid"], vla(db)["channel"]
    start = db.row("vicidial_log", uniqueid=uid)["start_epoch"]
    eng.advance(16)
    eng.run(eng.switch.hangup(customer))  # the customer hangs up after 16 s
    eng.settle()
    wait_for(lambda: db.row("vicidial_log", uniqueid=uid)["term_reason"] == "CALLER")
    eng.advance(4)  # the agent hangs up 4 s later
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: db.row("vicidial_log", uniqueid=uid)["status"] == "DISPO")
    log = db.row("vicidial_log", uniqueid=uid)
    assert (log["end_epoch"] - start, log["length_in_sec"], log["term_reason"]) == (16, 16, "CALLER")
