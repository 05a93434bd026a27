"""`agent_campaigns`: the active campaigns an agent's user group allows, and the active in-groups those campaigns
take calls from."""

from __future__ import annotations

import sqlalchemy as sa

from openagc.companion.access import Permission, allowed_campaigns
from openagc.companion.answer import Answer, failure, refusal, success, table
from openagc.companion.registry import Context, companion_function
from openagc.store.schema import vicidial_campaigns, vicidial_inbound_groups, vicidial_user_groups, vicidial_users

U, G, C, IG = vicidial_users.c, vicidial_user_groups.c, vicidial_campaigns.c, vicidial_inbound_groups.c
COLUMNS = ("user", "allowed_campaigns_list", "allowed_ingroups_list")


@companion_function("agent_campaigns", denied="agent_campaigns USER DOES NOT HAVE PERMISSION TO GET AGENT INFO",
                    permission=Permission(min_level=8, modify_users=True))
async def agent_campaigns(ctx: Context) -> Answer:
    p, me, conn = ctx.p, ctx.caller, ctx.conn
    group = (await conn.execute(sa.select(U.user_group).where(U.user == p.agent_user, me.sees_group(U.user_group))
                                .limit(1))).first()
    if group is None:
        reason = "agent_campaigns AGENT USER DOES NOT EXIST"
        return failure(reason, f"ERROR: {reason}: |{me.user}|{p.agent_user}\n", me.user, p.agent_user,
                       data=p.agent_user)
    allowed_text = (await conn.execute(sa.select(G.allowed_campaigns).where(G.user_group == group.user_group)
                                       .limit(1))).scalar()
    allowed = allowed_campaigns(allowed_text)
    query = sa.select(C.campaign_id, C.closer_campaigns).where(C.active == "Y").order_by(C.campaign_id)
    if allowed is not None:
        query = query.where(C.campaign_id.in_(sorted(allowed)))
    if p.campaign_id:
        query = query.where(C.campaign_id == p.campaign_id)
    campaigns = (await conn.execute(query)).all()
    if not campaigns:
        return refusal("agent_campaigns THIS AGENT USER HAS NO AVAILABLE CAMPAIGNS", p.agent_user, me.user, "")
    closers = {g for c in campaigns for g in (c.closer_campaigns or "").removesuffix("-").split(" ") if g}
    ingroups: list[str] = []
    if closers:
        found = sa.select(IG.group_id).where(IG.active == "Y", IG.group_id.in_(sorted(closers)))
        if p.ignore_agentdirect == "Y":
            found = found.where(IG.group_id.not_like("AGENTDIRECT%"))
        ingroups = list((await conn.execute(found.order_by(IG.group_id))).scalars())
    campaign_list = "-".join(c.campaign_id for c in campaigns)
    ingroup_list = "-".join(ingroups)
    output = table(COLUMNS, [[p.agent_user, campaign_list, ingroup_list]], stage=p.stage, header=p.header)
    record = {"user": p.agent_user, "allowed_campaigns": [c.campaign_id for c in campaigns],
              "allowed_ingroups": ingroups}
    return success(output, "agent_campaigns RESULTS FOUND: 1",
                   f"{me.user}|{p.agent_user}|{campaign_list}|{ingroup_list}", [record])
