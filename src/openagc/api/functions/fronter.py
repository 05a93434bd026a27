"""Commands to the *other* agent on the caller's lead (the fronter): `force_fronter_leave_3way` and
`force_fronter_audio_stop`, on this cluster or, through CCC, on a remote one.

The fronter is the oldest other agent whose live row carries the same lead. With `LOCAL_AND_CCC`, when
no local fronter exists, the command is forwarded to the remote cluster the lead came from
(`vicidial_ccc_log`): an Agent API call to `settings.remote_cluster_url` with `value=CCC_REMOTE`,
the remote lead id and `agent_user=CCC_REMOTE`. That remote answers with these same functions.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import httpx
import sqlalchemy as sa

from openagc.api.functions.transfer import COMMAND_IDS, leave_3way_command
from openagc.api.pipeline import Call, api_function, not_logged_in
from openagc.api.reply import Line, error, success, verbatim
from openagc.store.players import live_player
from openagc.store.schema import (
    vicidial_ccc_log,
    vicidial_live_agents,
    vicidial_sessions_recent,
    vicidial_url_log,
)

VLA = vicidial_live_agents.c
SCOPES = frozenset({"LOCAL_ONLY", "LOCAL_AND_CCC", "CCC_REMOTE"})
CCC_REMOTE = "CCC_REMOTE"
LEAD_ID_MAX = 4294967295  # INT UNSIGNED
RECENT_SESSION = timedelta(minutes=5)
_PASS = re.compile(r"([?&]pass=)[^&]*")


def _valid(call: Call) -> bool:
    return call.p.value in SCOPES and call.identifies_agent()


def _lead_number(text: str) -> int:
    """The `lead_id` parameter (digits only) as a lead id; 0 when empty or beyond any lead id."""
    number = int(text) if text else 0
    return number if number <= LEAD_ID_MAX else 0


async def _agent_lead(call: Call) -> int:
    """Steps 4–6: the lead to search on (the agent's, or the remote cluster's `lead_id`).

    `CCC_REMOTE` needs no local agent but does need a real `lead_id`: upstream searched on an empty
    lead (treated as 0) and sent the command to an idle agent (spec H12).
    """
    if call.p.value == CCC_REMOTE:
        lead = _lead_number(call.p.lead_id)
    else:
        agent = await call.live_agent(columns=("lead_id",))
        if agent is None:
            raise call.stop(not_logged_in(call))
        lead = int(agent["lead_id"] or 0)
    if lead <= 0:
        raise call.stop(error("agent_user is not on a phone call", call.p.agent_user))
    return lead


async def _other_agent(call: Call, lead: int) -> sa.RowMapping | None:
    """The oldest other live agent on `lead` (by last call time)."""
    return await call.first(
        sa.select(VLA.user, VLA.conf_exten, VLA.server_ip)
        .where(VLA.user != call.p.agent_user, VLA.lead_id == lead)
        .order_by(VLA.last_call_time).limit(1))


def _no_fronter(call: Call) -> Line:
    return error("no fronter found", call.p.agent_user)


# --------------------------------------------------------------------------------------------------
# CCC: forwarding to the remote cluster
# --------------------------------------------------------------------------------------------------
async def _send_over_ccc(call: Call, lead: int) -> Line | None:
    """Forward this function to the remote cluster that owns `lead`; None when no CCC link exists.

    Upstream reported SUCCESS whatever the remote answered, with no timeout, and kept the remote
    credentials in its url log (spec H11). Here only a remote `SUCCESS` counts, the call has the
    configured timeout, and the logged URL has its password masked.
    """
    C = vicidial_ccc_log.c
    link = await call.first(sa.select(C.remote_lead_id, C.container_id).where(C.lead_id == lead).limit(1))
    if link is None:
        return None
    container = link["container_id"] or ""
    base = call.settings.remote_cluster_url
    if not base:
        return error(f"{call.function} CCC remote cluster URL is not configured", container,
                     call.p.agent_user)
    url = httpx.URL(base).copy_merge_params({
        "function": call.function, "value": CCC_REMOTE,
        "lead_id": "" if link["remote_lead_id"] is None else str(link["remote_lead_id"]),
        "agent_user": CCC_REMOTE,
    })
    started = time.monotonic()
    try:
        async with httpx.AsyncClient(timeout=call.settings.remote_cluster_timeout) as client:
            response = await client.get(url)
        body = response.text
        logged_body = body
        answer = body.strip().splitlines()[0] if body.strip() else f"HTTP {response.status_code}"
        sent = response.is_success and body.lstrip().startswith("SUCCESS")
    except httpx.HTTPError as exc:
        answer = type(exc).__name__
        logged_body = f"HTTP ERROR: {answer} - {exc}"
        sent = False
    await call.db.execute(sa.insert(vicidial_url_log).values(
        uniqueid="", url_date=call.now, url_type="start",
        response_sec=min(int(time.monotonic() - started), 65535),
        url=_PASS.sub(r"\1XXXXXXXX", str(url)).replace(";", ""),
        url_response=logged_body.replace(";", "")))
    if sent:
        return success(f"{call.function} command sent over CCC", container)
    return error(f"{call.function} command failed over CCC", container, answer, data=answer)


# --------------------------------------------------------------------------------------------------
# force_fronter_leave_3way
# --------------------------------------------------------------------------------------------------
def _sent_line(fronter: str) -> Line:
    """`SUCCESS: force_fronter_leave_3way SENT - {fronter}` with no newline; logged as one reason."""
    reason = f"force_fronter_leave_3way SENT - {fronter}"
    return verbatim("SUCCESS", reason, lambda t: f"{t('SUCCESS')}: {reason}", fronter)


@api_function("force_fronter_leave_3way", valid=_valid, logged_in=False, alone=True)
async def force_fronter_leave_3way(call: Call) -> Line:
    """Make the fronter on the agent's lead leave the 3-way call (spec §8)."""
    lead = await _agent_lead(call)
    fronter = await _other_agent(call, lead)
    if fronter is not None:
        await call.update_agent(fronter["user"], external_transferconf=leave_3way_command(
            COMMAND_IDS.next(call.epoch)))
        return _sent_line(fronter["user"])
    if call.p.value == "LOCAL_AND_CCC":
        forwarded = await _send_over_ccc(call, lead)
        if forwarded is not None:
            return forwarded
    return _no_fronter(call)


