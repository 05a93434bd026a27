"""An agent's real-time state as upstream's reports read it off `vicidial_live_agents` and the call tables.

`sub_status` is agent_status's and logged_in_agents' `real_time_sub_status` (RING, DISPO, PREVIEW, 3-WAY, PARK,
DEAD, DIAL or empty); `report_state` is user_group_status's per-agent state (DISPO, PARK, DEAD, DIAL or the live
status), which upstream computes a little differently (it reads the calls of the caller's campaigns only).
Chat sessions are not looked at: openagc serves no chat, so an agent in a chat keeps its plain status.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store.schema import parked_channels, vicidial_agent_log, vicidial_auto_calls, vicidial_live_agents

VAC, VLA, PC = vicidial_auto_calls.c, vicidial_live_agents.c, parked_channels.c

# Every column the reports read from a live agent row.
AGENT_COLUMNS = (VLA.user, VLA.status, VLA.callerid, VLA.lead_id, VLA.campaign_id, VLA.calls_today,
                 VLA.agent_log_id, VLA.on_hook_agent, VLA.ring_callerid, VLA.preview_lead_id, VLA.conf_exten,
                 VLA.comments)


async def pause_code(conn: AsyncConnection, user: str, agent_log_id: int | None) -> str:
    """The `sub_status` of the agent's current `vicidial_agent_log` row (its pause code), or ''."""
    L = vicidial_agent_log.c
    found = (await conn.execute(sa.select(L.sub_status).where(L.user == user, L.agent_log_id == agent_log_id)
                                .limit(1))).first()
    return (found.sub_status or "") if found else ""


async def _parked(conn: AsyncConnection, callerid: str) -> bool:
    n = await conn.execute(sa.select(sa.func.count()).select_from(parked_channels).where(PC.channel_group == callerid))
    return (n.scalar() or 0) > 0


async def _dialing(conn: AsyncConnection, callerid: str) -> bool:
    """A manual dial not answered yet: its auto-call row has neither a uniqueid nor a channel (under 5 characters)."""
    call = (await conn.execute(sa.select(VAC.uniqueid, VAC.channel).where(VAC.callerid == callerid).limit(1))).first()
    return call is not None and len(call.uniqueid or "") < 5 and len(call.channel or "") < 5


def _plain(comments: str) -> bool:
    """A phone call (not a chat or an email session, which upstream's DEAD/DIAL checks leave alone)."""
    upper = comments.upper()
    return "CHAT" not in upper and "EMAIL" not in upper


async def sub_status(conn: AsyncConnection, agent: Mapping[str, Any]) -> tuple[str, int]:
    """(real_time_sub_status, the lead id shown: the preview lead while one is previewed)."""
    status, lead_id = agent["status"], int(agent["lead_id"] or 0)
    callerid, comments = agent["callerid"] or "", agent["comments"] or ""
    state = ""
    if agent["on_hook_agent"] == "Y" and len(agent["ring_callerid"] or "") > 18:
        state = "RING"
    if status == "PAUSED" and lead_id > 0:
        state = "DISPO"
    if status == "PAUSED" and int(agent["preview_lead_id"] or 0) > 0:
        state, lead_id = "PREVIEW", int(agent["preview_lead_id"])
    if status != "INCALL":
        return state, lead_id
    if lead_id > 0:
        on_lead = await conn.execute(sa.select(sa.func.count()).select_from(vicidial_live_agents)
                                     .where(VLA.lead_id == lead_id, VLA.status == "INCALL"))
        if (on_lead.scalar() or 0) > 1:
            state = "3-WAY"
    if await _parked(conn, callerid):
        return "PARK", lead_id
    if _plain(comments):
        calls = await conn.execute(sa.select(sa.func.count()).select_from(vicidial_auto_calls)
                                   .where(VAC.callerid == callerid))
        if not calls.scalar():
            state = "DEAD"
        elif comments == "MANUAL" and await _dialing(conn, callerid):
            state = "DIAL"
    return state, lead_id


async def report_state(conn: AsyncConnection, agent: Mapping[str, Any], live_callerids: str) -> str:
    """user_group_status's state of one agent; `live_callerids` is upstream's `callerid|callerid|…|` text of the
    calls in the caller's campaigns (an agent in a call whose caller id is not among them is DEAD)."""
    status, callerid, comments = agent["status"] or "", agent["callerid"] or "", agent["comments"] or ""
    if status in ("READY", "PAUSED") and int(agent["lead_id"] or 0) > 0:
        return "DISPO"
    if status != "INCALL":
        return status
    if await _parked(conn, callerid):
        return "PARK"
    if not _plain(comments):
        return status
    if f"{callerid}|" not in live_callerids:
        return "DEAD"
    if comments == "MANUAL" and await _dialing(conn, callerid):
        return "DIAL"
    return status


def tally(states: list[str]) -> dict[str, int]:
    """Upstream's counters over agents' report states (in calls: INCALL, DIAL, QUEUE, PARK; waiting: READY,
    CLOSER)."""
    return {
        "agents_logged_in": len(states),
        "agents_in_calls": sum(1 for s in states if s in ("INCALL", "DIAL", "QUEUE", "MQUEUE", "PARK")),
        "agents_waiting": sum(1 for s in states if s in ("READY", "CLOSER")),
        "agents_paused": sum(1 for s in states if s == "PAUSED"),
        "agents_in_dead_calls": sum(1 for s in states if s == "DEAD"),
        "agents_in_dispo": sum(1 for s in states if s == "DISPO"),
        "agents_in_dial": sum(1 for s in states if s == "DIAL"),
    }
