"""recording (external_recording), send_dtmf (external_dtmf), park_call (external_park) through /agc/api.php."""

from __future__ import annotations

import wave
from pathlib import Path

from openagc.switch.port import ChannelKind
from tests.engine.conftest import wait_for
from tests.engine.test_session_commands import start_inbound_call, vla

CONF = "8600051"


def test_recording_start_with_stage_then_stop_writes_a_wav_of_that_length(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    body = agent_api("recording", agent_user="1000", value="START", stage="a/b c*1")
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["external_recording"].isdigit())
    eng.settle()  # the recording leg is originated after the commit that wrote the column
    rec_id = int(vla(db)["external_recording"])
    row = db.row("recording_log", recording_id=rec_id)
    assert row["filename"] == "20260115-103000_3125551001a_b_c_1"  # FULLDATE_CUSTPHONE + sanitised stage
    assert (row["user"], row["lead_id"], row["extension"], row["end_time"]) == ("1000", 12345, "8309", None)
    assert row["channel"] == f"Local/5{CONF}@default"
    assert eng.switch.find(kind=ChannelKind.RECORDING, conference=CONF) is not None
    vm = db.row("vicidial_manager", callerid=row["filename"][:17] + "...")
    assert (vm["action"], vm["cmd_line_d"]) == ("Originate", "Exten: 8309")
    status = agent_api("recording", agent_user="1000", value="STATUS")
    assert status.startswith(f"NOTICE: recording active - 1000|{rec_id}|{row['filename']}|"), status
    eng.advance(42)
    assert agent_api("recording", agent_user="1000", value="STOP").startswith("SUCCESS")
    wait_for(lambda: db.row("recording_log", recording_id=rec_id)["location"])
    eng.settle()  # and hung up after the commit that closed the row
    row = db.row("recording_log", recording_id=rec_id)
    assert (row["length_in_sec"], float(row["length_in_min"])) == (42, 0.7)
    assert row["end_epoch"] - row["start_epoch"] == 42
    assert vla(db)["external_recording"] == ""
    assert eng.switch.find(kind=ChannelKind.RECORDING) is None
    with wave.open(row["location"]) as wav:
        assert wav.getnframes() / wav.getframerate() == 42
    assert db.row("vicidial_manager", callerid=f"RH12345{row['end_epoch']}0")["action"] == "Hangup"


def test_recording_stops_with_the_call(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    agent_api("recording", agent_user="1000", value="START")
    wait_for(lambda: vla(db)["external_recording"].isdigit())
    rec_id = int(vla(db)["external_recording"])
    eng.advance(10)
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: db.row("recording_log", recording_id=rec_id)["length_in_sec"] == 10)
    assert db.row("recording_log", recording_id=rec_id)["vicidial_id"]  # the closer-log id of the call


def test_allcalls_campaign_records_from_the_connect(eng, db):
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, campaign_recording="ALLCALLS")
    token = eng.login()
    start_inbound_call(eng, db, token)
    wait_for(lambda: vla(db)["external_recording"].isdigit())
    assert db.count("recording_log", user="1000") == 1


def test_never_campaign_does_not_record(eng, db, agent_api):
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, campaign_recording="NEVER")
    token = eng.login()
    start_inbound_call(eng, db, token)
    agent_api("recording", agent_user="1000", value="START")
    wait_for(lambda: vla(db)["external_recording"] == "")
    assert db.count("recording_log") == 0


