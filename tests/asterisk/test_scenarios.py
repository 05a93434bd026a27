"""Agent scenarios against a real Asterisk, through `/agc/api.php`, `/agent/` and plain SQL.

Each one asserts what Asterisk did (events read by the observer's read-everything AMI account, `confbridge list`,
files it wrote) and what the database says.
"""

from __future__ import annotations

import time
import wave
from pathlib import Path
from typing import Any

import pytest

from tests.asterisk.conftest import CONF, Tier, wait_for
from tests.asterisk.pbx import inbound_command

pytestmark = pytest.mark.asterisk

ANSWERS = "3125551002"  # lead 12346; 1312555XXXX answers after 2 s and talks
BUSY, NO_ANSWER, HANGS_UP = "3125550486", "3125550487", "3125550488"
THIRD = "3125559999"


def dial_args(**kw: Any) -> dict[str, Any]:
    return {"agent_user": "1000", "search": "YES", "preview": "NO", "focus": "YES", "phone_code": "1"} | kw


def is_phone(user: str = "1000") -> Any:
    return lambda c: c.startswith(f"IAX2/{user}-")


def dialled(number: str) -> Any:
    """A channel of the Local dial `9 1 <number>` (either half)."""
    return lambda c: c.startswith(f"Local/91{number}@")


def customer_leg(tier: Tier, number: str, conf: str = CONF) -> str:
    """The customer's channel in the conference (`confbridge list`)."""
    legs = [m for m in tier.members(conf) if m.startswith(f"Local/91{number}@")]
    assert len(legs) == 1, tier.members(conf)
    return legs[0]


def manual_call(tier: Tier, number: str = ANSWERS) -> tuple[str, str]:
    """Log in, dial `number` manually and wait until the answered customer is in the conference.

    Returns (the agent's token, the customer's channel in the conference).
    """
    token = tier.login()
    mark = tier.observer.mark()
    body = tier.api("external_dial", value=number, **dial_args())
    assert body.startswith("SUCCESS"), body
    join = tier.observer.wait("ConfbridgeJoin", mark, 20, Conference=CONF, Channel=dialled(number))
    wait_for(lambda: tier.vla()["uniqueid"], what="the answered call in vicidial_live_agents")
    return token, join["Channel"]


# --------------------------------------------------------------------------------------------- session


def test_login_and_logout(tier: Tier) -> None:
    token = tier.login()
    phone = [m for m in tier.members() if is_phone()(m)]
    assert len(phone) == 1 and tier.members() == phone
    vla = tier.vla()
    assert (vla["status"], str(vla["conf_exten"]), vla["extension"]) == ("PAUSED", CONF, "IAX2/1000")
    wait_for(lambda: tier.state(token).get("phone") == "connected", what="the phone connected")
    mark = tier.observer.mark()
    assert tier.api("logout", agent_user="1000", value="LOGOUT").startswith("SUCCESS")
    tier.observer.wait("Hangup", mark, 15, Channel=is_phone())
    tier.observer.wait("ConfbridgeEnd", mark, 15, Conference=CONF)
    wait_for(lambda: tier.db.count("vicidial_live_agents", user="1000") == 0, what="the session row removed")
    assert tier.members() == []
    assert [r["event"] for r in tier.db.rows("vicidial_user_log", order_by="user_log_id", user="1000")] == [
        "LOGIN", "LOGOUT"]


# --------------------------------------------------------------------------------------------- manual dial


def test_manual_dial_answered(tier: Tier) -> None:
    token, leg = manual_call(tier)
    assert sorted(tier.members()) == sorted([leg, *[m for m in tier.members() if is_phone()(m)]])
    assert len(tier.members()) == 2
    vla = tier.vla()
    assert (vla["status"], vla["lead_id"], vla["comments"]) == ("INCALL", 12346, "MANUAL")
    log = tier.db.row("vicidial_log", uniqueid=vla["uniqueid"])
    assert (log["status"], log["user"], log["phone_number"]) == ("INCALL", "1000", ANSWERS)
    mark = tier.observer.mark()
    assert tier.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    tier.observer.wait("Hangup", mark, 15, Channel=leg)
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    assert [m for m in tier.members() if not is_phone()(m)] == []
    log = tier.db.row("vicidial_log", uniqueid=vla["uniqueid"])
    assert (log["status"], log["term_reason"]) == ("DISPO", "AGENT")
    assert tier.db.count("vicidial_auto_calls") == 0
    assert tier.api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: tier.db.row("vicidial_list", lead_id=12346)["status"] == "NI", what="the lead's status NI")