# --------------------------------------------------------------------------------------------------
# force_fronter_audio_stop
# --------------------------------------------------------------------------------------------------
async def _recent_session(call: Call, lead: int) -> sa.RowMapping | None:
    """Another agent's session on `lead` in the last five minutes, newest first."""
    R = vicidial_sessions_recent.c
    return await call.first(
        sa.select(R.user, R.conf_exten, R.server_ip)
        .where(R.user != call.p.agent_user, R.lead_id == lead, R.call_date >= call.now - RECENT_SESSION)
        .order_by(R.call_date.desc()).limit(1))


async def _stop_player(call: Call, other: sa.RowMapping) -> Line:
    """Hang up the audio player in the other agent's conference (steps 8.1–8.5)."""
    p = call.p
    user, conf_exten, server_ip = other["user"] or "", other["conf_exten"] or "", other["server_ip"] or ""
    if len(server_ip) < 5 and not conf_exten:
        live = await call.live_agent(user, columns=("conf_exten", "server_ip"))
        if live is not None:
            conf_exten, server_ip = live["conf_exten"] or "", live["server_ip"] or ""
    if len(conf_exten) <= 5 or len(server_ip) <= 5:
        raise call.stop(error("force_fronter_audio_stop error - no fronter session found", p.stage,
                              p.agent_user, user, data=p.stage))
    player = await call.scalar(live_player(conf_exten, server_ip))
    if player is None:
        raise call.stop(error("force_fronter_audio_stop error - no audio playing in other agent session",
                              conf_exten, server_ip, p.stage, p.agent_user, user,
                              data=f"{conf_exten}|{server_ip}|{p.stage}").ends())
    lines = {f"cmd_line_{c}": "" for c in "cdefghijk"}
    await call.insert_manager(server_ip=server_ip, action="Hangup", callerid=f"PLAYHU{call.now:%Y%m%d%H%M%S}",
                              cmd_line_b=f"Channel: {player}"[:100], **lines)
    return success("force_fronter_audio_stop function sent", p.value, p.stage, p.agent_user, user,
                   data=str(call.epoch))


@api_function("force_fronter_audio_stop", valid=_valid, logged_in=False, alone=True)
async def force_fronter_audio_stop(call: Call) -> Line:
    """Stop audio playing in the fronter's conference (spec §9)."""
    lead = await _agent_lead(call)
    other = await _other_agent(call, lead) or await _recent_session(call, lead)
    if other is not None:
        return await _stop_player(call, other)
    if call.p.value == "LOCAL_AND_CCC":
        forwarded = await _send_over_ccc(call, lead)
        if forwarded is not None:
            return forwarded
    return _no_fronter(call)