def test_dtmf_substitutions_reach_the_conference(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    body = agent_api("send_dtmf", agent_user="1000", value="12PQ3S")
    assert body == "SUCCESS: send_dtmf function set - 12PQ3S|1000\n", body
    wait_for(lambda: vla(db)["external_dtmf"] == "")
    wait_for(lambda: eng.switch.dtmf_log)
    sent = eng.switch.dtmf_log[-1]
    assert (sent.conference, sent.digits, sent.tones) == (CONF, "12#,3*", "12#3*")
    assert sent.duration_seconds == 5 * 0.25 + 1.0  # Q is one second of silence
    vm = db.row("vicidial_manager", callerid="12#,3*")
    assert (vm["action"], vm["cmd_line_b"], vm["cmd_line_d"]) == (
        "Originate", "Channel: local/8500998@default", f"Exten: 7{CONF}")
    assert db.row("vicidial_user_dial_log", user="1000")["call_type"] == "SYS"


def test_dtmf_without_a_call_and_by_plain_sql(eng, db):
    eng.login()
    db.update("vicidial_live_agents", {"user": "1000"}, external_dtmf="9")
    wait_for(lambda: eng.switch.dtmf_log, what="dtmf from SQL")
    assert eng.switch.dtmf_log[-1].digits == "9" and vla(db)["external_dtmf"] == ""


def test_park_and_grab_customer_counts_park_time(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    eng.advance(3)
    assert agent_api("park_call", agent_user="1000", value="PARK_CUSTOMER").startswith("SUCCESS")
    wait_for(lambda: eng.switch.channel(chan.name).parked)
    assert vla(db)["external_park"] == ""
    parked = db.row("parked_channels", channel=chan.name)
    assert (parked["channel_group"], parked["extension"], parked["parked_by"]) == (
        chan.call_id, "park", "SIP/1000")
    log = db.row("park_log", uniqueid=chan.uniqueid)
    assert (log["status"], log["user"], log["lead_id"], log["extension"]) == ("PARKED", "1000", 12345, "8301")
    assert db.row("vicidial_manager", action="Redirect", cmd_line_d="Exten: 8301")["callerid"].startswith("LPvdcW")
    wait_for(lambda: db.row("live_sip_channels", channel=chan.name)["extension"] == "park")
    eng.advance(17)
    assert agent_api("park_call", agent_user="1000", value="GRAB_CUSTOMER").startswith("SUCCESS")
    wait_for(lambda: eng.switch.channel(chan.name).conference == CONF)
    log = db.row("park_log", uniqueid=chan.uniqueid)
    assert (log["status"], log["parked_sec"]) == ("GRABBED", 17)
    assert db.count("parked_channels") == 0
    assert db.row("parked_channels_recent", channel=chan.name)["channel_group"] == chan.call_id


def test_ivr_park_and_hangup_while_parked(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    assert agent_api("park_call", agent_user="1000", value="PARK_IVR_CUSTOMER").startswith("SUCCESS")
    wait_for(lambda: db.count("park_log", status="IVRPARKED") == 1)
    assert db.row("vicidial_auto_calls", callerid=chan.call_id)["extension"] == "PARK_IVR"
    eng.advance(5)
    eng.run(eng.switch.hangup(chan.name))  # the caller gives up on hold
    eng.settle()
    wait_for(lambda: db.row("park_log", uniqueid=chan.uniqueid)["status"] == "HUNGUP")
    assert db.row("park_log", uniqueid=chan.uniqueid)["parked_sec"] == 5
    assert db.count("parked_channels") == 0


def test_park_without_a_call_is_cleared_and_ignored(eng, db, agent_api):
    eng.login()
    db.update("vicidial_live_agents", {"user": "1000"}, lead_id=12345)
    assert agent_api("park_call", agent_user="1000", value="PARK_CUSTOMER").startswith("SUCCESS")
    wait_for(lambda: vla(db)["external_park"] == "")
    assert db.count("park_log") == 0 and db.count("parked_channels") == 0


def test_two_recordings_started_in_one_second_get_their_own_files_and_both_stop(eng, db, agent_api):
    """L6: START, STOP, START within one second named the same file: the second overwrote the first's."""
    token = eng.login()
    start_inbound_call(eng, db, token)
    for _ in range(2):
        assert agent_api("recording", agent_user="1000", value="START").startswith("SUCCESS")
        wait_for(lambda: vla(db)["external_recording"].isdigit())
        assert agent_api("recording", agent_user="1000", value="STOP").startswith("SUCCESS")
        wait_for(lambda: vla(db)["external_recording"] == "")
    first, second = db.rows("recording_log", order_by="recording_id")
    assert second["filename"] == f"{first['filename']}_{second['recording_id']}"
    wait_for(lambda: all(r["location"] for r in db.rows("recording_log")), what="both files written")
    assert eng.switch.find(kind=ChannelKind.RECORDING) is None  # both legs stopped
    locations = {r["location"] for r in db.rows("recording_log")}
    assert len(locations) == 2 and all(Path(p).exists() for p in locations)  # the first file not overwritten
