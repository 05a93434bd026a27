"""`agent_ingroup_info`: a logged-in agent's in-groups and outbound auto-dial, as text (`stage=text`) or as
upstream's HTML fragment (the real-time report's in-group panel; `stage=change` adds the change form when the
caller may change agents' campaigns).

Values read from the database are HTML-escaped in the fragment (upstream printed them raw into a page).
"""

from __future__ import annotations

from html import escape

import sqlalchemy as sa

from openagc.api.language import translator
from openagc.api.reply import Translate
from openagc.companion.access import Permission
from openagc.companion.answer import Answer, failure, success
from openagc.companion.registry import Context, companion_function
from openagc.store.schema import vicidial_campaigns, vicidial_inbound_groups, vicidial_live_agents, vicidial_users

U, VLA, C, IG = vicidial_users.c, vicidial_live_agents.c, vicidial_campaigns.c, vicidial_inbound_groups.c

PHRASES = (
    "Agent", "Campaign", "Close", "This is a Phone On-Hook Agent", "Maximum Ring Time", "Selected In-Groups",
    "No In-Groups Allowed", "Change, Add, Remove", "CHANGE - Set in-groups to those selected above",
    "ADD - Add in-groups selected above to agent selected",
    "REMOVE - Remove in-groups selected above from agent selected", "Blended Outbound Autodial", "Yes", "No",
    "Set As User Default", "Manager In-Group Override", "Submit Changes", "SELECTED INGROUPS", "OUTBOUND AUTODIAL",
    "MANAGER OVERRIDE", "MANAGER",
)


def _groups(text: str | None) -> list[str]:
    """Upstream's split of a ` A B -` list: a trailing `-` dropped, then every space-separated piece."""
    value = text or ""
    return (value[:-1] if value.endswith("-") else value).split(" ")


def _invalid(ctx: Context) -> Answer:
    p = ctx.p
    reason = "agent_ingroup_info INVALID USER ID"
    return failure(reason, f"ERROR: {reason} - {p.agent_user}|{ctx.caller.user}\n", p.agent_user, ctx.caller.user,
                   data=p.session_id)


async def _name(ctx: Context, column: sa.Column, key: sa.Column, value: str) -> str:
    return (await ctx.conn.execute(sa.select(column).where(key == value).limit(1))).scalar() or ""


def _change_form(t: Translate, agent_user: str, agent: sa.RowMapping, options: list[tuple[str, str, bool]],
                 blended: str, autodial: bool, may_set_default: bool, manager_name: str) -> str:
    out = "<TABLE CELLPADDING=0 CELLSPACING=3 BORDER=0>\n"
    if agent["on_hook_agent"] == "Y":
        out += (f"<TR><TD ALIGN=CENTER VALIGN=TOP COLSPAN=2><B>{t('This is a Phone On-Hook Agent')}</B> &nbsp; "
                f"{t('Maximum Ring Time')}:  {agent['on_hook_ring_time']}</TD></TR>\n")
    out += f"<TR><TD ALIGN=RIGHT VALIGN=TOP>{t('Selected In-Groups')}: </TD><TD ALIGN=LEFT>\n"
    out += f'<INPUT TYPE=HIDDEN NAME=agent_user ID=agent_user value="{agent_user}">\n'
    out += "<SELECT SIZE=10 NAME=ingroup_new_selections ID=ingroup_new_selections multiple>\n"
    for group_id, name, selected in options:
        out += f'<option value="{escape(group_id)}"{" SELECTED" if selected else ""}>{escape(group_id)} - ' \
               f'{escape(name)}</option>\n'
    if not options:
        out += f'<option value="">{t("No In-Groups Allowed")}</option>\n'
    out += "</SELECT><BR></TD></TR>\n"
    out += f"<TR><TD ALIGN=RIGHT>{t('Change, Add, Remove')}:\n</TD><TD ALIGN=LEFT>\n"
    out += "<SELECT SIZE=1 NAME=ingroup_add_remove_change ID=ingroup_add_remove_change>\n"
    out += f'<option value="CHANGE">{t("CHANGE - Set in-groups to those selected above")}</option>\n'
    out += f'<option value="ADD">{t("ADD - Add in-groups selected above to agent selected")}</option>\n'
    out += f'<option value="REMOVE">{t("REMOVE - Remove in-groups selected above from agent selected")}</option>\n'
    out += "</SELECT>\n</TD></TR>\n"
    out += f"<TR><TD ALIGN=RIGHT>{t('Blended Outbound Autodial')}:\n</TD><TD ALIGN=LEFT>\n"
    out += f"<SELECT SIZE=1 NAME=blended ID=blended{'' if autodial else ' DISABLED'}>\n"
    out += f'<option value="YES"{" SELECTED" if blended == "Y" else ""}>{t("Yes")}</option>\n'
    out += f'<option value="NO"{" SELECTED" if blended == "N" else ""}>{t("No")}</option>\n'
    out += "</SELECT>\n</TD></TR>\n"
    out += f"<TR><TD ALIGN=RIGHT>{t('Set As User Default')}:\n</TD><TD ALIGN=LEFT>\n"
    out += f"<SELECT SIZE=1 NAME=set_as_default ID=set_as_default{'' if may_set_default else ' DISABLED'}>\n"
    out += f'<option value="YES">{t("Yes")}</option>\n<option value="NO" SELECTED>{t("No")}</option>\n'
    out += "</SELECT>\n</TD></TR>\n"
    if agent["manager_ingroup_set"] in ("SET", "Y"):
        out += f"<TR><TD ALIGN=RIGHT>{t('Manager In-Group Override')}:\n</TD><TD ALIGN=LEFT>\n"
        out += (f"{agent['manager_ingroup_set']} - {escape(agent['external_igb_set_user'] or '')} - "
                f"{escape(manager_name)}\n</TD></TR>\n")
    out += "<TR><TD ALIGN=CENTER COLSPAN=2>\n"
    out += (f'<INPUT TYPE=BUTTON NAME=SUBMIT ID=SUBMIT VALUE="{t("Submit Changes")}" '
            f"onclick=\"submit_ingroup_changes('{agent_user}')\">\n")
    out += "</TD></TR>\n</TABLE>\n</TD></TR></TABLE>\n"
    return out