@pytest.mark.parametrize(("number", "cause", "reason"), [(BUSY, "17", "BUSY"), (NO_ANSWER, None, "NO ANSWER")],
                         ids=["busy", "no_answer"])
def test_manual_dial_fails(tier: Tier, number: str, cause: str | None, reason: str) -> None:
    tier.db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, dial_timeout=6)
    token = tier.login()
    events = tier.events(token)
    mark = tier.observer.mark()
    assert tier.api("external_dial", value=number, **dial_args()).startswith("SUCCESS")
    ended = tier.observer.wait("Hangup", mark, 30, Channel=dialled(number))
    if cause is not None:
        assert tier.observer.find("Hangup", mark, Cause=cause), "the far end was busy"
    else:
        assert not tier.observer.find("Newstate", mark, Channel=dialled(number), ChannelStateDesc="Up")
    assert ended and not tier.observer.find("ConfbridgeJoin", mark, Channel=dialled(number))
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    failed = wait_for(lambda: events.named("dial_failed"), what="a dial_failed event")
    assert failed[0]["reason"] == reason
    assert tier.db.count("vicidial_auto_calls") == 0
    assert tier.members() == [m for m in tier.members() if is_phone()(m)]


def test_customer_hangs_up(tier: Tier) -> None:
    token, leg = manual_call(tier, HANGS_UP)
    uniqueid = tier.vla()["uniqueid"]
    mark = tier.observer.mark()
    tier.observer.wait("ConfbridgeLeave", mark, 60, Conference=CONF, Channel=leg)
    tier.observer.wait("Hangup", mark, 15, Channel=leg)
    wait_for(lambda: tier.state(token)["dead"], what="the call shown dead")
    assert tier.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    log = tier.db.row("vicidial_log", uniqueid=uniqueid)
    assert log["term_reason"] == "CALLER"
    assert tier.members() == [m for m in tier.members() if is_phone()(m)]


# --------------------------------------------------------------------------------------------- inbound, auto-dial


def test_inbound_call_routed_to_a_ready_agent(tier: Tier) -> None:
    token = tier.login(ingroups=["TEST_IN"])
    assert tier.agent("ready", token).status_code == 200
    wait_for(lambda: tier.vla()["status"] == "CLOSER", what="the agent waiting for calls")
    mark = tier.observer.mark()
    tier.asterisk.rx(inbound_command(tier.asterisk))
    announced = tier.observer.wait("UserEvent", mark, 15, UserEvent="OpenAGCInbound", InGroup="TEST_IN")
    caller = announced["Channel"]
    tier.observer.wait("ConfbridgeJoin", mark, 15, Conference=CONF, Channel=caller)
    assert sorted(tier.members()) == sorted([caller, *[m for m in tier.members() if is_phone()(m)]])
    wait_for(lambda: tier.vla()["status"] == "INCALL", what="the call delivered")
    vla = tier.vla()
    assert vla["comments"] == "INBOUND"
    closer = tier.db.row("vicidial_closer_log", uniqueid=vla["uniqueid"])
    assert (closer["campaign_id"], closer["user"]) == ("TEST_IN", "1000")
    mark = tier.observer.mark()
    assert tier.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    tier.observer.wait("Hangup", mark, 15, Channel=caller)
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")


