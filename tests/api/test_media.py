"""recording, audio_playback, send_dtmf, vm_message."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support import CLOSE, log_of

EPOCH = int(datetime(2026, 1, 15, 10, 30).timestamp())
ENTRY = "20260115103000"
SESSION = "10.10.10.15|8600051"
PLAY_CHANNEL = "IAX2/ASTplay-0000a1b2"


def agent(db, user="1000"):
    return db.row("vicidial_live_agents", user=user)


def manager_rows(db):
    return db.rows("vicidial_manager", order_by="man_id")


def command(row, *cmd_lines):
    """The parts of a vicidial_manager row the function decides, cmd_line_b … cmd_line_k."""
    lines = [row[f"cmd_line_{c}"] for c in "bcdefghijk"]
    return (
        row["action"],
        row["callerid"],
        row["server_ip"],
        row["status"],
        row["response"],
        row["channel"],
        row["uniqueid"],
        row["entry_date"],
        *lines,
    )


def expected(action, callerid, *cmd_lines):
    lines = list(cmd_lines) + [""] * (10 - len(cmd_lines))
    return (action, callerid, "10.10.10.15", "NEW", "N", "", "", datetime(2026, 1, 15, 10, 30), *lines)


# --- shared steps, for every function of this module ----------------------------------------------
MEDIA_CALLS = [
    ("recording", {"value": "START"}, "START", "external_recording"),
    ("audio_playback", {"value": "ss-noservice", "stage": "PLAY"}, "ss-noservice", None),
    ("send_dtmf", {"value": "1234"}, "1234", "external_dtmf"),
]


@pytest.mark.parametrize(("function", "params", "value", "column"), MEDIA_CALLS)
def test_permission_denied_ends_and_changes_nothing(api, db, login, function, params, value, column):
    login("1000")
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version webserver ")
    body = api(function, agent_user="1000", close_window_link="1", **params)
    assert body == (
        f"ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - {value}|6666|{function}|ADMIN\n"
    )  # EXIT: no close-window link
    if column:
        assert agent(db)[column] == ""
    assert manager_rows(db) == []
    assert log_of(db.last_log()) == (
        function,
        "1000",
        value,
        "ERROR",
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION",
        "",
    )


@pytest.mark.parametrize(
    ("function", "params", "value", "column"), [c for c in MEDIA_CALLS if c[0] != "audio_playback"]
)
def test_alt_user_miss_ends_without_acting_on_agent_user(api, db, login, function, params, value, column):
    """Upstream carried on with agent_user after the miss (hazard); we stop after the line."""
    login("1000")
    assert api(function, agent_user="1000", alt_user="99999", **params) == "ERROR: no user found - 99999\n"
    assert agent(db)[column] == ""
    assert [log_of(r) for r in db.logs()] == [(function, "1000", value, "ERROR", "no user found", "")]


@pytest.mark.parametrize(
    ("function", "params", "value", "column"), [c for c in MEDIA_CALLS if c[0] != "audio_playback"]
)
def test_not_logged_in(api, db, function, params, value, column):
    assert api(function, agent_user="1000", **params) == "ERROR: agent_user is not logged in - 1000\n"
    assert log_of(db.last_log()) == (function, "1000", value, "ERROR", "agent_user is not logged in", "")


# --- recording -------------------------------------------------------------------------------------
def test_recording_start(api, db, login):
    login("1000")
    assert api("recording", agent_user="1000", value="START") == (
        f"SUCCESS: recording function sent - 1000|START||||{SESSION}|PAUSED\n"
    )
    assert agent(db)["external_recording"] == "START"
    assert log_of(db.last_log()) == ("recording", "1000", "START", "SUCCESS", "recording function sent", "")


def test_recording_start_with_stage_suffix(api, db, login):
    login("1000")
    assert api("recording", agent_user="1000", value="START", stage="_MIDCALL") == (
        f"SUCCESS: recording function sent - 1000|START_MIDCALL||||{SESSION}|PAUSED\n"
    )
    assert agent(db)["external_recording"] == "START_MIDCALL"
    assert db.last_log()["value"] == "START_MIDCALL"


def test_recording_stage_cut_to_14_bytes_without_looping(api, db, login):
    """Upstream's cut loop never ended on a long stage ending in two newlines (hazard): we cut once."""
    login("1000")
    body = api("recording", agent_user="1000", value="START", stage="ABCDEFGHIJKLMNOPQRS\n\n")
    assert body == f"SUCCESS: recording function sent - 1000|STARTABCDEFGHIJKLMN||||{SESSION}|PAUSED\n"
    assert agent(db)["external_recording"] == "STARTABCDEFGHIJKLMN"


