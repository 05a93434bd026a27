"""`in_group_status` and `user_group_status`: real-time counts of calls and agents for a set of in-groups or user
groups (one summary row for the whole set)."""

from __future__ import annotations

import sqlalchemy as sa

from openagc.companion.access import ApiCaller
from openagc.companion.agents import pipe_list, stage_name
from openagc.companion.answer import Answer, refusal, success, table
from openagc.companion.realtime import AGENT_COLUMNS, report_state, tally
from openagc.companion.registry import Context, companion_function
from openagc.store.schema import (
    vicidial_auto_calls,
    vicidial_inbound_groups,
    vicidial_live_agents,
    vicidial_live_inbound_agents,
    vicidial_users,
)

U, VLA, VAC, IG = vicidial_users.c, vicidial_live_agents.c, vicidial_auto_calls.c, vicidial_inbound_groups.c
LIA = vicidial_live_inbound_agents.c
USER_GROUP_COLUMNS = ("usergroups", "calls_waiting", "agents_logged_in", "agents_in_calls", "agents_waiting",
                      "agents_paused", "agents_in_dead_calls", "agents_in_dispo", "agents_in_dial")
IN_GROUP_COLUMNS = ("ingroups", "total_calls", "calls_waiting", "agents_logged_in", "agents_in_calls",
                    "agents_waiting", "agents_paused", "agents_in_dispo", "agents_in_dial")


async def _calls(ctx: Context, me: ApiCaller, *where: sa.ColumnElement[bool]) -> list[sa.Row]:
    """The live calls of the caller's campaigns and of the in-groups of its viewable user groups (every call when
    its campaigns are not restricted)."""
    query = sa.select(VAC.callerid, VAC.status).where(*where).order_by(VAC.auto_call_id)
    if me.campaigns is not None:
        ingroups = sa.select(IG.group_id).where(
            me.sees_group(IG.user_group))
        query = query.where(sa.or_(VAC.campaign_id.in_(sorted(me.campaigns)), VAC.campaign_id.in_(ingroups)))
    return list((await ctx.conn.execute(query)).all())


def _waiting(calls: list[sa.Row]) -> int:
    return sum(1 for c in calls if "LIVE" in (c.status or "").upper())


def _agents(me: ApiCaller, *where: sa.ColumnElement[bool]) -> sa.Select:
    return (sa.select(*AGENT_COLUMNS).select_from(vicidial_live_agents.join(vicidial_users, U.user == VLA.user))
            .where(me.sees_group(U.user_group), *where).order_by(VLA.live_agent_id))


@companion_function("user_group_status",
                    denied="user_group_status USER DOES NOT HAVE PERMISSION TO GET USER GROUP INFO")
async def user_group_status(ctx: Context) -> Answer:
    p, me = ctx.p, ctx.caller
    groups = pipe_list(p.user_groups)
    if groups is None:
        return refusal("user_group_status INVALID SEARCH PARAMETERS", me.user, p.user_groups)
    calls = await _calls(ctx, me)
    live = "".join(f"{c.callerid}|" for c in calls)
    agents = (await ctx.conn.execute(_agents(me, U.user_group.in_(groups)))).mappings().all()
    counts = tally([await report_state(ctx.conn, agent, live) for agent in agents])
    row = [" ".join(groups), _waiting(calls), *(counts[c] for c in USER_GROUP_COLUMNS[2:])]
    output = table(USER_GROUP_COLUMNS, [row], stage=p.stage, header=p.header)
    record = dict(zip(USER_GROUP_COLUMNS, [groups, *row[1:]], strict=True))
    return success(output, f"user_group_status AGENTS FOUND: {len(agents)}",
                   f"{me.user}|{p.user_groups}|{stage_name(p.stage)}", [record])


@companion_function("in_group_status", denied="in_group_status USER DOES NOT HAVE PERMISSION TO GET IN-GROUP INFO")
async def in_group_status(ctx: Context) -> Answer:
    p, me = ctx.p, ctx.caller
    groups = pipe_list(p.in_groups)
    if groups is None:
        return refusal("in_group_status INVALID SEARCH PARAMETERS", me.user, p.in_groups)
    calls = await _calls(ctx, me, VAC.campaign_id.in_(groups))
    taking = sa.select(LIA.user).where(LIA.group_id.in_(groups)).distinct()
    agents = (await ctx.conn.execute(_agents(me, VLA.user.in_(taking)))).mappings().all()
    states = ["DISPO" if a["status"] in ("READY", "PAUSED") and int(a["lead_id"] or 0) > 0 else a["status"]
              for a in agents]
    counts = tally(states)
    row = [" ".join(groups), len(calls), _waiting(calls), *(counts[c] for c in IN_GROUP_COLUMNS[3:])]
    output = table(IN_GROUP_COLUMNS, [row], stage=p.stage, header=p.header)
    record = dict(zip(IN_GROUP_COLUMNS, [groups, *row[1:]], strict=True))
    return success(output, f"in_group_status CALLS FOUND: {len(agents)}",
                   f"{me.user}|{p.in_groups}|{stage_name(p.stage)}", [record])
