"""`agent_status` (one agent's real-time state) and `logged_in_agents` (every agent the caller may see)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from openagc.companion.answer import Answer, records, refusal, success, table
from openagc.companion.realtime import AGENT_COLUMNS, pause_code, sub_status
from openagc.companion.registry import Context, companion_function
from openagc.store.schema import (
    vicidial_auto_calls,
    vicidial_list,
    vicidial_live_agents,
    vicidial_user_log,
    vicidial_users,
)

U, VLA = vicidial_users.c, vicidial_live_agents.c
LIST_LIMIT = 10000  # a pipe-delimited filter this long or longer is ignored (upstream)

STATUS_COLUMNS = ("status", "callerid", "lead_id", "campaign_id", "calls_today", "full_name", "user_group",
                  "user_level", "pause_code", "real_time_sub_status", "phone_number", "vendor_lead_code",
                  "session_id")
LOGGED_IN_COLUMNS = ("user", "campaign_id", "session_id", "status", "lead_id", "callerid", "calls_today",
                     "full_name", "user_group", "user_level")
SUB_STATUS_COLUMNS = ("pause_code", "sub_status")


def stage_name(stage: str) -> str:
    """The stage as the log row records it: csv or tab, anything else pipe."""
    return stage if stage in ("csv", "tab") else "pipe"


def pipe_list(text: str) -> list[str] | None:
    """A pipe-delimited filter parameter, or None when not given (or over upstream's length limit)."""
    return text.split("|") if 0 < len(text) < LIST_LIMIT else None


async def _phone_and_vendor_code(ctx: Context, lead_id: int, callerid: str) -> tuple[str, str]:
    """The lead's phone number and vendor lead code; the live call's number wins when it has one."""
    phone = vendor = ""
    if lead_id > 0:
        L = vicidial_list.c
        lead = (await ctx.conn.execute(sa.select(L.phone_number, L.vendor_lead_code).where(L.lead_id == lead_id)
                                       .limit(1))).first()
        if lead is not None:
            phone, vendor = lead.phone_number or "", lead.vendor_lead_code or ""
    if callerid:
        VAC = vicidial_auto_calls.c
        call = (await ctx.conn.execute(sa.select(VAC.phone_number).where(VAC.callerid == callerid).limit(1))).first()
        if call is not None and len(call.phone_number or "") > 3:
            phone = call.phone_number
    return phone, vendor


async def _login_ip(ctx: Context, user: str) -> str:
    """The address of the agent's latest LOGIN of the last two days (more than 3 characters), or ''."""
    L = vicidial_user_log.c
    ip = (await ctx.conn.execute(
        sa.select(L.computer_ip).where(L.user == user, L.event == "LOGIN", L.event_date >= ctx.now - timedelta(days=2))
        .order_by(L.event_date.desc(), L.user_log_id.desc()).limit(1))).scalar()
    return ip if ip and len(ip) > 3 else ""


@companion_function("agent_status", denied="agent_status USER DOES NOT HAVE PERMISSION TO GET AGENT INFO")
async def agent_status(ctx: Context) -> Answer:
    p, me = ctx.p, ctx.caller
    if not 0 < len(p.agent_user) < 100:
        return refusal("agent_status INVALID SEARCH PARAMETERS", me.user, p.agent_user)
    user = (await ctx.conn.execute(sa.select(U.full_name, U.user_group, U.user_level)
                                   .where(U.user == p.agent_user, me.sees_group(U.user_group)).limit(1))).first()
    if user is None:
        return refusal("agent_status AGENT NOT FOUND", me.user, p.agent_user)
    found = await ctx.conn.execute(sa.select(*AGENT_COLUMNS).where(VLA.user == p.agent_user).limit(1))
    agent = found.mappings().first()
    if agent is None:
        return refusal("agent_status AGENT NOT LOGGED IN", me.user, p.agent_user)
    state, lead_id = await sub_status(ctx.conn, agent)
    callerid = agent["callerid"] or ""
    phone, vendor = await _phone_and_vendor_code(ctx, lead_id, callerid)
    values: list[object] = [
        agent["status"], callerid, lead_id, agent["campaign_id"] or "", int(agent["calls_today"] or 0),
        user.full_name or "", user.user_group or "", int(user.user_level or 0),
        await pause_code(ctx.conn, p.agent_user, agent["agent_log_id"]), state, phone, vendor,
        agent["conf_exten"] or "",
    ]
    columns = list(STATUS_COLUMNS)
    record = dict(zip(columns, values, strict=True))
    if p.include_ip == "YES":
        columns.append("computer_ip")
        ip = await _login_ip(ctx, p.agent_user)
        record["computer_ip"] = ip
        if ip:  # upstream adds the field only when an address was found (the header names it either way)
            values.append(ip)
    output = table(columns[:len(values)], [values], stage=p.stage, header="")
    if p.header == "YES":
        output = table(columns, [], stage=p.stage, header="YES") + output
    return success(output, f"agent_status {output}", f"{me.user}|{p.agent_user}|{stage_name(p.stage)}", [record])


@companion_function("logged_in_agents", denied="logged_in_agents USER DOES NOT HAVE PERMISSION TO GET AGENT INFO")
async def logged_in_agents(ctx: Context) -> Answer:
    p, me = ctx.p, ctx.caller
    campaigns, groups = pipe_list(p.campaigns), pipe_list(p.user_groups)
    query = sa.select(*AGENT_COLUMNS).where(me.sees_campaign(VLA.campaign_id)).order_by(VLA.live_agent_id)
    if campaigns is not None:
        query = query.where(VLA.campaign_id.in_(campaigns))
    agents = (await ctx.conn.execute(query)).mappings().all()
    sub = p.show_sub_status == "YES"
    columns = LOGGED_IN_COLUMNS + (SUB_STATUS_COLUMNS if sub else ())
    rows: list[list[object]] = []
    for agent in agents:
        who = sa.select(U.full_name, U.user_group, U.user_level).where(U.user == agent["user"],
                                                                       me.sees_group(U.user_group))
        if groups is not None:
            who = who.where(U.user_group.in_(groups))
        user = (await ctx.conn.execute(who.limit(1))).first()
        if user is None:
            continue
        lead_id, extra = int(agent["lead_id"] or 0), []
        if sub:
            code = await pause_code(ctx.conn, agent["user"], agent["agent_log_id"])
            state, lead_id = await sub_status(ctx.conn, agent)
            extra = [code, state]
        rows.append([agent["user"], agent["campaign_id"] or "", agent["conf_exten"] or "", agent["status"], lead_id,
                     agent["callerid"] or "", int(agent["calls_today"] or 0), user.full_name or "",
                     user.user_group or "", int(user.user_level or 0), *extra])
    if not rows:
        return refusal("logged_in_agents NO LOGGED IN AGENTS", me.user, p.agent_user)
    output = table(columns, rows, stage=p.stage, header=p.header)
    return success(output, f"logged_in_agents {output}", f"{me.user}|{len(agents)}|{stage_name(p.stage)}",
                   records(columns, rows))