def test_recording_stage_cut_never_splits_a_character(api, db, login):
    login("1000")
    body = api("recording", agent_user="1000", value="START", stage="a" + "é" * 8)
    assert body == f"SUCCESS: recording function sent - 1000|STARTa{'é' * 6}||||{SESSION}|PAUSED\n"
    assert agent(db)["external_recording"] == "STARTa" + "é" * 6


def test_recording_stage_is_ignored_for_stop(api, db, login):
    login("1000", external_recording="121242", status="INCALL")
    assert api("recording", agent_user="1000", value="STOP", stage="_X") == (
        f"SUCCESS: recording function sent - 1000|STOP||||{SESSION}|INCALL\n"
    )
    assert agent(db)["external_recording"] == "STOP"


def test_recording_stop_error_exits(api, db, login):
    login("1000")
    body = api("recording", agent_user="1000", value="STOP", close_window_link="1")
    assert body == f"ERROR: stop recording error - 1000|||||{SESSION}|PAUSED\n"  # EXIT: no close link
    assert agent(db)["external_recording"] == ""
    assert log_of(db.last_log()) == ("recording", "1000", "STOP", "ERROR", "stop recording error", "")


@pytest.mark.parametrize("pending", ["STOP", "START", "START_MIDCALL", "0"])
def test_recording_stop_without_a_recording_id_is_an_error(api, db, login, pending):
    """A pending command is not a recording (upstream under PHP 8 accepted STOP over a pending START)."""
    login("1000", external_recording=pending)
    assert api("recording", agent_user="1000", value="STOP") == (
        f"ERROR: stop recording error - 1000|{pending}||||{SESSION}|PAUSED\n"
    )
    assert agent(db)["external_recording"] == pending


def test_recording_status_not_recording(api, db, login):
    login("1000")
    assert api("recording", agent_user="1000", value="STATUS", close_window_link="1") == (
        f"NOTICE: not recording - 1000|||||{SESSION}|PAUSED\n" + CLOSE
    )
    assert agent(db)["external_recording"] == ""
    assert log_of(db.last_log()) == ("recording", "1000", "STATUS", "NOTICE", "not recording", "")


def test_recording_status_pending_start_is_not_recording(api, db, login):
    """Upstream under PHP 8 reported a pending START_MIDCALL as "recording active" (hazard)."""
    login("1000", external_recording="START_MIDCALL")
    assert api("recording", agent_user="1000", value="STATUS") == (
        f"NOTICE: not recording - 1000|||||{SESSION}|PAUSED\n"
    )
    assert agent(db)["external_recording"] == "START_MIDCALL"


def test_recording_status_active(api, db, login):
    rec_id = db.insert(
        "recording_log",
        server_ip="10.10.10.16",
        filename="20260115-102900__1000_",
        start_time=datetime(2026, 1, 15, 10, 29, 0),
        user="1000",
    )
    login("1000", external_recording=str(rec_id), status="INCALL")
    assert api("recording", agent_user="1000", value="STATUS") == (
        f"NOTICE: recording active - 1000|{rec_id}|20260115-102900__1000_|10.10.10.16|2026-01-15 10:29:00|"
        f"{SESSION}|INCALL\n"
    )
    assert log_of(db.last_log()) == ("recording", "1000", "STATUS", "NOTICE", "recording active", "")


