"""Remote agents (vicidial_live_agents rows with an `R/<number>` extension and no screen): inbound calls
delivered to them, controlled by ra_call_control (HANGUP, EXTENSIONTRANSFER, INGROUPTRANSFER)."""

from __future__ import annotations

from datetime import datetime

from tests.engine.conftest import wait_for
from tests.support import live_agent_row

RA = "1028"
RA_NUMBER = "3125550777"


def remote(db):
    return db.row("vicidial_live_agents", user=RA)


def add_remote_agent(eng, db, ingroups=("TEST_IN",)):
    """What upstream's remote-agent daemon does: a live row (CLOSER) and its in-groups."""
    now = datetime(2026, 1, 15, 10, 30)
    db.insert("vicidial_live_agents", **live_agent_row(
        RA, status="CLOSER", extension=f"R/{RA_NUMBER}", conf_exten=RA_NUMBER, closer_campaigns=" TEST_IN -",
        outbound_autodial="N", agent_log_id=0, last_call_finish=now, last_state_change=now))
    for group in ingroups:
        db.insert("vicidial_live_inbound_agents", user=RA, group_id=group, group_weight=0, calls_today=0,
                  group_grade=1, calls_today_filtered=0, daily_limit=-1, last_call_time=now, last_call_finish=now,
                  last_call_time_filtered=now, last_call_finish_filtered=now)
    eng.run(eng.engine.rebuild())


def remote_call(eng, db, number="3125551001"):
    chan = eng.inbound(number, "TEST_IN")
    eng.settle()
    wait_for(lambda: remote(db)["status"] == "INCALL", what="remote agent has the call")
    eng.settle()
    return chan


def test_inbound_call_to_a_remote_agent_then_ra_hangup(eng, db, agent_api):
    add_remote_agent(eng, db)
    chan = remote_call(eng, db)
    row = remote(db)
    assert (row["lead_id"], row["callerid"], row["comments"]) == (12345, chan.call_id, "INBOUND")
    leg = eng.switch.find(number=RA_NUMBER)
    assert leg is not None  # the remote agent's phone is dialled and bridged with the caller
    assert eng.switch.channel(chan.name).conference is None
    eng.advance(12)
    body = agent_api("ra_call_control", agent_user=RA, value=chan.call_id, stage="HANGUP", status="TEST88")
    assert body.startswith("SUCCESS: ra_call_control hungup"), body
    wait_for(lambda: eng.switch.channel(chan.name) is None, what="manager queue hung up the caller")
    # the row is marked SENT after the switch acted: wait for it rather than race it
    wait_for(lambda: db.row("vicidial_manager", action="Hangup", callerid="HAPI" + chan.call_id[4:])["status"]
             == "SENT", what="the manager row marked SENT")
    assert eng.switch.find(number=RA_NUMBER) is None
    log = db.row("vicidial_closer_log", uniqueid=chan.uniqueid)
    assert (log["status"], log["length_in_sec"], log["user"]) == ("TEST88", 12, RA)
    assert db.row("vicidial_list", lead_id=12345)["status"] == "TEST88"
    assert (remote(db)["status"], remote(db)["lead_id"]) == ("READY", 0)
    # the next caller is delivered to the remote agent again
    eng.inbound("3125551004", "TEST_IN")
    eng.settle()
    wait_for(lambda: remote(db)["lead_id"] == 12348)


def test_ra_extension_transfer(eng, db, agent_api):
    add_remote_agent(eng, db)
    chan = remote_call(eng, db)
    body = agent_api("ra_call_control", agent_user=RA, value=chan.call_id, stage="EXTENSIONTRANSFER",
                     phone_number="3125558888")
    assert body.startswith("SUCCESS: ra_call_control transfer"), body
    wait_for(lambda: eng.switch.find(number="3125558888") is not None)
    eng.settle()
    assert eng.switch.channel(chan.name) is not None and eng.switch.find(number=RA_NUMBER) is None
    assert db.row("vicidial_closer_log", uniqueid=chan.uniqueid)["status"] == "RAXFER"


def test_ra_ingroup_transfer_reaches_a_closer(eng, db, agent_api):
    add_remote_agent(eng, db)
    chan = remote_call(eng, db)
    token = eng.login(user="1001", phone_login="1001", ingroups=["SALESLINE"])
    assert eng.agent("ready", token).status_code == 200
    body = agent_api("ra_call_control", agent_user=RA, value=chan.call_id, stage="INGROUPTRANSFER",
                     ingroup_choices="SALESLINE")
    assert body.startswith("SUCCESS: ra_call_control transfer"), body
    wait_for(lambda: db.row("vicidial_live_agents", user="1001")["lead_id"] == 12345, what="closer took it")
    x = db.row("vicidial_xfer_log", lead_id=12345)
    assert (x["campaign_id"], x["user"], x["closer"]) == ("SALESLINE", RA, "1001")
    eng.settle()
    assert eng.switch.channel(chan.name).conference == db.row("vicidial_live_agents", user="1001")["conf_exten"]


def test_caller_hangs_up_on_a_remote_agent(eng, db):
    add_remote_agent(eng, db)
    chan = remote_call(eng, db)
    eng.advance(7)
    eng.run(eng.switch.hangup(chan.name))
    eng.settle()
    wait_for(lambda: remote(db)["status"] == "CLOSER" and remote(db)["lead_id"] == 0)
    log = db.row("vicidial_closer_log", uniqueid=chan.uniqueid)
    assert (log["length_in_sec"], log["term_reason"]) == (7, "CALLER")
    assert db.count("vicidial_auto_calls") == 0
