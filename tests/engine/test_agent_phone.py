"""The agent's phone: dialled as upstream dials each protocol, followed while logged in (lost when its channel
goes, no call routed into an empty conference, `call_agent` brings it back), and reconciliation with the switch
at engine start and after the switch restarts (ghost calls ended with upstream's logs)."""

from __future__ import annotations

import pytest

from openagc.engine.agent_phone import dial_string, extension_of
from openagc.engine.topics import agent_topic
from openagc.switch.port import ChannelKind, ChannelState
from tests.engine.conftest import wait_for
from tests.engine.test_session_commands import start_inbound_call, vla
from tests.support import Events

CONF = "8600051"


def phone_channels(eng):
    return [c for c in eng.switch.list_channels() if c.kind == ChannelKind.AGENT]


def connected_phone(eng, token):
    """Let the phone answer; the agent's phone channel, up in its conference."""
    eng.advance(1)
    wait_for(lambda: eng.state(token)["phone"] == "connected", what="phone connected")
    (phone,) = phone_channels(eng)
    assert phone.conference == CONF and phone.state == ChannelState.UP
    return phone


@pytest.mark.parametrize(
    ("row", "dialled"),
    [
        ({"protocol": "SIP", "extension": "1000"}, "SIP/1000"),
        ({"protocol": "PJSIP", "extension": "1000"}, "PJSIP/1000"),
        ({"protocol": "IAX2", "extension": "1000"}, "IAX2/1000"),
        ({"protocol": "EXTERNAL", "extension": "1000", "dialplan_number": "98300", "ext_context": "agents"},
         "Local/98300@agents"),
        ({"protocol": None, "extension": "1000"}, "SIP/1000"),
    ],
)
def test_phones_are_dialled_as_upstream_dials_each_protocol(row, dialled):
    assert dial_string(row) == dialled


def test_a_channel_name_gives_back_the_phone_it_was_dialled_as():
    assert extension_of("SIP/1000-0000000a") == "SIP/1000"
    assert extension_of("IAX2/1000-1234") == "IAX2/1000"
    assert extension_of("Local/8300@default-0000000b;1") == "Local/8300@default"


def test_an_external_phone_is_a_local_channel_into_the_conference(eng, db):
    db.update("phones", {"login": "1000"}, protocol="EXTERNAL", dialplan_number="8300", ext_context="default")
    token = eng.login()
    assert vla(db)["extension"] == "Local/8300@default"
    phone = connected_phone(eng, token)
    assert phone.name.startswith("Local/8300@default-") and phone.name.endswith(";1")
    # the session still finds its phone row (the recording leg's context, the park exten come from it)
    chan = start_inbound_call(eng, db, token)
    assert eng.switch.channel(chan.name).conference == CONF


def test_losing_the_phone_is_shown_and_stops_calls_until_call_agent_brings_it_back(eng, db, agent_api):
    token = eng.login()
    phone = connected_phone(eng, token)
    stream = Events(eng.server.base_url, token)
    wait_for(lambda: stream.items, what="the stream's first state")
    assert eng.agent("ready", token).status_code == 200

    eng.run(eng.switch.hangup(phone.name))  # the agent hangs the phone up
    eng.settle()
    wait_for(lambda: stream.named("phone"), what="the phone event")
    stream.close()
    assert stream.named("phone") == [{"event": "phone", "phone": "lost", "channel": ""}]
    assert eng.state(token)["phone"] == "lost"

    caller = eng.inbound("3125551001", "TEST_IN")
    eng.settle()
    eng.run(eng.engine.sweep())
    assert db.row("vicidial_auto_calls", campaign_id="TEST_IN")["status"] == "LIVE"  # not into an empty room
    assert vla(db)["status"] == "CLOSER"
    assert eng.switch.channel(caller.name).conference is None

    assert agent_api("call_agent", agent_user="1000", value="CALL").startswith("SUCCESS")
    wait_for(lambda: phone_channels(eng), what="the phone dialled again")
    eng.advance(1)
    wait_for(lambda: vla(db)["status"] == "INCALL", what="the waiting call delivered once the phone is back")
    assert eng.state(token)["phone"] == "connected"
    wait_for(lambda: eng.switch.channel(caller.name).conference == CONF)


def test_an_engine_killed_mid_call_leaves_no_ghost_calls(eng, db, agent_api):
    token = eng.login()
    connected_phone(eng, token)
    chan = start_inbound_call(eng, db, token)
    waiting = eng.inbound("3125551002", "TEST_IN")  # a second caller waits in queue
    eng.settle()
    wait_for(lambda: db.count("vicidial_auto_calls", status="LIVE") == 1)
    wait_for(lambda: db.count("live_sip_channels") >= 2, what="the channel mirror")
    eng.restart(new_switch=True)  # the process died with its (embedded) switch: every channel is gone

    assert db.count("vicidial_auto_calls") == 0
    closer = {r["uniqueid"]: r for r in db.rows("vicidial_closer_log")}
    assert (closer[waiting.uniqueid]["status"], closer[waiting.uniqueid]["term_reason"]) == ("DROP", "ABANDON")
    # no lead left INCALL without a call: only the agent's own (its dead call still to be dispositioned)
    assert {r["lead_id"] for r in db.rows("vicidial_list", status="INCALL")} <= {vla(db)["lead_id"]}
    state = eng.state(token)
    assert state["phase"] == "INCALL" and state["dead"]  # the agent's call ended as the caller's hangup
    assert state["phone"] == "lost"
    assert db.count("live_sip_channels") == 0 and db.count("live_channels") == 0  # no stale mirror rows
    assert chan.uniqueid not in {c.uniqueid for c in eng.switch.list_channels()}
    # the agent can still finish the call, and gets nothing routed until the phone is back
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: vla(db)["lead_id"] == 0)