def test_ratio_auto_dial_delivered_into_the_conference(tier: Tier) -> None:
    token = tier.login(ingroups=[])  # no in-groups: an outbound (auto-dial) agent of TESTCAMP (RATIO 1.0)
    mark = tier.observer.mark()
    assert tier.agent("ready", token).status_code == 200
    join = tier.observer.wait("ConfbridgeJoin", mark, 40, Conference=CONF,
                              Channel=lambda c: c.startswith("Local/91312555100"))
    leg = join["Channel"]
    assert tier.observer.find("MusicOnHoldStart", mark, Channel=leg), "answered into the park first"
    wait_for(lambda: tier.vla()["status"] == "INCALL" and tier.vla()["lead_id"], what="the call delivered")
    vla = tier.vla()
    lead = tier.db.row("vicidial_list", lead_id=vla["lead_id"])
    assert leg.startswith(f"Local/91{lead['phone_number']}@")
    assert tier.db.row("vicidial_log", uniqueid=vla["uniqueid"])["user"] == "1000"
    assert tier.api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
    mark = tier.observer.mark()
    assert tier.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    tier.observer.wait("Hangup", mark, 15, Channel=leg)
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")


# --------------------------------------------------------------------------------------------- media


def test_send_dtmf_heard_by_both_parties(tier: Tier) -> None:
    manual_call(tier)
    mark = tier.observer.mark()
    assert tier.api("send_dtmf", agent_user="1000", value="12P").startswith("SUCCESS")
    for digit in "12#":
        tier.observer.wait("DTMFEnd", mark, 20, Digit=digit, Direction="Received",
                           Channel=lambda c: c.startswith("IAX2/") and not is_phone()(c))
        tier.observer.wait("DTMFEnd", mark, 20, Digit=digit, Direction="Received",
                           Channel=lambda c: f"1{ANSWERS}@openagc-customers" in c)
    wait_for(lambda: tier.vla()["external_dtmf"] == "", what="the command claimed")


def test_recording_wav_length_matches_the_log(tier: Tier) -> None:
    manual_call(tier)
    mark = tier.observer.mark()
    assert tier.api("recording", agent_user="1000", value="START").startswith("SUCCESS")
    rec_id = int(wait_for(lambda: tier.vla()["external_recording"].isdigit() and tier.vla()["external_recording"],
                          what="the recording id"))
    tier.observer.wait("MixMonitorStart", mark, 15, Channel=lambda c: c.startswith(f"Local/5{CONF}@"))
    tier.observer.wait("ConfbridgeJoin", mark, 15, Conference=CONF, Channel=lambda c: c.startswith(f"Local/5{CONF}@"))
    time.sleep(6)  # the call goes on for a while (what is recorded), not an assertion
    mark = tier.observer.mark()
    assert tier.api("recording", agent_user="1000", value="STOP").startswith("SUCCESS")
    tier.observer.wait("MixMonitorStop", mark, 15)
    tier.observer.wait("Hangup", mark, 15, Channel=lambda c: c.startswith(f"Local/5{CONF}@"))
    row = wait_for(lambda: (r := tier.db.row("recording_log", recording_id=rec_id))["location"] and r,
                   what="the recording's location")
    path = Path(row["location"])
    assert path.parent == tier.asterisk.monitor_dir

    def seconds() -> float:
        with wave.open(str(path)) as wav:
            return wav.getnframes() / wav.getframerate()

    length = wait_for(lambda: path.exists() and seconds(), what="the WAV written")
    assert row["length_in_sec"] >= 5
    assert abs(length - row["length_in_sec"]) <= 1.0, (length, row["length_in_sec"])


def test_park_and_grab(tier: Tier) -> None:
    _, leg = manual_call(tier)
    mark = tier.observer.mark()
    assert tier.api("park_call", agent_user="1000", value="PARK_CUSTOMER").startswith("SUCCESS")
    tier.observer.wait("ConfbridgeLeave", mark, 15, Conference=CONF, Channel=leg)
    tier.observer.wait("MusicOnHoldStart", mark, 15, Channel=leg)
    assert tier.members() == [m for m in tier.members() if is_phone()(m)]
    wait_for(lambda: tier.db.row("park_log", user="1000")["status"] == "PARKED", what="park_log PARKED")
    mark = tier.observer.mark()
    assert tier.api("park_call", agent_user="1000", value="GRAB_CUSTOMER").startswith("SUCCESS")
    tier.observer.wait("ConfbridgeJoin", mark, 15, Conference=CONF, Channel=leg)
    assert leg in tier.members()
    wait_for(lambda: tier.db.row("park_log", user="1000")["status"] == "GRABBED", what="park_log GRABBED")