def test_recording_status_active_without_log_row(api, db, login):
    login("1000", external_recording="4242")
    assert api("recording", agent_user="1000", value="STATUS") == (
        f"NOTICE: recording active - 1000|4242||||{SESSION}|PAUSED\n"
    )


@pytest.mark.parametrize("value", ["RESTART", "STOPX", "status", "START|X"])
def test_recording_value_must_be_exact(api, db, login, value):
    """Upstream matched START/STOP/STATUS as substrings, so RESTART was written (hazard)."""
    login("1000")
    assert api("recording", agent_user="1000", value=value) == f"ERROR: recording not valid - {value}|1000\n"
    assert agent(db)["external_recording"] == ""
    assert log_of(db.last_log()) == ("recording", "1000", value, "ERROR", "recording not valid", "")


def test_recording_needs_an_agent(api, db):
    assert api("recording", value="START", alt_user="7") == "ERROR: recording not valid - START|\n"


def test_recording_alt_user_resolves_the_agent(api, db, login):
    login("1000")
    login("1001")
    assert api("recording", agent_user="1001", alt_user="71000", value="START") == (
        f"SUCCESS: recording function sent - 1000|START||||{SESSION}|PAUSED\n"
    )
    assert agent(db)["external_recording"] == "START"
    assert agent(db, "1001")["external_recording"] == ""


# --- audio_playback --------------------------------------------------------------------------------
def play_channel(db, channel=PLAY_CHANNEL, extension="8600051"):
    db.insert(
        "live_channels",
        channel=channel,
        server_ip="10.10.10.15",
        extension=extension,
        channel_group="",
        channel_data="",
    )


def test_audio_play(api, db, login):
    login("1000")
    assert api("audio_playback", agent_user="1000", value="ss-noservice", stage="PLAY") == (
        "SUCCESS: audio_playback function sent - ss-noservice|PLAY|1000\n"
    )
    [row] = manager_rows(db)
    assert command(row) == expected(
        "Originate",
        "ss-noservice",
        "Channel: Local/473782168600051@default",
        "Context: default",
        "Exten: 473782158521111",
        "Priority: 1",
        'CallerID: "ss-noservice" <473782158521111>',
    )
    assert log_of(db.last_log()) == (
        "audio_playback",
        "1000",
        "ss-noservice",
        "SUCCESS",
        "audio_playback function sent",
        str(EPOCH),
    )


def test_audio_play_uses_the_servers_context(api, db, login):
    db.update("servers", {"server_ip": "10.10.10.15"}, ext_context="vicidial")
    login("1000")
    api("audio_playback", agent_user="1000", value="hold_music", stage="PLAY")
    [row] = manager_rows(db)
    assert (row["cmd_line_b"], row["cmd_line_c"]) == ("Channel: Local/473782168600051@vicidial", "Context: vicidial")


def test_audio_play_long_name_fits_the_columns(api, db, login):
    """vicidial_manager.callerid is VARCHAR(20): upstream's MySQL cut it; strict mode would refuse it."""
    login("1000")
    name = "appointment_reminder2_long_name"
    assert api("audio_playback", agent_user="1000", value=name, stage="PLAY") == (
        f"SUCCESS: audio_playback function sent - {name}|PLAY|1000\n"
    )
    [row] = manager_rows(db)
    assert row["callerid"] == name[:20]
    assert row["cmd_line_f"] == f'CallerID: "{name}" <473782158521111>'


