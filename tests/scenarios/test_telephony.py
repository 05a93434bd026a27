"""The telephony scenarios, one list for every switch (`drv`: simulated on SQLite and MariaDB, Asterisk on SQLite).

Each scenario drives openagc through `/agc/api.php`, `/agent/` and plain SQL and asserts what the switch did —
conference members, hangups, hold music, recordings, DTMF heard, the far end's answer — and what the database says,
in the same words for both switches: a difference between the simulated switch and Asterisk fails on one side.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.scenarios.conftest import ON_EVERY_SWITCH
from tests.scenarios.driver import (
    ANSWERS,
    BUSY,
    CONF,
    CUSTOMER,
    HANGS_UP,
    NO_ANSWER,
    PHONE,
    PLAYER,
    RECORDER,
    THIRD,
    Driver,
    Member,
    customer,
    phone,
)

pytestmark = ON_EVERY_SWITCH
ME = (PHONE, "1000")


def dial_args(**kw: Any) -> dict[str, Any]:
    return {"agent_user": "1000", "search": "YES", "preview": "NO", "focus": "YES", "phone_code": "1"} | kw


def called(number: str) -> tuple[str, str]:
    """(role, who) of a customer dialled at `number` (phone code 1)."""
    return (CUSTOMER, "1" + number)


def manual_call(drv: Driver, number: str = ANSWERS) -> tuple[str, Member]:
    """Log in, dial `number` manually and wait until the answered customer is in the conference.

    Returns (the agent's token, the customer in the conference).
    """
    token = drv.login()
    body = drv.api("external_dial", value=number, **dial_args())
    assert body.startswith("SUCCESS"), body
    leg = drv.wait_joined(CONF, customer(number), 20, "the customer")
    drv.wait(lambda: drv.vla()["uniqueid"], what="the answered call in vicidial_live_agents")
    return token, leg


def in_dispo(drv: Driver, token: str, user: str = "1000") -> None:
    drv.wait(lambda: drv.state(token)["phase"] == "DISPO", what=f"agent {user} in the disposition phase")


def ok(body: str) -> None:
    assert body.startswith("SUCCESS"), body


# --------------------------------------------------------------------------------------------- session


def test_login_and_logout(drv: Driver) -> None:
    token = drv.login()
    assert drv.roles() == [ME]
    vla = drv.vla()
    assert (vla["status"], str(vla["conf_exten"]), vla["extension"]) == ("PAUSED", CONF, "IAX2/1000")
    drv.wait(lambda: drv.state(token).get("phone") == "connected", what="the phone connected")
    (ph,) = drv.members()
    ok(drv.api("logout", agent_user="1000", value="LOGOUT"))
    drv.wait(lambda: drv.gone(ph.channel), what="the phone hung up")
    drv.wait(lambda: drv.db.count("vicidial_live_agents", user="1000") == 0, what="the session row removed")
    assert drv.members() == []
    assert [r["event"] for r in drv.db.rows("vicidial_user_log", order_by="user_log_id", user="1000")] == [
        "LOGIN", "LOGOUT"]


# --------------------------------------------------------------------------------------------- manual dial


def test_manual_dial_answered(drv: Driver) -> None:
    token, leg = manual_call(drv)
    assert drv.roles() == sorted([called(ANSWERS), ME])
    assert drv.far_end("1" + ANSWERS) == "answered"
    vla = drv.vla()
    assert (vla["status"], vla["lead_id"], vla["comments"]) == ("INCALL", 12346, "MANUAL")
    log = drv.db.row("vicidial_log", uniqueid=vla["uniqueid"])
    assert (log["status"], log["user"], log["phone_number"]) == ("INCALL", "1000", ANSWERS)
    ok(drv.api("external_hangup", agent_user="1000", value="1"))
    drv.wait(lambda: drv.gone(leg.channel), what="the customer hung up")
    in_dispo(drv, token)
    assert drv.roles() == [ME]
    log = drv.db.row("vicidial_log", uniqueid=vla["uniqueid"])
    assert (log["status"], log["term_reason"]) == ("DISPO", "AGENT")
    assert drv.db.count("vicidial_auto_calls") == 0
    ok(drv.api("external_status", agent_user="1000", value="NI"))
    drv.wait(lambda: drv.db.row("vicidial_list", lead_id=12346)["status"] == "NI", what="the lead's status NI")


@pytest.mark.parametrize(("number", "outcome", "reason"), [(BUSY, "busy", "BUSY"),
                                                           (NO_ANSWER, "no answer", "NO ANSWER")],
                         ids=["busy", "no_answer"])
def test_manual_dial_fails(drv: Driver, number: str, outcome: str, reason: str) -> None:
    drv.db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, dial_timeout=6)
    token = drv.login()
    events = drv.events(token)
    ok(drv.api("external_dial", value=number, **dial_args()))
    drv.wait(lambda: drv.far_end("1" + number) == outcome, 30, f"the far end: {outcome}")
    in_dispo(drv, token)
    failed = drv.wait(lambda: events.named("dial_failed"), what="a dial_failed event")
    assert failed[0]["reason"] == reason
    assert drv.joined() == [m.channel for m in drv.members()]  # nobody but the phone ever joined
    assert drv.roles() == [ME]
    assert drv.db.count("vicidial_auto_calls") == 0


def test_customer_hangs_up(drv: Driver) -> None:
    token, leg = manual_call(drv, HANGS_UP)
    uniqueid = drv.vla()["uniqueid"]
    drv.wait_left(CONF, leg.channel, 60)
    assert drv.gone(leg.channel)
    drv.wait(lambda: drv.state(token)["dead"], what="the call shown dead")
    ok(drv.api("external_hangup", agent_user="1000", value="1"))
    in_dispo(drv, token)
    assert drv.db.row("vicidial_log", uniqueid=uniqueid)["term_reason"] == "CALLER"
    assert drv.roles() == [ME]


# --------------------------------------------------------------------------------------------- inbound, auto-dial


def test_inbound_call_routed_to_a_ready_agent(drv: Driver) -> None:
    token = drv.login(ingroups=["TEST_IN"])
    assert drv.agent("ready", token).status_code == 200
    drv.wait(lambda: drv.vla()["status"] == "CLOSER", what="the agent waiting for calls")
    caller = drv.inbound("TEST_IN")
    drv.wait_joined(CONF, lambda m: m.channel == caller, 15, "the caller")
    assert drv.roles() == sorted([(CUSTOMER, ""), ME])
    drv.wait(lambda: drv.vla()["status"] == "INCALL", what="the call delivered")
    vla = drv.vla()
    assert vla["comments"] == "INBOUND"
    closer = drv.db.row("vicidial_closer_log", uniqueid=vla["uniqueid"])
    assert (closer["campaign_id"], closer["user"]) == ("TEST_IN", "1000")
    assert not drv.on_hold(caller)
    ok(drv.api("external_hangup", agent_user="1000", value="1"))
    drv.wait(lambda: drv.gone(caller), what="the caller hung up")
    in_dispo(drv, token)


def test_ratio_auto_dial_delivered_into_the_conference(drv: Driver) -> None:
    token = drv.login(ingroups=[])  # no in-groups: an outbound (auto-dial) agent of TESTCAMP (RATIO 1.0)
    assert drv.agent("ready", token).status_code == 200
    leg = drv.wait_joined(CONF, customer(), 40, "the auto-dialled customer")
    assert drv.was_held(leg.channel), "answered into the park first"
    drv.wait(lambda: drv.vla()["status"] == "INCALL" and drv.vla()["lead_id"], what="the call delivered")
    vla = drv.vla()
    lead = drv.db.row("vicidial_list", lead_id=vla["lead_id"])
    assert leg.who == "1" + lead["phone_number"]
    assert drv.db.row("vicidial_log", uniqueid=vla["uniqueid"])["user"] == "1000"
    ok(drv.api("external_pause", agent_user="1000", value="PAUSE"))
    ok(drv.api("external_hangup", agent_user="1000", value="1"))
    drv.wait(lambda: drv.gone(leg.channel), what="the customer hung up")
    in_dispo(drv, token)


# --------------------------------------------------------------------------------------------- media


def test_send_dtmf_heard_by_both_parties(drv: Driver) -> None:
    manual_call(drv)
    ok(drv.api("send_dtmf", agent_user="1000", value="12P"))
    heard = {ME: "12#", called(ANSWERS): "12#"}
    drv.wait(lambda: drv.dtmf_heard() == heard, 20, f"{heard} heard")
    drv.wait(lambda: drv.vla()["external_dtmf"] == "", what="the command claimed")


def test_recording_wav_length_matches_the_log(drv: Driver) -> None:
    manual_call(drv)
    ok(drv.api("recording", agent_user="1000", value="START"))
    rec_id = int(drv.wait(lambda: drv.vla()["external_recording"].isdigit() and drv.vla()["external_recording"],
                          what="the recording id"))
    recorder = drv.wait_joined(CONF, lambda m: m.role == RECORDER, 15, "the recording leg")
    drv.let_time_pass(6)
    ok(drv.api("recording", agent_user="1000", value="STOP"))
    drv.wait(lambda: drv.gone(recorder.channel), what="the recording leg hung up")
    row = drv.wait(lambda: (r := drv.db.row("recording_log", recording_id=rec_id))["location"] and r,
                   what="the recording's location")
    assert row["location"].rpartition("/")[0] == str(drv.recordings_dir)
    length = drv.wait(lambda: drv.recording_files().get(row["location"]), what="the WAV written")
    # The log counts from the START command to the STOP command (whole-second epochs, as upstream); the WAV from
    # the recording leg's join to its hangup. So the WAV holds at least the 6 s the call went on with the leg
    # joined, and never more than the logged span (either may be rounded by up to a second). A slow switch makes
    # the WAV shorter than the log by the leg's set-up time, never longer.
    assert row["length_in_sec"] >= 5
    assert 6 - 1.0 <= length <= row["length_in_sec"] + 1.0, (length, row["length_in_sec"])


def test_park_and_grab(drv: Driver) -> None:
    _, leg = manual_call(drv)
    ok(drv.api("park_call", agent_user="1000", value="PARK_CUSTOMER"))
    drv.wait_left(CONF, leg.channel)
    drv.wait(lambda: drv.on_hold(leg.channel), what="the customer on hold")
    drv.wait(lambda: drv.roles() == [ME], what="only the agent left in the conference")
    drv.wait(lambda: drv.db.row("park_log", user="1000")["status"] == "PARKED", what="park_log PARKED")
    ok(drv.api("park_call", agent_user="1000", value="GRAB_CUSTOMER"))
    drv.wait_joined(CONF, lambda m: m.channel == leg.channel, 15, "the customer back")
    drv.wait(lambda: not drv.on_hold(leg.channel), what="the customer's hold music stopped")  # its own switch event
    drv.wait(lambda: drv.db.row("park_log", user="1000")["status"] == "GRABBED", what="park_log GRABBED")


def test_audio_playback_controls(drv: Driver) -> None:
    token = drv.login()
    ok(drv.api("audio_playback", agent_user="1000", value="tt-monkeys", stage="PLAY"))
    drv.wait_joined(CONF, lambda m: m.role == PLAYER, 15, "the player")
    # the API knows a player by the mirror (live_channels) and its UPDATED originate, both written after the join
    drv.wait(lambda: drv.db.count("live_channels", extension=CONF) and drv.db.count(
        "vicidial_manager", status="UPDATED", cmd_line_d="Exten: 473782158521111"), what="the player in the mirror")
    again = drv.api("audio_playback", agent_user="1000", value="ss-noservice", stage="PLAY")
    assert again.startswith("ERROR: audio_playback error - audio already playing"), again
    for stage, action in (("PAUSE", "TOGGLE"), ("RESUME", "TOGGLE"), ("RESTART", "RESTART")):
        done = len(drv.playback_controls())
        ok(drv.api("audio_playback", agent_user="1000", stage=stage))
        accepted = drv.wait(lambda n=done: drv.playback_controls()[n:], what=f"the switch's answer to {stage}")
        assert accepted[0][1] == action, stage
    (player,) = {channel for channel, _ in drv.playback_controls()}
    ok(drv.api("audio_playback", agent_user="1000", stage="STOP"))
    drv.wait(lambda: drv.gone(player), what="the player hung up")
    drv.wait(lambda: drv.roles() == [ME], what="the player gone from the conference")
    assert drv.state(token)["phase"] != "INCALL"


# --------------------------------------------------------------------------------------------- transfers


def xfer(drv: Driver, value: str, **kw: Any) -> None:
    ok(drv.api("transfer_conference", agent_user="1000", value=value, **kw))


def three_way(drv: Driver) -> tuple[str, Member, Member]:
    """A manual call, then DIAL_WITH_CUSTOMER to THIRD answered into the conference: (token, customer, 3rd party)."""
    token, leg = manual_call(drv)
    xfer(drv, "DIAL_WITH_CUSTOMER", phone_number=THIRD)
    third = drv.wait_joined(CONF, customer(THIRD), 20, "the third party")
    assert drv.roles() == sorted([called(ANSWERS), called(THIRD), ME])
    return token, leg, third


def test_transfer_dial_with_customer_then_hangup_xfer(drv: Driver) -> None:
    _, leg, third = three_way(drv)
    assert "XFER_3WAY" in [r["call_type"] for r in drv.db.rows("user_call_log", user="1000")]
    # tw_check finds the live 3-way leg in the channel mirror (live_sip_channels, where upstream lists it)
    drv.wait(lambda: drv.api("transfer_conference", agent_user="1000", value="DIAL_WITH_CUSTOMER", phone_number="1",
                             tw_check="YES").startswith("ERROR: agent_user has current active 3-way call - 1000|1|"),
             what="tw_check refusing a second 3-way call")
    xfer(drv, "HANGUP_XFER")
    drv.wait(lambda: drv.gone(third.channel), what="the third party hung up")
    drv.wait(lambda: drv.roles() == sorted([called(ANSWERS), ME]), what="the customer and the agent")
    assert drv.vla()["status"] == "INCALL"


def test_transfer_hangup_both(drv: Driver) -> None:
    token, leg, third = three_way(drv)
    xfer(drv, "HANGUP_BOTH")
    drv.wait(lambda: drv.gone(third.channel) and drv.gone(leg.channel), what="both parties hung up")
    in_dispo(drv, token)
    assert drv.roles() == [ME]


def test_transfer_blind(drv: Driver) -> None:
    token, leg = manual_call(drv)
    uniqueid = drv.vla()["uniqueid"]
    xfer(drv, "BLIND_TRANSFER", phone_number=THIRD)
    drv.wait_left(CONF, leg.channel)
    drv.wait(lambda: drv.far_end("1" + THIRD) == "answered", what="the third party answered")
    in_dispo(drv, token)
    assert drv.roles() == [ME]
    assert drv.db.row("vicidial_log", uniqueid=uniqueid)["status"] == "XFER"
    assert "BLIND_XFER" in [r["call_type"] for r in drv.db.rows("user_call_log", user="1000")]


def test_transfer_leave_vm(drv: Driver) -> None:
    token, leg = manual_call(drv)
    xfer(drv, "LEAVE_VM")
    drv.wait_left(CONF, leg.channel)
    drv.wait(lambda: drv.played_to(leg.channel) == ["vm-goodbye"], what="the message played to the customer")
    drv.wait(lambda: drv.gone(leg.channel), 20, "the customer hung up after the message")
    in_dispo(drv, token)


def test_transfer_local_closer(drv: Driver) -> None:
    token, leg = manual_call(drv)
    closer = drv.login(user="1001", phone_login="1001", ingroups=["TEST_IN"])
    closer_conf = str(drv.vla("1001")["conf_exten"])
    assert closer_conf != CONF
    assert drv.agent("ready", closer).status_code == 200
    drv.wait(lambda: drv.vla("1001")["status"] == "CLOSER", what="agent 1001 waiting for calls")
    xfer(drv, "LOCAL_CLOSER", ingroup_choices="TEST_IN")
    drv.wait_joined(closer_conf, lambda m: m.channel == leg.channel, 15, "the customer with agent 1001")
    assert drv.roles(closer_conf) == sorted([called(ANSWERS), (PHONE, "1001")])
    drv.wait(lambda: drv.vla("1001")["status"] == "INCALL", what="agent 1001 on the call")
    assert drv.vla("1001")["lead_id"] == 12346
    assert drv.db.row("vicidial_xfer_log", lead_id=12346)["closer"] == "1001"
    in_dispo(drv, token)
    assert drv.roles() == [ME]


def test_transfer_park_customer_dial(drv: Driver) -> None:
    _, leg = manual_call(drv)
    xfer(drv, "PARK_CUSTOMER_DIAL", phone_number=THIRD)
    drv.wait(lambda: drv.on_hold(leg.channel), what="the customer on hold")
    drv.wait_joined(CONF, customer(THIRD), 20, "the third party")
    assert drv.roles() == sorted([called(THIRD), ME])
    drv.wait(lambda: drv.db.row("park_log", user="1000")["status"] == "PARKED", what="park_log PARKED")


def test_transfer_leave_3way_call_stops_its_recording(drv: Driver) -> None:
    token, leg, third = three_way(drv)
    ok(drv.api("recording", agent_user="1000", value="START"))
    recorder = drv.wait_joined(CONF, lambda m: m.role == RECORDER, 15, "the recording leg")
    rec_id = int(drv.wait(lambda: drv.vla()["external_recording"].isdigit() and drv.vla()["external_recording"],
                          what="the recording id"))
    xfer(drv, "LEAVE_3WAY_CALL")
    new_conf = drv.wait(lambda: (c := str(drv.vla()["conf_exten"])) != CONF and c, what="the agent's new conference")
    drv.wait_joined(new_conf, phone(), 15, "the phone in its new conference")
    drv.wait(lambda: drv.gone(recorder.channel), what="the recording stopped where it ran")
    assert sorted(m.channel for m in drv.members(CONF)) == sorted([leg.channel, third.channel])
    drv.wait(lambda: drv.db.row("recording_log", recording_id=rec_id)["end_epoch"], what="the recording closed")
    in_dispo(drv, token)
    drv.hang_up(third.channel)
    drv.wait(lambda: drv.gone(leg.channel), what="the customer let go (alone in the 3-way conference)")
    drv.wait(lambda: drv.db.row("vicidial_conferences", conf_exten=int(CONF))["extension"] == "",
             what="the 3-way conference released")


# --------------------------------------------------------------------------------------------- the phone


def test_phone_loss_is_noticed(drv: Driver) -> None:
    token = drv.login(ingroups=["TEST_IN"])
    events = drv.events(token)
    (ph,) = drv.members()
    assert drv.agent("ready", token).status_code == 200
    drv.wait(lambda: drv.vla()["status"] == "CLOSER", what="the agent waiting for calls")
    drv.hang_up(ph.channel)
    drv.wait(lambda: drv.gone(ph.channel), what="the phone hung up")
    drv.wait(lambda: drv.state(token).get("phone") == "lost", what="the phone shown lost")
    drv.wait(lambda: [e for e in events.named("phone") if e.get("phone") == "lost"], what="a phone event")
    caller = drv.inbound("TEST_IN")
    drv.wait(lambda: drv.db.count("vicidial_auto_calls", status="LIVE") == 1, what="the caller queued")
    drv.wait(lambda: drv.on_hold(caller), what="the caller on hold music")
    assert drv.joined() == [ph.channel], "a call was sent to an agent without a phone"
    assert drv.vla()["status"] != "INCALL"


def test_call_agent_brings_the_phone_back(drv: Driver) -> None:
    token = drv.login()
    (ph,) = drv.members()
    drv.hang_up(ph.channel)
    drv.wait(lambda: drv.gone(ph.channel), what="the phone hung up")
    ok(drv.api("call_agent", agent_user="1000", value="CALL"))
    again = drv.wait_joined(CONF, lambda m: m.role == PHONE and m.channel != ph.channel, 20, "the phone again")
    assert drv.members() == [again]
    drv.wait(lambda: drv.state(token).get("phone") == "connected", what="the phone shown connected")


# --------------------------------------------------------------------------------------------- failures


def test_asterisk_restart_mid_call_is_reconciled(drv: Driver) -> None:
    token, _ = manual_call(drv)
    uniqueid = drv.vla()["uniqueid"]
    drv.restart_switch()
    drv.wait(lambda: drv.state(token).get("phone") == "lost", 30, "the phone shown lost")
    drv.wait(lambda: drv.state(token)["dead"], 30, "the call shown dead")
    assert drv.members() == []
    ok(drv.api("call_agent", agent_user="1000", value="CALL"))
    drv.wait_joined(CONF, phone(), 20, "the phone again")
    ok(drv.api("external_hangup", agent_user="1000", value="1"))
    in_dispo(drv, token)
    assert drv.db.row("vicidial_log", uniqueid=uniqueid)["term_reason"] == "CALLER"


def test_engine_killed_mid_call_is_reconciled(drv: Driver) -> None:
    token, leg = manual_call(drv)
    uniqueid = drv.vla()["uniqueid"]
    drv.kill_engine()  # what a killed process leaves: nothing hung up, no bookkeeping done
    assert leg.channel in [m.channel for m in drv.members()]
    drv.hang_up(leg.channel)  # the customer leaves while no engine runs
    drv.wait(lambda: drv.gone(leg.channel), what="the customer hung up")
    drv.start_engine()
    drv.wait(lambda: drv.state(token)["dead"], 20, "the call shown dead after reconciliation")
    assert drv.state(token).get("phone") == "connected"
    ok(drv.api("external_hangup", agent_user="1000", value="1"))
    in_dispo(drv, token)
    assert drv.db.row("vicidial_log", uniqueid=uniqueid)["term_reason"] == "CALLER"
    ok(drv.api("external_status", agent_user="1000", value="NI"))
    drv.wait(lambda: drv.db.row("vicidial_list", lead_id=12346)["status"] == "NI", what="the lead dispositioned")
    assert drv.db.count("vicidial_auto_calls") == 0