def test_audio_playback_controls(tier: Tier) -> None:
    token = tier.login()
    mark = tier.observer.mark()
    body = tier.api("audio_playback", agent_user="1000", value="tt-monkeys", stage="PLAY")
    assert body.startswith("SUCCESS"), body
    join = tier.observer.wait("ConfbridgeJoin", mark, 15, Conference=CONF,
                              Channel=lambda c: c.startswith(f"Local/{CONF}@"))
    player = join["Channel"].replace(";2", ";1")
    again = tier.api("audio_playback", agent_user="1000", value="ss-noservice", stage="PLAY")
    assert again.startswith("ERROR: audio_playback error - audio already playing"), again
    for stage, control in (("PAUSE", "pause"), ("RESUME", "pause"), ("RESTART", "restart")):
        done = len(tier.answered("ControlPlayback"))
        body = tier.api("audio_playback", agent_user="1000", stage=stage)
        assert body.startswith("SUCCESS"), f"{stage}: {body}"
        sent = wait_for(lambda n=done: tier.answered("ControlPlayback")[n:], what=f"ControlPlayback for {stage}")
        action, response = sent[0]
        assert (action["Channel"], action["Control"], response["Response"]) == (player, control, "Success")
    mark = tier.observer.mark()
    assert tier.api("audio_playback", agent_user="1000", stage="STOP").startswith("SUCCESS")
    tier.observer.wait("Hangup", mark, 15, Channel=player)
    wait_for(lambda: tier.members() == [m for m in tier.members() if is_phone()(m)], what="the player gone")
    assert tier.state(token)["phase"] != "INCALL"


# --------------------------------------------------------------------------------------------- transfers


def three_way(tier: Tier, **kw: Any) -> tuple[str, str, str]:
    """A manual call, then DIAL_WITH_CUSTOMER to THIRD answered into the conference: (token, customer, 3rd party)."""
    token, leg = manual_call(tier)
    mark = tier.observer.mark()
    xfer(tier, "DIAL_WITH_CUSTOMER", phone_number=THIRD, **kw)
    third = tier.observer.wait("ConfbridgeJoin", mark, 20, Conference=CONF, Channel=dialled(THIRD))["Channel"]
    assert sorted(tier.members()) == sorted([leg, third, *[m for m in tier.members() if is_phone()(m)]])
    assert len(tier.members()) == 3
    return token, leg, third


def xfer(tier: Tier, value: str, **kw: Any) -> None:
    body = tier.api("transfer_conference", agent_user="1000", value=value, **kw)
    assert body.startswith("SUCCESS"), body


def test_transfer_dial_with_customer_then_hangup_xfer(tier: Tier) -> None:
    _, leg, third = three_way(tier)
    assert "XFER_3WAY" in [r["call_type"] for r in tier.db.rows("user_call_log", user="1000")]
    mark = tier.observer.mark()
    xfer(tier, "HANGUP_XFER")
    tier.observer.wait("Hangup", mark, 15, Channel=third)
    assert sorted(tier.members()) == sorted([leg, *[m for m in tier.members() if is_phone()(m)]])
    assert tier.vla()["status"] == "INCALL"


def test_transfer_hangup_both(tier: Tier) -> None:
    token, leg, third = three_way(tier)
    mark = tier.observer.mark()
    xfer(tier, "HANGUP_BOTH")
    tier.observer.wait("Hangup", mark, 15, Channel=third)
    tier.observer.wait("Hangup", mark, 15, Channel=leg)
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    assert tier.members() == [m for m in tier.members() if is_phone()(m)]


def test_transfer_blind(tier: Tier) -> None:
    token, leg = manual_call(tier)
    uniqueid = tier.vla()["uniqueid"]
    mark = tier.observer.mark()
    xfer(tier, "BLIND_TRANSFER", phone_number=THIRD)
    tier.observer.wait("ConfbridgeLeave", mark, 15, Conference=CONF, Channel=leg)
    tier.observer.wait("DialBegin", mark, 15, DestChannel=lambda c: c.startswith(f"Local/1{THIRD}@openagc-customers"))
    tier.observer.wait("Newstate", mark, 15, Channel=lambda c: c.startswith(f"Local/1{THIRD}@openagc-customers"),
                       ChannelStateDesc="Up")
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    assert tier.members() == [m for m in tier.members() if is_phone()(m)]
    assert tier.db.row("vicidial_log", uniqueid=uniqueid)["status"] == "XFER"
    assert "BLIND_XFER" in [r["call_type"] for r in tier.db.rows("user_call_log", user="1000")]


