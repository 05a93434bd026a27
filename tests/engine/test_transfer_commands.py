"""transfer_conference (external_transferconf), all eight functions, and force_fronter_leave_3way, through
/agc/api.php on the simulated switch."""

from __future__ import annotations

from openagc.switch.port import ChannelKind
from openagc.switch.simulated import CustomerScript
from tests.engine.conftest import wait_for
from tests.engine.test_session_commands import start_inbound_call, vla

CONF = "8600051"
THIRD = "3125559999"


def xfer(agent_api, value, **kw):
    body = agent_api("transfer_conference", agent_user="1000", value=value, **kw)
    assert body.startswith("SUCCESS"), body
    return body


def vm(db, prefix, **where):
    """The one vicidial_manager row whose callerid starts with `prefix`."""
    rows = [r for r in db.rows("vicidial_manager", **where) if (r["callerid"] or "").startswith(prefix)]
    assert len(rows) == 1, rows
    return rows[0]


def members(eng, conf=CONF):
    return eng.call(lambda: eng.switch.conference_members(conf))


def third_party(eng):
    return eng.call(lambda: [c for c in eng.switch.list_channels() if c.call_id.startswith(("DC", "DV"))])


def closer(eng, db, ingroups, user="1001"):
    """Log in a second agent (phone = user) on `ingroups` and make them CLOSER."""
    token = eng.login(user=user, phone_login=user, ingroups=ingroups)
    assert eng.agent("ready", token).status_code == 200
    wait_for(lambda: db.row("vicidial_live_agents", user=user)["status"] == "CLOSER")
    return token


def dial_3way(eng, db, agent_api, **kw):
    xfer(agent_api, "DIAL_WITH_CUSTOMER", phone_number=THIRD, **kw)
    wait_for(lambda: vla(db)["external_transferconf"] == "")
    eng.settle()
    eng.advance(2)  # the 3rd party answers into the conference
    wait_for(lambda: any(c.conference == CONF for c in third_party(eng)), what="3rd party in the conference")
    return third_party(eng)[0]


