"""Media in the agent's session: recording, audio playback, DTMF and the custom voicemail message.

recording and send_dtmf write a command column of the agent's `vicidial_live_agents` row for the
session to carry out; audio_playback queues switch actions in `vicidial_manager` directly (as upstream
does); vm_message stores the audio list in `vicidial_lead_messages` for the agent's VM button.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from openagc.api.numbers import whole
from openagc.api.pipeline import Call, api_function
from openagc.api.reply import Line, error, notice, success, verbatim
from openagc.clock import fmt_datetime
from openagc.store.players import CONTROL_EXTEN, PLAY_EXTEN, live_player, player_id
from openagc.store.schema import (
    recording_log,
    servers,
    vicidial_ajax_log,
    vicidial_lead_messages,
    vicidial_live_agents,
    vicidial_manager,
)

VLA = vicidial_live_agents.c


def fit(column: sa.Column, text: str) -> str:
    """`text` cut to the column's VARCHAR length (what upstream's non-strict MySQL stored)."""
    length = getattr(column.type, "length", None)
    return text[:length] if length else text


def positive_number(text: object) -> int:
    """The value as a whole number when it is one greater than zero, else 0."""
    digits = str(text or "").strip()
    return int(digits) if digits.isascii() and digits.isdigit() and int(digits) > 0 else 0


# --- recording -------------------------------------------------------------------------------------

RECORDING_VALUES = ("START", "STOP", "STATUS")
STAGE_SUFFIX_BYTES = 14


def stage_suffix(stage: str) -> str:
    """`stage` cut to its first 14 bytes, never splitting a character (upstream's cut could loop forever)."""
    return stage.encode()[:STAGE_SUFFIX_BYTES].decode(errors="ignore")


def _session_fields(call: Call) -> tuple[str, str, str]:
    """The agent's server, conference and status: the last three fields of every recording line."""
    agent = call.agent or {}
    return agent.get("server_ip") or "", agent.get("conf_exten") or "", agent.get("status") or ""


@api_function(
    "recording",
    valid=lambda c: c.p.value in RECORDING_VALUES and c.identifies_agent(),
)
async def recording(call: Call) -> Line:
    """START (with an optional filename suffix), STOP, or report the STATUS of the agent's recording."""
    p = call.p
    recording_id = (call.agent or {}).get("external_recording") or ""
    session = _session_fields(call)
    if p.value == "STATUS":
        number = positive_number(recording_id)  # a pending START/STOP command is not a recording
        if not number:
            return notice("not recording", p.agent_user, "", "", "", "", *session)
        R = recording_log.c
        row = await call.first(
            sa.select(R.filename, R.server_ip, R.start_time).where(R.recording_id == number)
        ) or {}
        start = row.get("start_time")
        return notice("recording active", p.agent_user, recording_id, row.get("filename") or "",
                      row.get("server_ip") or "", fmt_datetime(start) if start else "", *session)
    if p.value == "STOP" and not positive_number(recording_id):
        stop_error = error("stop recording error", p.agent_user, recording_id, "", "", "", *session)
        raise call.stop(stop_error.ends())
    if p.value == "START" and p.stage:
        p.value = f"{p.value}{stage_suffix(p.stage)}"
    await call.update_agent(external_recording=fit(VLA.external_recording, p.value))
    return success("recording function sent", p.agent_user, p.value, "", "", "", *session)


# --- audio_playback --------------------------------------------------------------------------------

AUDIO_STAGES = ("PLAY", "STOP", "PAUSE", "RESUME", "RESTART")
CMD_LINES = ("cmd_line_b", "cmd_line_c", "cmd_line_d", "cmd_line_e", "cmd_line_f",
             "cmd_line_g", "cmd_line_h", "cmd_line_i", "cmd_line_j", "cmd_line_k")
# Conference-side playback control: (callerid prefix, CallerID line) of the Originate for each stage.
PLAYBACK_CONTROL = {"RESTART": ("PLAYRS", "CallerID: 4"), "PAUSE": ("PLAYPA", "CallerID: 3"),
                    "RESUME": ("PLAYPA", "CallerID: 3")}


def _audio_valid(call: Call) -> bool:
    p = call.p
    return p.stage in AUDIO_STAGES and (p.stage != "PLAY" or len(p.value) >= 1) and call.identifies_agent()


def _audio_not_valid(call: Call) -> Line:
    p = call.p
    return error("audio_playback not valid", p.value, p.stage, p.agent_user, data=p.stage)


def _audio_no_user(call: Call) -> Line:
    p = call.p
    return error("no user found", p.stage, p.alt_user, data=f"{p.stage}|{p.alt_user}")


def _audio_not_logged_in(call: Call) -> Line:
    p = call.p
    return error("agent_user is not logged in", p.stage, p.agent_user, data=p.stage)


async def _queue_action(call: Call, server_ip: str, action: str, callerid: str, *cmd_lines: str) -> None:
    """One `vicidial_manager` row; command lines fill cmd_line_b onwards, the rest stay empty."""
    M = vicidial_manager.c
    texts = dict.fromkeys(CMD_LINES, "") | dict(zip(CMD_LINES, cmd_lines, strict=False))
    await call.insert_manager(
        server_ip=server_ip, action=action, callerid=fit(M.callerid, callerid),
        **{name: fit(M[name], text) for name, text in texts.items()},
    )


async def _soundboard_log(call: Call) -> None:
    """Upstream's soundboard debug trail: one `vicidial_ajax_log` row per `agent_debug` item."""
    p = call.p
    if p.source != "soundboard" or len(p.agent_debug) <= 1:
        return
    if not positive_number(call.system.get("agent_debug_logging")):
        return
    clock = getattr(call.services, "clock", None)
    now = clock.now() if clock is not None else call.now
    run_time = f"{max((now - call.now).total_seconds(), 0.0):.6f}"
    A = vicidial_ajax_log.c
    items = (p.agent_debug[:-1] if p.agent_debug.endswith("|") else p.agent_debug).split("|")
    for index, item in enumerate(items):
        when, _, rest = item.partition("-----")
        action, _, options = rest.partition("---")
        await call.db.execute(sa.insert(vicidial_ajax_log).values(
            user=fit(A.user, p.agent_user), start_time=_debug_time(when, now), db_time=now,
            run_time=run_time, php_script="api.php", action=fit(A.action, action),
            stage=fit(A.stage, f"{index}|{options}"), last_sql="",
        ))


def _debug_time(text: str, fallback: datetime) -> datetime:
    """The item's `YYYY-MM-DD HH:MM:SS` time; the request time when it is not one (strict DATETIME)."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return fallback


@api_function(
    "audio_playback",
    valid=_audio_valid,
    invalid=_audio_not_valid,
    alt_user_miss=_audio_no_user,
    not_logged_in=_audio_not_logged_in,
    after=_soundboard_log,
)
async def audio_playback(call: Call) -> Line:
    """Play, stop, pause, resume or restart an audio-store file in the agent's conference."""
    p = call.p
    agent = call.agent or {}
    conf_exten, server_ip = agent.get("conf_exten") or "", agent.get("server_ip") or ""
    if len(conf_exten.encode()) <= 5 or len(server_ip.encode()) <= 5:
        raise call.stop(error("audio_playback error - entry is empty", p.stage, p.agent_user, data=p.stage))
    ext_context = await call.scalar(
        sa.select(servers.c.ext_context).where(servers.c.server_ip == server_ip).limit(1)
    ) or ""
    channel = await call.scalar(live_player(conf_exten, server_ip))
    epoch = str(call.epoch)

    async def hang_up() -> None:
        await _queue_action(call, server_ip, "Hangup", f"PLAYHU{call.entry_date}", f"Channel: {channel}")

    async def play() -> None:
        await _queue_action(
            call, server_ip, "Originate", p.value,
            f"Channel: Local/47378216{conf_exten}@{ext_context}", f"Context: {ext_context}",
            f"Exten: {PLAY_EXTEN}", "Priority: 1", f'CallerID: "{p.value}" <{PLAY_EXTEN}>',
        )

    if channel is None:
        if p.stage != "PLAY":
            raise call.stop(error("audio_playback error - no audio playing in agent session",
                                  conf_exten, server_ip, p.stage, p.agent_user,
                                  data=f"{conf_exten}|{server_ip}|{p.stage}").ends())
        await play()
    elif p.stage == "PLAY":
        if p.dial_override != "Y":
            fields = (conf_exten, server_ip, p.stage, p.dial_override)
            raise call.stop(error("audio_playback error - audio already playing in agent session",
                                  *fields, p.agent_user, data="|".join(fields)).ends())
        await hang_up()
        call.emit(notice("audio_playback previous playback stopped", p.stage, p.dial_override, p.agent_user,
                         data=epoch))
        await play()
    elif p.stage == "STOP":
        await hang_up()
    else:
        prefix, caller_line = PLAYBACK_CONTROL[p.stage]
        await _queue_action(
            call, server_ip, "Originate", f"{prefix}{call.entry_date}",
            f"Channel: Local/473782148521111{player_id(channel)}@{ext_context}", f"Context: {ext_context}",
            f"Exten: {CONTROL_EXTEN}", "Priority: 1", caller_line,
        )
    return success("audio_playback function sent", p.value, p.stage, p.agent_user, data=epoch)


# --- send_dtmf -------------------------------------------------------------------------------------

DTMF_SET = "send_dtmf function set"


@api_function("send_dtmf", valid=lambda c: len(c.p.value) >= 1 and c.identifies_agent())
async def send_dtmf(call: Call) -> Line:
    """Queue a DTMF string for the agent's conference (the session plays P as #, S as *, Q as a pause)."""
    p = call.p
    await call.update_agent(external_dtmf=fit(VLA.external_dtmf, p.value))
    value, agent_user = p.value, p.agent_user
    # Upstream never translates this reason, only the result word.
    return verbatim("SUCCESS", DTMF_SET, lambda t: f"{t('SUCCESS')}: {DTMF_SET} - {value}|{agent_user}\n",
                    value, agent_user)


# --- vm_message ------------------------------------------------------------------------------------

LIVE_CALLERID_MIN = 16  # a live call's callerid is longer than 15 characters


@api_function(
    "vm_message",
    valid=lambda c: c.identifies_agent() and len(c.p.value) >= 1,
    invalid=lambda c: error("vm_message not valid", c.p.lead_id, c.p.value, c.p.agent_user),
    denied_subject=lambda c: (c.p.lead_id,),
)
async def vm_message(call: Call) -> Line:
    """Store the audio list the agent's VM button plays for the lead on the agent's live call."""
    p = call.p
    agent = call.agent or {}
    current = int(agent.get("lead_id") or 0)
    if current < 1 or len(agent.get("callerid") or "") < LIVE_CALLERID_MIN:
        raise call.stop(error("agent_user does not have a live call", p.agent_user))
    if not p.lead_id:
        p.lead_id = str(current)
    elif whole(p.lead_id) != current:
        raise call.stop(error("current call does not match lead_id submitted", p.agent_user,
                              data=f"{p.lead_id}|{current}"))
    await call.db.execute(sa.insert(vicidial_lead_messages).values(
        lead_id=current, call_date=call.now, user=call.api_user.user, message_entry=p.value,
    ))
    return success("vm_message function set", p.agent_user, p.lead_id, p.value, "",
                   data=f"{p.lead_id}|{p.value}")