def test_audio_play_while_playing_exits(api, db, login):
    login("1000")
    play_channel(db)
    body = api("audio_playback", agent_user="1000", value="ss-noservice", stage="PLAY", close_window_link="1")
    assert body == (  # the code prints dial_override (empty here), unlike the document's example; EXIT
        "ERROR: audio_playback error - audio already playing in agent session - 8600051|10.10.10.15|PLAY||1000\n"
    )
    assert manager_rows(db) == []
    assert log_of(db.last_log()) == (
        "audio_playback",
        "1000",
        "ss-noservice",
        "ERROR",
        "audio_playback error - audio already playing in agent session",
        "8600051|10.10.10.15|PLAY|",
    )


def test_audio_play_with_override_stops_the_previous_playback(api, db, login):
    login("1000")
    play_channel(db)
    body = api("audio_playback", agent_user="1000", value="ss-noservice", stage="PLAY", dial_override="Y")
    assert body == (
        "NOTICE: audio_playback previous playback stopped - PLAY|Y|1000\n"
        "SUCCESS: audio_playback function sent - ss-noservice|PLAY|1000\n"
    )
    hangup, originate = manager_rows(db)
    assert command(hangup) == expected("Hangup", f"PLAYHU{ENTRY}", f"Channel: {PLAY_CHANNEL}")
    assert (originate["action"], originate["callerid"]) == ("Originate", "ss-noservice")
    assert [log_of(r) for r in db.logs()] == [
        ("audio_playback", "1000", "ss-noservice", "NOTICE", "audio_playback previous playback stopped", str(EPOCH)),
        ("audio_playback", "1000", "ss-noservice", "SUCCESS", "audio_playback function sent", str(EPOCH)),
    ]


def test_audio_override_other_than_y_does_not_override(api, db, login):
    login("1000")
    play_channel(db)
    assert api("audio_playback", agent_user="1000", value="x1", stage="PLAY", dial_override="N") == (
        "ERROR: audio_playback error - audio already playing in agent session - 8600051|10.10.10.15|PLAY|N|1000\n"
    )
    assert manager_rows(db) == []


def test_audio_stop(api, db, login):
    login("1000")
    play_channel(db)
    play_channel(db, channel="IAX2/ASTplay-0000ffff", extension="8600052")  # another session's playback
    assert api("audio_playback", agent_user="1000", stage="STOP") == (
        "SUCCESS: audio_playback function sent - |STOP|1000\n"
    )
    [row] = manager_rows(db)
    assert command(row) == expected("Hangup", f"PLAYHU{ENTRY}", f"Channel: {PLAY_CHANNEL}")


def test_audio_ignores_channels_that_are_not_playback(api, db, login):
    login("1000")
    play_channel(db, channel="SIP/1000-00000001")
    assert api("audio_playback", agent_user="1000", stage="STOP") == (
        "ERROR: audio_playback error - no audio playing in agent session - 8600051|10.10.10.15|STOP|1000\n"
    )


@pytest.mark.parametrize(
    ("stage", "callerid", "caller_line"),
    [
        ("RESTART", f"PLAYRS{ENTRY}", "CallerID: 4"),
        ("PAUSE", f"PLAYPA{ENTRY}", "CallerID: 3"),
        ("RESUME", f"PLAYPA{ENTRY}", "CallerID: 3"),
    ],
)
def test_audio_playback_control(api, db, login, stage, callerid, caller_line):
    login("1000")
    play_channel(db)
    assert api("audio_playback", agent_user="1000", stage=stage) == (
        f"SUCCESS: audio_playback function sent - |{stage}|1000\n"
    )
    [row] = manager_rows(db)
    assert command(row) == expected(
        "Originate",
        callerid,
        "Channel: Local/4737821485211110000a1b2@default",
        "Context: default",
        "Exten: 473782138521111",
        "Priority: 1",
        caller_line,
    )


def test_audio_no_playback_exits(api, db, login):
    login("1000")
    body = api("audio_playback", agent_user="1000", stage="PAUSE", close_window_link="1")
    assert body == (  # EXIT: no close-window link
        "ERROR: audio_playback error - no audio playing in agent session - 8600051|10.10.10.15|PAUSE|1000\n"
    )
    assert manager_rows(db) == []
    assert log_of(db.last_log()) == (
        "audio_playback",
        "1000",
        "",
        "ERROR",
        "audio_playback error - no audio playing in agent session",
        "8600051|10.10.10.15|PAUSE",
    )