def test_a_ringing_auto_dial_call_left_by_a_dead_engine_is_logged_no_answer(eng, db):
    eng.switch.default_script = eng.switch.default_script.__class__.never_answers()
    token = eng.login(ingroups=[], blended=True)
    assert eng.agent("ready", token).status_code == 200
    wait_for(lambda: db.count("vicidial_auto_calls", status="SENT") >= 1)
    vac = db.rows("vicidial_auto_calls")[0]
    eng.restart(new_switch=True)
    assert db.count("vicidial_auto_calls", callerid=vac["callerid"]) == 0
    assert db.row("vicidial_list", lead_id=vac["lead_id"])["status"] == "NA"


def test_a_switch_restart_is_reconciled_at_once(eng, db, agent_api):
    token = eng.login()
    connected_phone(eng, token)
    start_inbound_call(eng, db, token)
    assert agent_api("recording", agent_user="1000", value="START").startswith("SUCCESS")
    wait_for(lambda: eng.switch.recordings())
    rec_id = int(db.row("recording_log", user="1000")["recording_id"])

    eng.call(eng.switch.restart)  # Asterisk restarted: no hangups were seen, the channel list is empty
    eng.settle()

    state = eng.state(token)
    assert state["phone"] == "lost" and state["dead"]
    rec = db.row("recording_log", recording_id=rec_id)
    assert rec["end_epoch"] is not None and vla(db)["external_recording"] == ""
    assert db.count("vicidial_auto_calls") == 0
    assert db.count("live_sip_channels") == 0


def test_the_login_originate_carries_what_its_manager_row_says(eng, db):
    """The login's `vicidial_manager` row and the switch's Originate agree: channel, conference, caller id."""
    eng.login()
    eng.settle()
    row = db.row("vicidial_manager", action="Originate")
    (sent,) = [o for o in eng.switch.originates if o.kind == ChannelKind.AGENT]
    assert row["cmd_line_b"] == f"Channel: {sent.dial}" and row["cmd_line_d"] == f"Exten: {sent.exten}"
    assert row["cmd_line_f"] == f'Callerid: "{sent.call_id}" <{sent.caller_id}>'
    assert sent.caller_id == db.row("vicidial_campaigns", campaign_id="TESTCAMP")["campaign_cid"]



def test_iax2_and_pjsip_phones_are_mirrored_where_upstream_keeps_phone_channels(eng, db):
    db.update("phones", {"login": "1000"}, protocol="IAX2")
    token = eng.login()
    phone = connected_phone(eng, token)
    assert phone.name.startswith("IAX2/1000-")
    wait_for(lambda: db.count("live_sip_channels", channel=phone.name, extension=CONF) == 1,
             what="the IAX2 phone in live_sip_channels")
    assert db.count("live_channels", channel=phone.name) == 0


def test_the_channel_mirror_reads_the_switch_only_after_its_channels_changed(eng, db, monkeypatch):
    """Every sweep asks for the mirror: it lists the switch's channels only when `channels_version` moved (with
    thousands of phones, listing them twice a second was most of an idle engine's CPU)."""
    token = eng.login()
    phone = connected_phone(eng, token)
    wait_for(lambda: db.count("live_sip_channels", channel=phone.name) == 1, what="the phone mirrored")
    listings: list[int] = []
    listed = eng.switch.channels

    async def counted():
        listings.append(eng.switch.channels_version())
        return await listed()

    monkeypatch.setattr(eng.switch, "channels", counted)
    for _ in range(3):
        eng.run(eng.engine.sync_channels())
    assert listings == []
    eng.run(eng.switch.hangup(phone.name))
    eng.settle()
    wait_for(lambda: db.count("live_sip_channels", channel=phone.name) == 0, what="the hung-up phone unmirrored")
    assert listings


def test_an_agents_state_is_read_back_for_its_events_only_when_someone_in_the_process_follows_them(
        eng, db, monkeypatch):
    """After each transition the engine reads the agent's state back for the `state` event; with no stream and
    no observer in the process nobody would get it, so it is not read."""
    token = eng.login()
    connected_phone(eng, token)
    assert eng.agent("ready", token).status_code == 200
    reads: list[str] = []
    read_state = eng.engine.state

    async def counted(user):
        reads.append(user)
        return await read_state(user)

    def pause_by_sql() -> None:
        db.update("vicidial_live_agents", {"user": "1000"}, external_pause=f"PAUSE!{eng.engine.moment().epoch}")
        wait_for(lambda: vla(db)["status"] == "PAUSED", what="paused")

    monkeypatch.setattr(eng.engine, "state", counted)
    pause_by_sql()
    assert reads == []
    assert eng.agent("ready", token).status_code == 200  # its answer reads the state: not counted
    wait_for(lambda: vla(db)["status"] in ("READY", "CLOSER"), what="ready")
    reads.clear()
    got: list[tuple[str, dict]] = []
    unsubscribe = eng.services.bus.subscribe(agent_topic("1000"), lambda _t, message: got.append(message))
    try:
        pause_by_sql()
        wait_for(lambda: any(e["event"] == "state" for _, e in got), what="the state event")
    finally:
        unsubscribe()
    assert reads == ["1000"]
    assert [e["state"]["status"] for _, e in got if e["event"] == "state"] == ["PAUSED"]