def test_dial_with_customer_then_hangup_xfer(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    leg = dial_3way(eng, db, agent_api)
    assert leg.number == "13125559999" and leg.call_id == "DC1768473000W12345W"  # the number; the prefix apart
    assert [o.dial for o in eng.switch.originates if o.call_id == leg.call_id] == ["Local/913125559999@default"]
    row = db.row("vicidial_manager", callerid=leg.call_id)
    assert (row["action"], row["cmd_line_b"], row["cmd_line_d"]) == (
        "Originate", "Channel: Local/913125559999@default", f"Exten: {CONF}")
    assert row["cmd_line_f"] == 'Callerid: "DC1768473000W12345W" <7275551111>'  # three_way_call_cid CAMPAIGN
    assert db.row("user_call_log", call_type="XFER_3WAY")["callerid"] == leg.call_id
    wait_for(lambda: db.row("live_sip_channels", channel_group=leg.call_id)["extension"] == CONF)
    # tw_check sees the live 3-way leg
    body = agent_api("transfer_conference", agent_user="1000", value="DIAL_WITH_CUSTOMER", phone_number="1",
                     tw_check="YES")
    assert body.startswith("ERROR: agent_user has current active 3-way call - 1000|1|0|YES"), body
    # the lock: a second transfer cannot start while this one is in progress
    xfer(agent_api, "BLIND_TRANSFER", phone_number="3125558888")
    wait_for(lambda: vla(db)["external_transferconf"] == "")
    eng.settle()
    assert eng.switch.channel(chan.name).conference == CONF and vla(db)["status"] == "INCALL"
    xfer(agent_api, "HANGUP_XFER")
    wait_for(lambda: not third_party(eng))
    assert vm(db, "HXvdcW", action="Hangup", channel=leg.name)
    assert vla(db)["status"] == "INCALL" and eng.switch.channel(chan.name).conference == CONF
    wait_for(lambda: db.count("live_sip_channels", channel_group=leg.call_id) == 0)
    # IDLE again: a new 3-way may start
    assert dial_3way(eng, db, agent_api)


def test_hangup_both(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    dial_3way(eng, db, agent_api)
    xfer(agent_api, "HANGUP_BOTH")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    eng.settle()
    assert not third_party(eng) and eng.switch.channel(chan.name) is None


def test_blind_transfer_bridges_the_customer_to_the_number(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    eng.advance(4)
    xfer(agent_api, "BLIND_TRANSFER", phone_number=THIRD)
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    eng.settle()
    customer = eng.switch.channel(chan.name)
    assert customer is not None and customer.conference is None
    bridged = eng.switch.find(number=f"91{THIRD}")
    assert bridged is not None
    assert vm(db, "XBvdcW", action="Redirect", channel=chan.name)["cmd_line_d"] == f"Exten: 91{THIRD}"
    log = db.row("vicidial_closer_log", uniqueid=chan.uniqueid)
    assert (log["status"], log["length_in_sec"]) == ("XFER", 4)
    assert db.count("vicidial_auto_calls") == 0
    assert [c.kind for c in members(eng)] == [ChannelKind.AGENT]
    # the far end hangs up: the bridged customer goes too
    eng.run(eng.switch.hangup(bridged.name))
    eng.settle()
    assert eng.switch.channel(chan.name) is None
    assert agent_api("external_status", agent_user="1000", value="XFER").startswith("SUCCESS")
    wait_for(lambda: vla(db)["lead_id"] == 0)


def test_blind_transfer_with_dial_override_dials_the_number_as_given(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    xfer(agent_api, "BLIND_TRANSFER", phone_number="18005551234", dial_override="YES")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert db.row("vicidial_manager", action="Redirect", cmd_line_d="Exten: 18005551234")


def test_leave_vm_plays_the_vm_message_then_hangs_up(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    body = agent_api("vm_message", agent_user="1000", value="EXship01|EXship02")
    assert body.startswith("SUCCESS"), body
    xfer(agent_api, "LEAVE_VM")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    eng.settle()
    assert list(eng.switch.voicemail_log) == [
        (chan.name, "vm-goodbye*TESTCAMP*1*3125551001*12345", ("EXship01", "EXship02"))]
    assert db.row("vicidial_lead_messages", lead_id=12345)["played"] == 1
    assert vm(db, "LVvdcW", action="Redirect", channel=chan.name)
    eng.advance(10)  # two messages of 5 s, then the drop hangs up
    assert eng.switch.channel(chan.name) is None


def test_local_closer_goes_to_another_agent_with_closer_logs(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    closer(eng, db, ["SALESLINE"])
    eng.advance(6)
    xfer(agent_api, "LOCAL_CLOSER", ingroup_choices="SALESLINE")
    wait_for(lambda: db.row("vicidial_live_agents", user="1001")["status"] == "INCALL", what="closer has the call")
    other = db.row("vicidial_live_agents", user="1001")
    assert (other["lead_id"], other["callerid"], other["comments"]) == (12345, chan.call_id, "INBOUND")
    assert eng.state(token)["phase"] == "DISPO"
    eng.settle()
    assert eng.switch.channel(chan.name).conference == other["conf_exten"]
    logs = db.rows("vicidial_closer_log", order_by="closecallid", uniqueid=chan.uniqueid)
    assert [(r["campaign_id"], r["user"], r["status"]) for r in logs] == [
        ("TEST_IN", "1000", "XFER"), ("SALESLINE", "1001", "INCALL")]
    assert logs[0]["length_in_sec"] == 6
    x = db.row("vicidial_xfer_log", lead_id=12345)
    assert (x["campaign_id"], x["user"], x["closer"], x["front_uniqueid"]) == ("SALESLINE", "1000", "1001",
                                                                               chan.uniqueid)
    assert logs[1]["xfercallid"] == x["xfercallid"]
    assert db.count("vicidial_manager", cmd_line_d="Exten: 990009*SALESLINE**12345**3125551001*1000**") == 1


def test_local_closer_agentdirect_and_defaultingroup(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    closer(eng, db, ["TEST_IN2"])  # has not taken AGENTDIRECT: a direct transfer reaches them anyway
    xfer(agent_api, "LOCAL_CLOSER", ingroup_choices="AGENTDIRECT", phone_number="1001")
    wait_for(lambda: db.row("vicidial_live_agents", user="1001")["lead_id"] == 12345)
    assert db.row("vicidial_closer_log", campaign_id="AGENTDIRECT")["agent_only"] == "1001"
    assert db.row("vicidial_xfer_log", lead_id=12345)["closer"] == "1001"
    # the row is written before the customer's redirect reaches the switch: wait for the switch to have moved it
    wait_for(lambda: eng.switch.channel(chan.name).conference
             == db.row("vicidial_live_agents", user="1001")["conf_exten"], what="customer in 1001's conference")


def test_defaultingroup_resolves_through_the_calls_ingroup(eng, db, agent_api):
    db.update("vicidial_inbound_groups", {"group_id": "TEST_IN"}, default_xfer_group="TEST_IN3")
    token = eng.login()
    start_inbound_call(eng, db, token)
    closer(eng, db, ["TEST_IN3"])
    xfer(agent_api, "LOCAL_CLOSER", ingroup_choices="DEFAULTINGROUP")
    wait_for(lambda: db.row("vicidial_live_agents", user="1001")["lead_id"] == 12345)
    assert db.row("vicidial_xfer_log", lead_id=12345)["campaign_id"] == "TEST_IN3"


def test_consultative_ingroup_dial_then_leave_3way(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    closer(eng, db, ["SALESLINE"])
    xfer(agent_api, "DIAL_WITH_CUSTOMER", ingroup_choices="SALESLINE", consultative="YES")
    wait_for(lambda: db.row("vicidial_live_agents", user="1001")["status"] == "INCALL", what="consult delivered")
    other = db.row("vicidial_live_agents", user="1001")
    assert other["lead_id"] == 12345 and other["callerid"].startswith("DC")
    assert db.row("vicidial_closer_log", campaign_id="SALESLINE")["comments"] == "AUTO"
    assert db.row("vicidial_xfer_log", lead_id=12345)["closer"] == "1001"
    eng.advance(1)  # the agent's phone has answered into the conference
    legs = [c.name for c in members(eng) if c.call_id.startswith("DC")]
    assert len(legs) == 1 and legs[0].endswith(";1")
    # the closer makes the fronter leave: force_fronter_leave_3way
    body = agent_api("force_fronter_leave_3way", agent_user="1001", value="LOCAL_ONLY")
    assert body == "SUCCESS: force_fronter_leave_3way SENT - 1000", body
    wait_for(lambda: eng.state(token)["phase"] == "DISPO", what="fronter left")
    new_conf = vla(db)["conf_exten"]
    assert new_conf != CONF
    old = db.row("vicidial_conferences", conf_exten=int(CONF))
    assert (old["extension"], old["leave_3way"]) == ("3WAY_1000", "1")
    eng.settle()
    assert {c.name for c in members(eng)} == {chan.name, legs[0]}
    assert [c.kind for c in members(eng, new_conf)] == [ChannelKind.AGENT]
    assert db.row("vicidial_session_data", user="1000")["conf_exten"] == new_conf
    assert db.row("vicidial_live_agents", user="1001")["status"] == "INCALL"


def test_leave_3way_call_leaves_customer_and_third_party_together(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    leg = dial_3way(eng, db, agent_api)
    xfer(agent_api, "LEAVE_3WAY_CALL")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    eng.settle()
    assert {c.name for c in members(eng)} == {chan.name, leg.name}
    assert vm(db, "VXvdcW", action="Redirect", cmd_line_d=f"Exten: {vla(db)['conf_exten']}")
    # the customer hangs up: the 3rd party is let go and the old conference freed
    eng.run(eng.switch.hangup(chan.name))
    eng.settle()
    wait_for(lambda: db.row("vicidial_conferences", conf_exten=int(CONF))["extension"] == "")
    eng.settle()
    assert eng.switch.channel(leg.name) is None


def test_park_customer_dial_then_grab(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    xfer(agent_api, "PARK_CUSTOMER_DIAL", phone_number=THIRD)
    wait_for(lambda: db.count("park_log", status="PARKED") == 1)
    eng.settle()
    assert eng.switch.channel(chan.name).parked
    eng.advance(2)
    wait_for(lambda: any(c.conference == CONF for c in third_party(eng)))
    eng.advance(8)
    assert agent_api("park_call", agent_user="1000", value="GRAB_CUSTOMER").startswith("SUCCESS")
    wait_for(lambda: db.row("park_log", uniqueid=chan.uniqueid)["status"] == "GRABBED")
    assert db.row("park_log", uniqueid=chan.uniqueid)["parked_sec"] == 10
    eng.settle()
    assert {c.name for c in members(eng)} >= {chan.name, third_party(eng)[0].name}
    # park the 3rd party and take it back
    assert agent_api("park_call", agent_user="1000", value="PARK_XFER").startswith("SUCCESS")
    wait_for(lambda: third_party(eng)[0].parked)
    assert agent_api("park_call", agent_user="1000", value="GRAB_XFER").startswith("SUCCESS")
    wait_for(lambda: third_party(eng)[0].conference == CONF)
    assert db.count("park_log") == 1  # the 3rd-party leg writes no park_log


def test_group_alias_and_cid_choice_set_the_3way_caller_id(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    leg = dial_3way(eng, db, agent_api, group_alias="TESTING")
    assert db.row("vicidial_manager", callerid=leg.call_id)["cmd_line_f"].endswith("<7275551211>")
    assert db.row("user_call_log", callerid=leg.call_id)["group_alias_id"] == "TESTING"
    xfer(agent_api, "HANGUP_XFER")
    wait_for(lambda: not third_party(eng))
    eng.services.clock.advance(1)
    leg = dial_3way(eng, db, agent_api, cid_choice="CUSTOMER")
    assert db.row("vicidial_manager", callerid=leg.call_id)["cmd_line_f"].endswith("<3125551001>")


def test_multi_dial_phones_first_to_answer_wins(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    eng.switch.set_script("3125557001", CustomerScript.never_answers())
    eng.switch.set_script("3125557002", CustomerScript.answers(ring=2.0, talk=None))
    eng.switch.set_script("3125557003", CustomerScript.answers(ring=4.0, talk=None))
    body = xfer(agent_api, "DIAL_WITH_CUSTOMER", phone_number=THIRD,
                multi_dial_phones="3125557001,3125557002,3125557003")
    assert "|Multi-phones: 3 3 1|" in body
    wait_for(lambda: db.count("vicidial_3way_press_live", user="1000") == 3)
    assert db.row("vicidial_3way_press_multi", user="1000")["status"] == "SENT"
    eng.settle()
    eng.advance(2)
    wait_for(lambda: db.count("vicidial_3way_press_live", status="ACCEPTED") == 1)
    eng.settle()
    rows = {r["phone_number"]: r["status"] for r in db.rows("vicidial_3way_press_live", user="1000")}
    assert rows == {"913125557001": "DEFEATED", "913125557002": "ACCEPTED", "913125557003": "DEFEATED"}
    legs = third_party(eng)
    assert [c.number for c in legs] == ["13125557002"] and legs[0].conference == CONF


def test_a_repeated_command_id_is_dropped(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    dial_3way(eng, db, agent_api)
    last = "1768473000.5551"  # ids are compared as strings: "1768473000.5551" is not "1768473000.555100"
    hangup = f"HANGUP_XFER---------NO------------{last}"
    db.update("vicidial_live_agents", {"user": "1000"}, external_transferconf=hangup)
    wait_for(lambda: not third_party(eng))
    again = "---".join(["DIAL_WITH_CUSTOMER", "", THIRD, "NO", "", "", "", last, ""])
    db.update("vicidial_live_agents", {"user": "1000"}, external_transferconf=again)  # the last id again: dropped
    wait_for(lambda: vla(db)["external_transferconf"] == "")
    eng.settle()
    assert not third_party(eng) and db.count("user_call_log", call_type="XFER_3WAY") == 1
    fresh = "---".join(["DIAL_WITH_CUSTOMER", "", THIRD, "NO", "", "", "", f"{last}00", ""])
    db.update("vicidial_live_agents", {"user": "1000"}, external_transferconf=fresh)
    wait_for(lambda: db.count("user_call_log", call_type="XFER_3WAY") == 2)
    assert eng.state(token)["phase"] == "INCALL"
