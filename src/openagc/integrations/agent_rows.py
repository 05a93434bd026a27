"""The rows integrators' events are derived from: agents' views and the log rows a change wrote.

Shared by the engine (inside the transaction it commits) and the stock-VICIdial watcher (between two polls);
`integrations/agent_events.py` turns what is read here into events. Every statement names its columns, so it
runs on upstream's full schema too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.integrations.agent_events import AgentView, Facts
from openagc.store.schema import (
    recording_log,
    vicidial_agent_log,
    vicidial_auto_calls,
    vicidial_callbacks,
    vicidial_closer_log,
    vicidial_list,
    vicidial_live_agents,
    vicidial_log,
    vicidial_users,
)

VLA, U, AL = vicidial_live_agents.c, vicidial_users.c, vicidial_agent_log.c
RL, CB = recording_log.c, vicidial_callbacks.c

_VIEW = (
    sa.select(VLA.user, VLA.status, VLA.lead_id, VLA.campaign_id, U.user_group, VLA.callerid, VLA.uniqueid,
              VLA.channel, VLA.comments, VLA.pause_code, VLA.agent_log_id, AL.status.label("log_status"),
              VLA.server_ip, VLA.conf_exten, VLA.extension)
    .select_from(vicidial_live_agents.outerjoin(vicidial_users, U.user == VLA.user)
                 .outerjoin(vicidial_agent_log, AL.agent_log_id == VLA.agent_log_id))
    .order_by(VLA.live_agent_id)
)
RECORDING_COLUMNS = (RL.recording_id, RL.user, RL.filename, RL.lead_id, RL.length_in_sec, RL.end_time)
CALLBACK_COLUMNS = (CB.callback_id, CB.lead_id, CB.campaign_id, CB.user, CB.user_group, CB.callback_time,
                    CB.recipient, CB.lead_status, CB.comments)


async def views(conn: AsyncConnection, user: str | None = None) -> dict[str, AgentView]:
    """Every logged-in agent's view (or only `user`'s), by user."""
    query = _VIEW if user is None else _VIEW.where(VLA.user == user)
    out: dict[str, AgentView] = {}
    for row in (await conn.execute(query)).mappings():
        out.setdefault(row["user"], AgentView.of(row))
    return out


async def view(conn: AsyncConnection, user: str) -> AgentView | None:
    return (await views(conn, user)).get(user)


async def facts_of(conn: AsyncConnection, before: AgentView | None, after: AgentView | None, *,
                   dispositions: bool | None = None) -> Facts:
    """The log rows behind a change of one agent: dispositions of the cycles it closed, how its call ended, the
    numbers of the leads involved and the in-group of an inbound call. Reads nothing when no call or cycle moved.

    Dispositions are looked for when the agent's cycle, its status or the lead moved, unless the caller knows
    better (`dispositions`: the engine knows whether it gave one)."""
    facts = Facts()
    if before is None and after is None:
        return facts
    if dispositions is None:
        dispositions = before is not None and (after is None or (
            after.agent_log_id, after.log_status, after.lead_id) != (
            before.agent_log_id, before.log_status, before.lead_id))
    if dispositions and before is not None:
        facts.dispositions = await _dispositions(conn, before)
    ended = before.call if before is not None and before.call != (after.call if after else "") else ""
    started = after.call if after is not None and after.call != (before.call if before else "") else ""
    calls: list[AgentView] = [before] if ended and before is not None else []
    if after is not None and (started or (after.answered and before is not None and not before.answered)):
        calls.append(after)  # a call that arrived, or was answered since
    if ended and before is not None and before.answered:
        facts.ends = await _ends(conn, before)
    leads = {v.lead_id for v in calls if v.lead_id} | {int(r["lead_id"]) for r in facts.dispositions}
    if leads:
        facts.numbers = await _numbers(conn, leads)
    inbound = [v for v in calls if v.inbound]
    if inbound:
        facts.groups = await _groups(conn, inbound)
    return facts


async def before_disposition(conn: AsyncConnection, agent_log_id: int) -> tuple[str, int]:
    """(the status of the agent log row `agent_log_id`, the highest callback id): what a disposition is told
    apart by, read in one statement."""
    row = (await conn.execute(sa.select(
        sa.select(AL.status).where(AL.agent_log_id == agent_log_id).scalar_subquery().label("status"),
        sa.select(sa.func.max(CB.callback_id)).scalar_subquery().label("callback_id")))).one()
    return row.status or "", int(row.callback_id or 0)


async def _dispositions(conn: AsyncConnection, before: AgentView) -> list[dict[str, Any]]:
    """The agent's `vicidial_agent_log` rows from its cycle `before` on that carry a status (a disposition), but
    not that cycle's own when it already had its status then."""
    rows = await conn.execute(
        sa.select(AL.agent_log_id, AL.lead_id, AL.status, AL.uniqueid)
        .where(AL.user == before.user, AL.agent_log_id >= before.agent_log_id, AL.lead_id > 0,
               AL.status.is_not(None), AL.status != "")
        .order_by(AL.agent_log_id))
    return [dict(r) for r in rows.mappings()
            if not (int(r["agent_log_id"]) == before.agent_log_id and before.log_status)]