def test_transfer_leave_vm(tier: Tier) -> None:
    token, leg = manual_call(tier)
    mark = tier.observer.mark()
    xfer(tier, "LEAVE_VM")
    tier.observer.wait("ConfbridgeLeave", mark, 15, Conference=CONF, Channel=leg)
    tier.observer.wait("Newexten", mark, 15, Channel=leg, AppData=lambda d: "Playback(vm-goodbye)" in d)
    tier.observer.wait("Hangup", mark, 20, Channel=leg)
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")


def test_transfer_local_closer(tier: Tier) -> None:
    token, leg = manual_call(tier)
    closer = tier.login(user="1001", phone_login="1001", ingroups=["TEST_IN"])
    closer_conf = str(tier.vla("1001")["conf_exten"])
    assert closer_conf != CONF
    assert tier.agent("ready", closer).status_code == 200
    wait_for(lambda: tier.vla("1001")["status"] == "CLOSER", what="agent 1001 waiting for calls")
    mark = tier.observer.mark()
    xfer(tier, "LOCAL_CLOSER", ingroup_choices="TEST_IN")
    tier.observer.wait("UserEvent", mark, 15, UserEvent="OpenAGCInbound", InGroup="TEST_IN", Channel=leg)
    tier.observer.wait("ConfbridgeJoin", mark, 15, Conference=closer_conf, Channel=leg)
    wait_for(lambda: tier.vla("1001")["status"] == "INCALL", what="agent 1001 on the call")
    assert tier.vla("1001")["lead_id"] == 12346
    assert tier.db.row("vicidial_xfer_log", lead_id=12346)["closer"] == "1001"
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="agent 1000 in the disposition phase")


def test_transfer_park_customer_dial(tier: Tier) -> None:
    _, leg = manual_call(tier)
    mark = tier.observer.mark()
    xfer(tier, "PARK_CUSTOMER_DIAL", phone_number=THIRD)
    tier.observer.wait("MusicOnHoldStart", mark, 15, Channel=leg)
    third = tier.observer.wait("ConfbridgeJoin", mark, 20, Conference=CONF, Channel=dialled(THIRD))["Channel"]
    assert sorted(tier.members()) == sorted([third, *[m for m in tier.members() if is_phone()(m)]])
    wait_for(lambda: tier.db.row("park_log", user="1000")["status"] == "PARKED", what="park_log PARKED")


def test_transfer_leave_3way_call_stops_its_recording(tier: Tier) -> None:
    token, leg, third = three_way(tier)
    mark = tier.observer.mark()
    assert tier.api("recording", agent_user="1000", value="START").startswith("SUCCESS")
    recorder = tier.observer.wait("MixMonitorStart", mark, 15)["Channel"]
    rec_id = int(wait_for(lambda: tier.vla()["external_recording"].isdigit() and tier.vla()["external_recording"],
                          what="the recording id"))
    mark = tier.observer.mark()
    xfer(tier, "LEAVE_3WAY_CALL")
    moved = tier.observer.wait("ConfbridgeJoin", mark, 15, Channel=is_phone())
    new_conf = moved["Conference"]
    assert new_conf != CONF
    tier.observer.wait("Hangup", mark, 15, Channel=recorder)
    assert sorted(tier.members(CONF)) == sorted([leg, third])
    wait_for(lambda: tier.db.row("recording_log", recording_id=rec_id)["end_epoch"], what="the recording closed")
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="agent 1000 in the disposition phase")
    mark = tier.observer.mark()
    tier.asterisk.rx(f"channel request hangup {third}")
    tier.observer.wait("Hangup", mark, 15, Channel=leg)  # the customer alone: the 3-way conference is released
    wait_for(lambda: tier.db.row("vicidial_conferences", conf_exten=int(CONF))["extension"] == "",
             what="the 3-way conference released")


