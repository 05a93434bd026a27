"""The manager queue: vicidial_manager rows the API queues itself (audio_playback, call_agent,
force_fronter_audio_stop), carried out on the simulated switch and marked as upstream's daemons do."""

from __future__ import annotations

import re
from datetime import datetime

from openagc.switch.port import ChannelKind
from tests.engine.conftest import wait_for
from tests.engine.test_session_commands import start_inbound_call

CONF = "8600051"


def player(eng, conf=CONF):
    return eng.call(lambda: eng.switch.find(kind=ChannelKind.PLAYBACK, conference=conf))


def newest(db, **where):
    return db.rows("vicidial_manager", order_by="man_id", **where)[-1]


def play(eng, db, agent_api, sound="EXship01", **kw):
    body = agent_api("audio_playback", agent_user="1000", value=sound, stage="PLAY", **kw)
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: newest(db, action="Originate", callerid=sound)["status"] == "UPDATED")
    wait_for(lambda: db.count("live_channels", extension=CONF) == 1)  # the player is listed for the API
    return player(eng)


def test_audio_playback_play_pause_resume_restart_stop(eng, db, agent_api):
    eng.login()
    chan = play(eng, db, agent_api)
    # named as Asterisk names the adapter's player (upstream's was IAX2/ASTplay-…): found by the engine's record
    assert re.fullmatch(rf"Local/{CONF}@default-([0-9a-f]{{8}});1", chan.name) and chan.number == "EXship01"
    row = newest(db, action="Originate", callerid="EXship01")
    assert (row["channel"], row["uniqueid"]) == (chan.name, chan.uniqueid)
    assert agent_api("audio_playback", agent_user="1000", stage="PAUSE").startswith("SUCCESS")
    wait_for(lambda: newest(db, cmd_line_d="Exten: 473782138521111")["status"] == "SENT")
    control = newest(db, cmd_line_d="Exten: 473782138521111")
    assert control["cmd_line_b"] == f"Channel: Local/473782148521111{chan.name.rsplit('-', 1)[1]}@default"
    eng.advance(30)  # paused: it does not finish
    assert player(eng) is not None
    assert agent_api("audio_playback", agent_user="1000", stage="RESUME").startswith("SUCCESS")
    wait_for(lambda: db.count("vicidial_manager", cmd_line_d="Exten: 473782138521111", status="SENT") == 2)
    assert agent_api("audio_playback", agent_user="1000", stage="RESTART").startswith("SUCCESS")
    wait_for(lambda: db.count("vicidial_manager", cmd_line_d="Exten: 473782138521111", status="SENT") == 3)
    assert agent_api("audio_playback", agent_user="1000", stage="STOP").startswith("SUCCESS")
    wait_for(lambda: newest(db, action="Hangup")["status"] == "SENT")
    assert player(eng) is None
    wait_for(lambda: db.count("live_channels", extension=CONF) == 0)


def test_play_over_a_playing_file_needs_dial_override(eng, db, agent_api):
    eng.login()
    first = play(eng, db, agent_api)
    body = agent_api("audio_playback", agent_user="1000", value="EXship02", stage="PLAY")
    assert body.startswith("ERROR: audio_playback error - audio already playing"), body
    body = agent_api("audio_playback", agent_user="1000", value="EXship02", stage="PLAY", dial_override="Y")
    assert "previous playback stopped" in body
    wait_for(lambda: newest(db, action="Originate", callerid="EXship02")["status"] == "UPDATED")
    second = player(eng)
    assert second.number == "EXship02" and eng.switch.channel(first.name) is None


def test_call_agent_rings_the_phone_into_the_session_again(eng, db, agent_api):
    eng.login()
    eng.advance(1)
    phone = eng.switch.find(kind=ChannelKind.AGENT)
    eng.run(eng.switch.hangup(phone.name))
    eng.settle()
    assert agent_api("call_agent", agent_user="1000", value="CALL").startswith("SUCCESS")
    wait_for(lambda: newest(db, action="Originate")["status"] == "SENT")  # ringing: not UPDATED yet
    eng.advance(1)
    again = eng.switch.find(kind=ChannelKind.AGENT)
    assert again is not None and again.name != phone.name and again.conference == CONF
    # UPDATED once answered, with the real channel (as upstream's listener writes it), not the dial string
    wait_for(lambda: newest(db, action="Originate")["status"] == "UPDATED")
    row = newest(db, action="Originate")
    assert (row["channel"], row["uniqueid"]) == (again.name, again.uniqueid)


def test_force_fronter_audio_stop_hangs_up_the_fronters_player(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    chan = play(eng, db, agent_api)
    eng.login(user="1001", phone_login="1001")
    db.update("vicidial_live_agents", {"user": "1001"}, lead_id=12345)
    body = agent_api("force_fronter_audio_stop", agent_user="1001", value="LOCAL_ONLY")
    assert body.startswith("SUCCESS: force_fronter_audio_stop function sent - LOCAL_ONLY||1001|1000"), body
    wait_for(lambda: eng.switch.channel(chan.name) is None)
    wait_for(lambda: newest(db, action="Hangup")["status"] == "SENT")  # marked after the switch acted


def test_rows_are_claimed_once_and_dead_when_they_cannot_run(eng, db):
    eng.login()
    lines = {f"cmd_line_{c}": "" for c in "cdefghijk"}
    base = {"uniqueid": "", "entry_date": datetime(2026, 1, 15, 10, 30), "response": "N", "channel": ""}
    db.insert("vicidial_manager", **base, status="NEW", server_ip="10.10.10.99", action="Hangup",
              callerid="OTHERSERVER", cmd_line_b="Channel: SIP/x-1", **lines)
    db.insert("vicidial_manager", **base, status="NEW", server_ip="10.10.10.15", action="Hangup",
              callerid="GONE0000000000000001", cmd_line_b="Channel: SIP/nobody-00000001", **lines)
    wait_for(lambda: db.row("vicidial_manager", callerid="GONE0000000000000001")["status"] == "DEAD")
    # a live channel, but its callerid already died: not sent (upstream's rule)
    eng.advance(1)
    phone = eng.switch.find(kind=ChannelKind.AGENT)
    db.insert("vicidial_manager", **base, status="NEW", server_ip="10.10.10.15", action="Hangup",
              callerid="GONE0000000000000001", cmd_line_b=f"Channel: {phone.name}", **lines)
    wait_for(lambda: db.count("vicidial_manager", callerid="GONE0000000000000001", status="DEAD") == 2)
    assert eng.switch.channel(phone.name) is not None
    assert db.row("vicidial_manager", callerid="OTHERSERVER")["status"] == "NEW"  # not our server
    db.insert("vicidial_manager", **base, status="NEW", server_ip="10.10.10.15", action="Hangup",
              callerid="ULVD34521768473001", cmd_line_b=f"Channel: {phone.name}", **lines)
    wait_for(lambda: db.row("vicidial_manager", callerid="ULVD34521768473001")["status"] == "SENT")
    wait_for(lambda: eng.switch.channel(phone.name) is None, what="the phone channel hung up")
