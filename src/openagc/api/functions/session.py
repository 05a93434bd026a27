"""Session commands: hang up, disposition, pause/resume, logout, pause code.

Each function writes one command column of the agent's `vicidial_live_agents` rows; the agent's
session (the engine, or upstream's screen in drop-in mode) carries it out. Spec: api-functions-1.md
§1–4 and api-functions-3.md §6.
"""

from __future__ import annotations

import sqlalchemy as sa

from openagc.api.pipeline import VLA, Call, api_function
from openagc.api.reply import Line, error, success
from openagc.store import executor
from openagc.store.schema import vicidial_campaign_statuses, vicidial_statuses

# Agent states in which there is nothing to resume (RESUME is refused).
ACTIVE_STATUSES = ("READY", "QUEUE", "INCALL", "CLOSER")
COUNT_ACTIVE = sa.select(sa.func.count().label("active")).where(  # (an IN list would not go on the executor)
    VLA.user == sa.bindparam("user"), sa.or_(*(VLA.status == status for status in ACTIVE_STATUSES)))
EXTERNAL_STATUS_WIDTH = 255  # vicidial_live_agents.external_status VARCHAR(255)
CALLBACK_COMMENTS_MAX = 200


@api_function("external_hangup", valid=lambda c: len(c.p.value) >= 1 and c.identifies_agent(),
              agent_columns=("user",), confined=True)
async def external_hangup(call: Call) -> Line:
    """Queue a hang-up of the agent's live call (the column holds one character, as upstream's)."""
    await call.update_agent(external_hangup=call.p.value[:1])
    return success("external_hangup function set", call.p.value, call.p.agent_user)


# --- external_status ------------------------------------------------------------------------------
async def _is_callback_status(call: Call, status: str) -> bool:
    """Whether `status` is flagged `scheduled_callback='Y'` system-wide or in the agent's campaign."""
    S = vicidial_statuses.c
    found = await call.scalar(
        sa.select(sa.func.count()).where(S.status == status, S.scheduled_callback == "Y"))
    if found:
        return True
    campaign_id = call.agent["campaign_id"] if call.agent else None
    CS = vicidial_campaign_statuses.c
    found = await call.scalar(sa.select(sa.func.count()).where(
        CS.status == status, CS.campaign_id == campaign_id, CS.scheduled_callback == "Y"))
    return bool(found)


async def _compose_status(call: Call) -> str:
    """Upstream's 5-field command `status!datetime!type!comments!qm` (or the bare status)."""
    p = call.p
    composed = p.value
    callback = False
    if len(p.callback_datetime.encode()) > 12 and await _is_callback_status(call, p.value):
        callback = True
        callback_type = p.callback_type if len(p.callback_type) >= 4 else "ANYONE"
        comments = p.callback_comments[:CALLBACK_COMMENTS_MAX]
        composed = f"{p.value}!{p.callback_datetime}!{callback_type}!{comments}!"
    if p.qm_dispo_code:
        composed = f"{composed}{p.qm_dispo_code}" if callback else f"{composed}!!!!{p.qm_dispo_code}"
    return composed


@api_function("external_status", valid=lambda c: len(c.p.value) >= 1 and c.identifies_agent(),
              agent_columns=("campaign_id",), confined=True)
async def external_status(call: Call) -> Line:
    """Queue a disposition; a callback status carries its date, type and comments, QM its code."""
    call.p.value = await _compose_status(call)
    await call.update_agent(external_status=call.p.value[:EXTERNAL_STATUS_WIDTH])
    return success("external_status function set", call.p.value, call.p.agent_user)


# --- external_pause / logout ----------------------------------------------------------------------
def _exact_value(*allowed: str):
    """Step A for external_pause / logout: an exact documented value (not upstream's substring)
    and an agent named by agent_user (≥1) or alt_user (≥1; the lookup itself needs ≥2)."""
    return lambda c: c.p.value in allowed and c.identifies_agent(agent_min=1, alt_min=1)


@api_function("external_pause", valid=_exact_value("PAUSE", "RESUME"), agent_columns=("user",), confined=True)
async def external_pause(call: Call) -> Line:
    """Queue PAUSE or RESUME as `{value}!{epoch}` (the epoch de-duplicates); RESUME needs a paused agent."""
    if call.p.value == "RESUME":
        busy = await executor.fetch_one(call.db, COUNT_ACTIVE, {"user": call.p.agent_user})
        if busy and busy["active"]:
            refused = error("external_pause agent is not paused", call.p.value, call.p.agent_user)
            raise call.stop(refused.ends())
    await call.update_agent(external_pause=f"{call.p.value}!{call.epoch}")
    return success("external_pause function set", call.p.value, call.epoch, call.p.agent_user,
                   data=str(call.epoch))


@api_function("logout", valid=_exact_value("LOGOUT"), agent_columns=("user",), confined=True)
async def logout(call: Call) -> Line:
    """Queue a logout (after any live call is dispositioned); shares the external_pause column."""
    await call.update_agent(external_pause=call.p.value)
    return success("logout function set", call.p.value, call.epoch, call.p.agent_user, data=str(call.epoch))


# --- pause_code -----------------------------------------------------------------------------------
@api_function("pause_code",
              valid=lambda c: 1 <= len(c.p.value.encode()) <= 6 and c.identifies_agent(), agent_columns=("user",),
              confined=True)
async def pause_code(call: Call) -> Line:
    """Queue a pause code for a paused agent (not checked against the campaign's codes, as upstream)."""
    paused = await call.scalar(sa.select(sa.func.count()).where(
        VLA.user == call.p.agent_user, VLA.status == "PAUSED"))
    if not paused:
        raise call.stop(error("pause_code error - agent is not paused", call.p.agent_user))
    await call.update_agent(external_pause_code=call.p.value)
    return success("pause_code function sent", call.p.agent_user, data=str(call.epoch))