def test_audio_entry_is_empty(api, db, login):
    login("1000", conf_exten="86000")
    assert api("audio_playback", agent_user="1000", value="x1", stage="PLAY", close_window_link="1") == (
        "ERROR: audio_playback error - entry is empty - PLAY|1000\n" + CLOSE
    )
    assert manager_rows(db) == []
    assert log_of(db.last_log()) == (
        "audio_playback",
        "1000",
        "x1",
        "ERROR",
        "audio_playback error - entry is empty",
        "PLAY",
    )


@pytest.mark.parametrize(
    ("value", "stage"),
    [
        ("ss-noservice", "Play"),
        ("", "FOOO"),
        ("", "PLAY"),
        ("x1", "PLAYX"),
        ("x1", ""),
    ],
)
def test_audio_not_valid(api, db, login, value, stage):
    """Stages are exact: upstream built no command for e.g. FOOO and still printed SUCCESS (hazard)."""
    login("1000")
    play_channel(db)
    assert api("audio_playback", agent_user="1000", value=value, stage=stage, close_window_link="1") == (
        f"ERROR: audio_playback not valid - {value}|{stage}|1000\n" + CLOSE
    )
    assert manager_rows(db) == []
    assert log_of(db.last_log()) == ("audio_playback", "1000", value, "ERROR", "audio_playback not valid", stage)


def test_audio_no_user_found_ends(api, db, login):
    login("1000")
    assert api("audio_playback", agent_user="1000", alt_user="99999", value="x1", stage="PLAY") == (
        "ERROR: no user found - PLAY|99999\n"
    )
    assert manager_rows(db) == []
    assert [log_of(r) for r in db.logs()] == [("audio_playback", "1000", "x1", "ERROR", "no user found", "PLAY|99999")]


def test_audio_alt_user_resolves_the_agent(api, db, login):
    login("1001", conf_exten="8600052")
    login("1000")
    assert api("audio_playback", agent_user="1001", alt_user="71000", value="x1", stage="PLAY") == (
        "SUCCESS: audio_playback function sent - x1|PLAY|1000\n"
    )
    [row] = manager_rows(db)
    assert row["cmd_line_b"] == "Channel: Local/473782168600051@default"


def test_audio_not_logged_in(api, db):
    assert api("audio_playback", agent_user="1000", value="x1", stage="PLAY") == (
        "ERROR: agent_user is not logged in - PLAY|1000\n"
    )
    assert log_of(db.last_log()) == ("audio_playback", "1000", "x1", "ERROR", "agent_user is not logged in", "PLAY")


DEBUG = "2026-01-15 10:29:58-----audio_play---ss-noservice|2026-01-15 10:29:59-----refresh---a---b|"


def ajax_rows(db):
    columns = ("user", "start_time", "db_time", "php_script", "action", "stage", "last_sql", "run_time")
    return [tuple(r[c] for c in columns) for r in db.rows("vicidial_ajax_log", order_by="start_time")]


def test_audio_soundboard_debug_log(api, db, login):
    db.update("system_settings", {}, agent_debug_logging="1")
    login("1000")
    api("audio_playback", agent_user="1000", value="x1", stage="PLAY", source="soundboard", agent_debug=DEBUG)
    now = datetime(2026, 1, 15, 10, 30)
    assert ajax_rows(db) == [
        ("1000", datetime(2026, 1, 15, 10, 29, 58), now, "api.php", "audio_play", "0|ss-noservice", "", "0.000000"),
        ("1000", datetime(2026, 1, 15, 10, 29, 59), now, "api.php", "refresh", "1|a---b", "", "0.000000"),
    ]