# --------------------------------------------------------------------------------------------- the phone


def test_phone_loss_is_noticed(tier: Tier) -> None:
    token = tier.login(ingroups=["TEST_IN"])
    events = tier.events(token)
    phone = [m for m in tier.members() if is_phone()(m)][0]
    assert tier.agent("ready", token).status_code == 200
    wait_for(lambda: tier.vla()["status"] == "CLOSER", what="the agent waiting for calls")
    mark = tier.observer.mark()
    tier.asterisk.rx(f"channel request hangup {phone}")
    tier.observer.wait("Hangup", mark, 15, Channel=phone)
    wait_for(lambda: tier.state(token).get("phone") == "lost", what="the phone shown lost")
    wait_for(lambda: [e for e in events.named("phone") if e.get("phone") == "lost"], what="a phone event")
    mark = tier.observer.mark()
    tier.asterisk.rx(inbound_command(tier.asterisk))
    tier.observer.wait("UserEvent", mark, 15, UserEvent="OpenAGCInbound")
    wait_for(lambda: tier.db.count("vicidial_auto_calls", status="LIVE") == 1, what="the caller queued")
    assert not tier.observer.find("ConfbridgeJoin", mark), "a call was sent to an agent without a phone"
    assert tier.vla()["status"] != "INCALL"


def test_call_agent_brings_the_phone_back(tier: Tier) -> None:
    token = tier.login()
    phone = [m for m in tier.members() if is_phone()(m)][0]
    mark = tier.observer.mark()
    tier.asterisk.rx(f"channel request hangup {phone}")
    tier.observer.wait("Hangup", mark, 15, Channel=phone)
    assert tier.api("call_agent", agent_user="1000", value="CALL").startswith("SUCCESS")
    again = tier.observer.wait("ConfbridgeJoin", mark, 20, Conference=CONF, Channel=is_phone())["Channel"]
    assert again != phone and tier.members() == [again]
    wait_for(lambda: tier.state(token).get("phone") == "connected", what="the phone shown connected")


# --------------------------------------------------------------------------------------------- failures


def test_asterisk_restart_mid_call_is_reconciled(tier: Tier) -> None:
    token, leg = manual_call(tier)
    uniqueid = tier.vla()["uniqueid"]
    tier.asterisk.rx("core restart now", check=False)
    tier.asterisk.wait_booted()
    assert tier.observer.connected.wait(30), "the observer did not log in again"
    assert tier.transcript is not None
    wait_for(lambda: tier.transcript.connections >= 2, 30, "the adapter logged in again")
    wait_for(lambda: tier.state(token).get("phone") == "lost", 30, "the phone shown lost")
    wait_for(lambda: tier.state(token)["dead"], 30, "the call shown dead")
    assert tier.members() == []
    mark = tier.observer.mark()
    assert tier.api("call_agent", agent_user="1000", value="CALL").startswith("SUCCESS")
    tier.observer.wait("ConfbridgeJoin", mark, 20, Conference=CONF, Channel=is_phone())
    assert tier.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    assert tier.db.row("vicidial_log", uniqueid=uniqueid)["term_reason"] == "CALLER"


def test_engine_killed_mid_call_is_reconciled(tier: Tier) -> None:
    token, leg = manual_call(tier)
    uniqueid = tier.vla()["uniqueid"]
    tier.stop_engine()  # what a killed process leaves: nothing hung up, no bookkeeping done
    assert leg in tier.members()
    mark = tier.observer.mark()
    tier.asterisk.rx(f"channel request hangup {leg}")  # the customer leaves while no engine runs
    tier.observer.wait("Hangup", mark, 15, Channel=leg)
    tier.start_engine()
    wait_for(lambda: tier.state(token)["dead"], 20, "the call shown dead after reconciliation")
    assert tier.state(token).get("phone") == "connected"
    assert tier.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    assert tier.db.row("vicidial_log", uniqueid=uniqueid)["term_reason"] == "CALLER"
    assert tier.api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: tier.db.row("vicidial_list", lead_id=12346)["status"] == "NI", what="the lead dispositioned")
    assert tier.db.count("vicidial_auto_calls") == 0