async def _ends(conn: AsyncConnection, call: AgentView) -> dict[str, Any]:
    """uniqueid → its call log row's term_reason and length (closer log for an inbound call, else vicidial_log)."""
    if call.inbound:
        CL = vicidial_closer_log.c
        query = (sa.select(CL.term_reason, CL.length_in_sec).where(CL.uniqueid == call.uniqueid)
                 .order_by(CL.closecallid.desc()).limit(1))
    else:
        VL = vicidial_log.c
        query = sa.select(VL.term_reason, VL.length_in_sec).where(VL.uniqueid == call.uniqueid).limit(1)
    row = (await conn.execute(query)).mappings().first()
    return {call.uniqueid: dict(row)} if row else {}


async def _numbers(conn: AsyncConnection, leads: Collection[int]) -> dict[int, str]:
    L = vicidial_list.c
    rows = await conn.execute(sa.select(L.lead_id, L.phone_number).where(L.lead_id.in_(sorted(leads))))
    return {int(lead): number or "" for lead, number in rows}


async def _groups(conn: AsyncConnection, calls: Iterable[AgentView]) -> dict[str, str]:
    """Caller id → in-group: the call's `vicidial_auto_calls` row while it lasts, else its closer log row."""
    VAC, CL = vicidial_auto_calls.c, vicidial_closer_log.c
    out: dict[str, str] = {}
    for call in calls:
        group = (await conn.execute(sa.select(VAC.campaign_id).where(VAC.callerid == call.callerid).limit(1))).scalar()
        if not group and call.uniqueid not in ("", "0"):
            group = (await conn.execute(sa.select(CL.campaign_id).where(CL.uniqueid == call.uniqueid)
                                        .order_by(CL.closecallid.desc()).limit(1))).scalar()
        out[call.callerid] = group or ""
    return out


async def recordings(conn: AsyncConnection, ids: Collection[int]) -> list[dict[str, Any]]:
    """`recording_log` rows by id, in id order."""
    if not ids:
        return []
    rows = await conn.execute(sa.select(*RECORDING_COLUMNS).where(RL.recording_id.in_(sorted(ids)))
                              .order_by(RL.recording_id))
    return [dict(r) for r in rows.mappings()]


async def new_recordings(conn: AsyncConnection, after_id: int, limit: int = 1000) -> list[dict[str, Any]]:
    rows = await conn.execute(sa.select(*RECORDING_COLUMNS).where(RL.recording_id > after_id)
                              .order_by(RL.recording_id).limit(limit))
    return [dict(r) for r in rows.mappings()]


async def highest(conn: AsyncConnection, column: Any) -> int:
    """The highest value of an id column (0 for an empty table)."""
    return int((await conn.execute(sa.select(sa.func.max(column)))).scalar() or 0)


async def new_callbacks(conn: AsyncConnection, after_id: int, *, user: str | None = None,
                        limit: int = 1000) -> list[dict[str, Any]]:
    """`vicidial_callbacks` rows above `after_id` (only `user`'s when given), in id order."""
    query = sa.select(*CALLBACK_COLUMNS).where(CB.callback_id > after_id, *([CB.user == user] if user else []))
    rows = await conn.execute(query.order_by(CB.callback_id).limit(limit))
    return [dict(r) for r in rows.mappings()]