def test_audio_soundboard_log_runs_after_an_end(api, db, login):
    db.update("system_settings", {}, agent_debug_logging="1")
    body = api(
        "audio_playback",
        agent_user="1000",
        value="x1",
        stage="Play",
        source="soundboard",
        agent_debug="bad time-----audio_play---x1",
    )
    assert body == "ERROR: audio_playback not valid - x1|Play|1000\n"
    assert ajax_rows(db) == [
        (
            "1000",
            datetime(2026, 1, 15, 10, 30),
            datetime(2026, 1, 15, 10, 30),
            "api.php",
            "audio_play",
            "0|x1",
            "",
            "0.000000",
        )
    ]


def test_audio_soundboard_log_not_after_an_exit(api, db, login):
    db.update("system_settings", {}, agent_debug_logging="1")
    login("1000")
    api("audio_playback", agent_user="1000", stage="STOP", source="soundboard", agent_debug=DEBUG)
    assert ajax_rows(db) == []


@pytest.mark.parametrize(
    ("logging", "source", "debug"),
    [
        ("0", "soundboard", DEBUG),
        ("1", "crm", DEBUG),
        ("1", "soundboard", "x"),
    ],
)
def test_audio_soundboard_log_needs_all_three(api, db, login, logging, source, debug):
    db.update("system_settings", {}, agent_debug_logging=logging)
    login("1000")
    api("audio_playback", agent_user="1000", value="x1", stage="PLAY", source=source, agent_debug=debug)
    assert ajax_rows(db) == []


# --- send_dtmf -------------------------------------------------------------------------------------
def test_send_dtmf(api, db, login):
    login("1000")
    assert api("send_dtmf", agent_user="1000", value="QQQQ1234SQQQQQ6654P") == (
        "SUCCESS: send_dtmf function set - QQQQ1234SQQQQQ6654P|1000\n"
    )
    assert agent(db)["external_dtmf"] == "QQQQ1234SQQQQQ6654P"
    assert log_of(db.last_log()) == (
        "send_dtmf",
        "1000",
        "QQQQ1234SQQQQQ6654P",
        "SUCCESS",
        "send_dtmf function set",
        "",
    )


def test_send_dtmf_long_value_fits_the_column(api, db, login):
    login("1000")
    value = "1" * 120
    assert api("send_dtmf", agent_user="1000", value=value) == (f"SUCCESS: send_dtmf function set - {value}|1000\n")
    assert agent(db)["external_dtmf"] == "1" * 100


def test_send_dtmf_not_valid(api, db, login):
    login("1000")
    assert api("send_dtmf", agent_user="1000", value="#*", close_window_link="1") == (
        "ERROR: send_dtmf not valid - |1000\n" + CLOSE
    )
    assert agent(db)["external_dtmf"] == ""
    assert log_of(db.last_log()) == ("send_dtmf", "1000", "", "ERROR", "send_dtmf not valid", "")


def test_send_dtmf_reason_is_never_translated(api, db, login):
    db.update("system_settings", {}, enable_languages="1", language_method="MYSQL")
    db.update("vicidial_users", {"user": "6666"}, selected_language="es")
    for english, spanish in (("SUCCESS", "ÉXITO"), ("send_dtmf function set", "función enviada")):
        db.insert("vicidial_language_phrases", language_id="es", english_text=english, translated_text=spanish)
    login("1000")
    assert api("send_dtmf", agent_user="1000", value="1") == "ÉXITO: send_dtmf function set - 1|1000\n"


# --- vm_message ------------------------------------------------------------------------------------
LIVE = {"lead_id": 12345, "callerid": "M1151030000012345", "status": "INCALL"}