def _info_table(t: Translate, agent: sa.RowMapping, options: list[tuple[str, str, bool]], blended: str) -> str:
    out = "<TABLE CELLPADDING=0 CELLSPACING=3 BORDER=0>\n"
    for group_id, name, selected in options:
        out += f"<TR><TD>{escape(group_id)}{' *' if selected else ''}</TD><TD>{escape(name)}</TD></TR>\n"
    if not options:
        out += f"<TR><TD>{t('No In-Groups Allowed')}</TD></TR>\n"
    out += "</TABLE><BR>\n"
    out += f"{t('SELECTED INGROUPS')}: {escape(agent['closer_campaigns'] or '')}<BR>\n"
    out += f"{t('OUTBOUND AUTODIAL')}: {blended}<BR>\n"
    out += f"{t('MANAGER OVERRIDE')}: {agent['manager_ingroup_set'] or ''}<BR>\n"
    out += f"{t('MANAGER')}: {escape(agent['external_igb_set_user'] or '')}<BR>\n"
    return out + "\n</TD></TR></TABLE>\n"


@companion_function("agent_ingroup_info", denied="agent_ingroup_info USER DOES NOT HAVE PERMISSION TO GET AGENT INFO",
                    permission=Permission(view_reports=False))
async def agent_ingroup_info(ctx: Context) -> Answer:
    p, me, conn = ctx.p, ctx.caller, ctx.conn
    visible = await conn.execute(sa.select(U.full_name).where(U.user == p.agent_user, me.sees_group(U.user_group))
                                 .limit(1))
    user = visible.first()
    agent = (await conn.execute(sa.select(VLA.campaign_id, VLA.closer_campaigns, VLA.outbound_autodial,
                                          VLA.manager_ingroup_set, VLA.external_igb_set_user, VLA.on_hook_agent,
                                          VLA.on_hook_ring_time).where(VLA.user == p.agent_user).limit(1))
             ).mappings().first()
    if user is None or agent is None:
        return _invalid(ctx)
    campaign = (await conn.execute(sa.select(C.closer_campaigns, C.campaign_allow_inbound, C.dial_method)
                                   .where(C.campaign_id == agent["campaign_id"]).limit(1))).first()
    inbound = campaign is not None and campaign.campaign_allow_inbound == "Y" and campaign.dial_method != "MANUAL"
    autodial = campaign is not None and campaign.dial_method not in ("MANUAL", "INBOUND_MAN")
    chosen = [g for g in _groups(agent["closer_campaigns"]) if len(g) > 1]
    options = []
    for index, group_id in enumerate(_groups(campaign.closer_campaigns if inbound else "")):
        if len(group_id) > 1:  # upstream marks selections from the second piece on (the first is the blank)
            name = await _name(ctx, IG.group_name, IG.group_id, group_id)
            options.append((group_id, name, index > 0 and group_id in chosen))
    blended = agent["outbound_autodial"] or ""
    change = p.stage == "change" and me.change_agent_campaign
    manager = agent["external_igb_set_user"] or ""
    manager_name = ""
    if change and agent["manager_ingroup_set"] in ("SET", "Y"):
        manager_name = await _name(ctx, U.full_name, U.user, manager)
    record = {
        "agent_user": p.agent_user, "full_name": user.full_name or "", "campaign_id": agent["campaign_id"] or "",
        "selected_ingroups": chosen, "outbound_autodial": blended,
        "manager_override": agent["manager_ingroup_set"] or "", "manager": manager,
        "on_hook_agent": agent["on_hook_agent"] or "", "on_hook_ring_time": agent["on_hook_ring_time"],
        "ingroups": [{"group_id": g, "group_name": n, "selected": s} for g, n, s in options],
        "may_change_ingroups": me.change_agent_campaign, "may_set_default": me.modify_users,
        "autodial_allowed": autodial,
    }
    data = f"{p.agent_user}|{p.stage}"
    if p.stage == "text":
        text = (f"SUCCESS:  - {data}\nSELECTED INGROUPS: {agent['closer_campaigns'] or ''}\n"
                f"OUTBOUND AUTODIAL: {blended}\nMANAGER OVERRIDE: {agent['manager_ingroup_set'] or ''}\n"
                f"MANAGER: {manager}\n\n")
        return success(text, "", data, [record])
    t = await translator(conn, ctx.system, me.selected_language, PHRASES)
    out = '<TABLE WIDTH=680 CELLPADDING=0 CELLSPACING=5 BGCOLOR="#D9E6FE"><TR><TD ALIGN=LEFT>\n'
    out += f"{t('Agent')}: {p.agent_user} - {escape(user.full_name or '')} </TD><TD>\n"
    out += f" &nbsp; {t('Campaign')}: {escape(agent['campaign_id'] or '')}</TD><TD>\n"
    out += (f'<a href="#" onclick="hide_ingroup_info();">{t("Close")}</a></TD></TR><TR><TD COLSPAN=3 '
            'BGCOLOR="#CCCCFF">\n')
    if change:
        out += _change_form(t, p.agent_user, agent, options, blended if autodial else "N", autodial, me.modify_users,
                            manager_name)
    else:
        out += _info_table(t, agent, options, blended)
    return success(out, "", data, [record])