def test_vm_message_with_lead_id(api, db, login):
    login("1000", **LIVE)
    assert api("vm_message", agent_user="1000", lead_id="12345", value="appointment_reminder2") == (
        "SUCCESS: vm_message function set - 1000|12345|appointment_reminder2|\n"
    )
    [row] = db.rows("vicidial_lead_messages")
    assert (row["lead_id"], row["call_date"], row["user"], row["message_entry"], row["played"]) == (
        12345,
        datetime(2026, 1, 15, 10, 30),
        "6666",
        "appointment_reminder2",
        0,
    )
    assert log_of(db.last_log()) == (
        "vm_message",
        "1000",
        "appointment_reminder2",
        "SUCCESS",
        "vm_message function set",
        "12345|appointment_reminder2",
    )


def test_vm_message_defaults_to_the_current_lead(api, db, login):
    login("1000", **LIVE)
    assert api("vm_message", agent_user="1000", value="EXship01|EXship02|EXship03") == (
        "SUCCESS: vm_message function set - 1000|12345|EXship01|EXship02|EXship03|\n"
    )
    assert db.row("vicidial_lead_messages", lead_id=12345)["message_entry"] == "EXship01|EXship02|EXship03"
    assert db.last_log()["data"] == "12345|EXship01|EXship02|EXship03"


def test_vm_message_lead_id_compares_as_a_number(api, db, login):
    login("1000", **LIVE)
    assert api("vm_message", agent_user="1000", lead_id="012345", value="x1") == (
        "SUCCESS: vm_message function set - 1000|012345|x1|\n"
    )
    assert db.count("vicidial_lead_messages", lead_id=12345) == 1


def test_vm_message_wrong_lead(api, db, login):
    login("1000", **LIVE)
    assert api("vm_message", agent_user="1000", lead_id="12346", value="x1", close_window_link="1") == (
        "ERROR: current call does not match lead_id submitted - 1000\n" + CLOSE
    )
    assert db.rows("vicidial_lead_messages") == []
    assert log_of(db.last_log()) == (
        "vm_message",
        "1000",
        "x1",
        "ERROR",
        "current call does not match lead_id submitted",
        "12346|12345",
    )


@pytest.mark.parametrize(
    "state",
    [
        {"lead_id": 0, "callerid": "M1151030000012345"},
        {"lead_id": 12345, "callerid": "M11510300000123"},  # 15 characters: not a live call
    ],
)
def test_vm_message_needs_a_live_call(api, db, login, state):
    login("1000", **state)
    assert api("vm_message", agent_user="1000", value="x1") == ("ERROR: agent_user does not have a live call - 1000\n")
    assert db.rows("vicidial_lead_messages") == []
    assert log_of(db.last_log()) == ("vm_message", "1000", "x1", "ERROR", "agent_user does not have a live call", "")


def test_vm_message_not_valid(api, db, login):
    login("1000", **LIVE)
    assert api("vm_message", agent_user="1000", lead_id="12345", value="") == (
        "ERROR: vm_message not valid - 12345||1000\n"
    )
    assert api("vm_message", value="x1") == "ERROR: vm_message not valid - |x1|\n"
    assert db.rows("vicidial_lead_messages") == []
    assert log_of(db.last_log()) == ("vm_message", "", "x1", "ERROR", "vm_message not valid", "")


def test_vm_message_permission_names_the_lead(api, db, login):
    login("1000", **LIVE)
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" send_dtmf ")
    assert api("vm_message", agent_user="1000", lead_id="12345", value="x1") == (
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 12345|6666|vm_message|ADMIN\n"
    )
    assert db.rows("vicidial_lead_messages") == []


def test_vm_message_alt_user(api, db, login):
    login("1000", **LIVE)
    assert api("vm_message", alt_user="99999", agent_user="1000", value="x1") == ("ERROR: no user found - 99999\n")
    assert api("vm_message", alt_user="71000", value="x1") == ("SUCCESS: vm_message function set - 1000|12345|x1|\n")
    assert db.count("vicidial_lead_messages") == 1


def test_vm_message_not_logged_in(api, db):
    assert api("vm_message", agent_user="1000", value="x1") == "ERROR: agent_user is not logged in - 1000\n"
