"""In-groups of a logged-in agent: change the selection (change_ingroups), count what waits for them.

An in-group list travels in upstream's text form `" G1 G2 G3 -"` (leading space, trailing `-`); the
agent session copies `external_ingroups` into `closer_campaigns` when `manager_ingroup_set='SET'`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa

from openagc.api.functions.media import fit
from openagc.api.pipeline import Call, api_function
from openagc.api.reply import Line, error, success, verbatim
from openagc.store.schema import (
    vicidial_admin_log,
    vicidial_auto_calls,
    vicidial_campaigns,
    vicidial_email_list,
    vicidial_inbound_group_agents,
    vicidial_inbound_groups,
    vicidial_live_agents,
    vicidial_live_inbound_agents,
    vicidial_users,
)

VLA = vicidial_live_agents.c
INGROUP_VALUES = ("CHANGE", "ADD", "REMOVE")
BLENDED_VALUES = ("YES", "NO")
NO_AUTODIAL_METHODS = ("MANUAL", "INBOUND_MAN")
NOT_UPPER = re.compile("[^A-Z]")
AGENT_GROUP_SETTINGS = ("group_weight", "calls_today", "group_grade", "calls_today_filtered", "daily_limit")
# An agent without a vicidial_inbound_group_agents row gets the schema's defaults (upstream: grade 0).
NO_AGENT_SETTINGS = {"group_weight": 0, "calls_today": 0, "group_grade": 1, "calls_today_filtered": 0,
                     "daily_limit": -1}
SET_AS_DEFAULT_NOTE = "User settings set as default"


def group_list(text: str) -> list[str]:
    """Upstream's reading of a group list: drop one trailing `-`, split on single spaces, skip the
    first element (the leading space's empty one), keep elements of 2 characters or more."""
    body = text[:-1] if text.endswith("-") else text
    return [group for group in body.split(" ")[1:] if len(group) >= 2]


def _new_selection(value: str, current: str, requested: Sequence[str], choices: str) -> str:
    """The agent's next in-group list: the choices (CHANGE), or the current list plus (ADD) / minus
    (REMOVE) the requested groups."""
    if value == "ADD":
        groups = [group for group in current.split(" ") if len(group) >= 2]
        for group in requested:
            if group not in groups:
                groups.append(group)
        return " " + "".join(f"{group} " for group in groups) + "-"
    if value == "REMOVE":
        selection = current
        for group in requested:
            selection = selection.replace(f" {group} ", " ")
        return selection
    return choices


def _ingroups_valid(call: Call) -> bool:
    """Step A, after upstream's extra filter that keeps only `A-Z` in value."""
    p = call.p
    p.value = NOT_UPPER.sub("", p.value)
    return p.value in INGROUP_VALUES and p.blended in BLENDED_VALUES and len(p.agent_user.encode()) >= 2


def _ingroups_not_valid(call: Call) -> Line:
    p = call.p
    return error("change_ingroups not valid", p.value, p.blended, p.ingroup_choices, p.agent_user,
                 data=f"{p.value}|{p.blended}|{p.ingroup_choices}")


async def _first_missing_group(call: Call, groups: Sequence[str]) -> str | None:
    """The first group (in request order) with no `vicidial_inbound_groups` row (exact, case-sensitive)."""
    if not groups:
        return None
    G = vicidial_inbound_groups.c
    rows = await call.all(sa.select(G.group_id).where(G.group_id.in_(set(groups))))
    found = {row["group_id"] for row in rows}
    return next((group for group in groups if group not in found), None)


async def _sync_live_inbound(call: Call, previous: str, selection: str) -> list[str]:
    """Make `vicidial_live_inbound_agents` match the new list; returns a description of each change."""
    agent_user = call.p.agent_user
    GA, LA = vicidial_inbound_group_agents.c, vicidial_live_inbound_agents.c
    chosen = group_list(selection)
    changes: list[str] = []
    for group in chosen:
        settings = await call.first(
            sa.select(*(GA[name] for name in AGENT_GROUP_SETTINGS))
            .where(GA.user == agent_user, GA.group_id == group).limit(1)
        )
        values = dict(settings) if settings is not None else dict(NO_AGENT_SETTINGS)
        mine = (LA.user == agent_user, LA.group_id == group)
        present = await call.scalar(
            sa.select(sa.func.count()).select_from(vicidial_live_inbound_agents).where(*mine)
        )
        if present:
            await call.db.execute(sa.update(vicidial_live_inbound_agents).where(*mine).values(**values))
        else:
            await call.db.execute(sa.insert(vicidial_live_inbound_agents).values(
                user=agent_user, group_id=group, last_call_time=call.now, last_call_finish=call.now,
                last_call_time_filtered=call.now, last_call_finish_filtered=call.now, **values,
            ))
        settings_text = " ".join(f"{name}={values[name]}" for name in AGENT_GROUP_SETTINGS)
        changes.append(f"vicidial_live_inbound_agents {agent_user} {group} set {settings_text}")
    for group in group_list(previous):
        if group not in chosen:
            await call.db.execute(sa.delete(vicidial_live_inbound_agents)
                                  .where(LA.user == agent_user, LA.group_id == group))
            changes.append(f"vicidial_live_inbound_agents {agent_user} {group} removed")
    return changes


async def _save_as_default(call: Call, selection: str, blended: str, changes: list[str]) -> None:
    """Store the selection on the agent's user record and audit it in `vicidial_admin_log`."""
    agent_user = call.p.agent_user
    U = vicidial_users.c
    await call.db.execute(sa.update(vicidial_users).where(U.user == agent_user)
                          .values(closer_campaigns=selection, closer_default_blended=blended))
    described = (f"vicidial_users {agent_user} set closer_campaigns='{selection}' "
                 f"closer_default_blended='{blended}'")
    A = vicidial_admin_log.c
    await call.db.execute(sa.insert(vicidial_admin_log).values(
        event_date=call.now, user=call.api_user.user, ip_address=fit(A.ip_address, call.client_ip),
        event_section="USERS", event_type="MODIFY", record_id=fit(A.record_id, agent_user),
        event_code="API MODIFY USER", event_sql="|".join([described, "", *changes]), event_notes="",
    ))


@api_function(
    "change_ingroups",
    valid=_ingroups_valid,
    invalid=_ingroups_not_valid,
    alt_user=False,
)
async def change_ingroups(call: Call) -> Line:
    """Queue a new in-group selection and blended flag for the agent's session (CHANGE, ADD or REMOVE)."""
    p = call.p
    agent = call.agent or {}
    K = vicidial_campaigns.c
    campaign = await call.first(
        sa.select(K.campaign_allow_inbound, K.dial_method)
        .where(K.campaign_id == agent.get("campaign_id")).limit(1)
    )
    if campaign is None or campaign["campaign_allow_inbound"] != "Y":
        raise call.stop(error("campaign does not allow inbound calls", p.agent_user))
    U = vicidial_users.c
    may_change = await call.scalar(
        sa.select(U.change_agent_campaign).where(U.user == call.api_user.user).limit(1)
    )
    if may_change != "1":
        raise call.stop(error("user is not allowed to change agent in-groups", call.api_user.user))
    if p.blended == "YES" and campaign["dial_method"] in NO_AUTODIAL_METHODS:
        raise call.stop(error("campaign dial_method does not allow outbound autodial", p.agent_user,
                              p.blended, data=p.blended).ends())
    requested = group_list(p.ingroup_choices)
    missing = await _first_missing_group(call, requested)
    if missing is not None:
        raise call.stop(error("ingroup does not exist", p.agent_user, missing, p.ingroup_choices,
                              data=f"{missing}|{p.ingroup_choices}").ends())
    if p.value in ("ADD", "REMOVE") and not p.ingroup_choices:
        raise call.stop(error("ingroup_choices are required for ADD and REMOVE values", p.agent_user, p.value,
                              p.ingroup_choices, data=f"{p.value}|{p.ingroup_choices}").ends())
    previous = agent.get("closer_campaigns") or ""
    selection = _new_selection(p.value, previous, requested, p.ingroup_choices)
    blended = "1" if p.blended == "YES" else "0"
    await call.update_agent(external_ingroups=selection, external_blended=blended,
                            external_igb_set_user=fit(VLA.external_igb_set_user, call.api_user.user),
                            manager_ingroup_set="SET")
    changes = await _sync_live_inbound(call, previous, selection)
    default_data = ""
    if p.set_as_default == "YES":
        await _save_as_default(call, selection, blended, changes)
        default_data = SET_AS_DEFAULT_NOTE
    return success("change_ingroups function set", call.api_user.user, p.agent_user, selection, p.blended,
                   default_data, data=f"{selection}|{p.blended}|{default_data}")


# --- calls_in_queue_count --------------------------------------------------------------------------

AGENT_DIRECT = "AGENTDIRECT"


def queue_groups(closer_campaigns: str) -> tuple[list[str], bool]:
    """(the agent's in-group ids, whether any is an AGENTDIRECT queue).

    AGENTDIRECT queues hold calls for one agent only, so they are counted through `agent_only`
    instead of by id (upstream cut the text `AGENTDIRECT` out of every id, leaving ids like `_CHAT`).
    """
    tokens = [token for token in closer_campaigns.split() if token != "-"]
    direct = [token for token in tokens if AGENT_DIRECT in token.upper()]
    return [token for token in tokens if token not in direct], bool(direct)


@api_function("calls_in_queue_count", valid=lambda c: c.p.value == "DISPLAY" and c.identifies_agent())
async def calls_in_queue_count(call: Call) -> Line:
    """Calls (and emails) waiting that could go to this agent: its campaign, in-groups and direct queue."""
    agent = call.agent or {}
    groups, direct = queue_groups(agent.get("closer_campaigns") or "")
    C = vicidial_auto_calls.c
    reachable = [C.campaign_id.in_(groups)] if groups else []
    if agent.get("campaign_id"):
        reachable.append(C.campaign_id == agent["campaign_id"])
    if direct:
        reachable.append(sa.and_(C.campaign_id.contains(AGENT_DIRECT, autoescape=True),
                                 C.agent_only == call.p.agent_user))
    calls = 0
    if reachable:
        calls = await call.scalar(
            sa.select(sa.func.count()).select_from(vicidial_auto_calls)
            .where(C.status == "LIVE", sa.or_(*reachable))
        )
    emails = 0
    if groups:
        E = vicidial_email_list.c
        emails = await call.scalar(
            sa.select(sa.func.count()).select_from(vicidial_email_list)
            .where(E.status.in_(("NEW", "QUEUE")), E.group_id.in_(groups))
        )
    total = int(calls or 0) + int(emails or 0)
    # Upstream prints no line feed here and logs the whole line as the reason.
    return verbatim("SUCCESS", f"SUCCESS: calls_in_queue_count - {total}",
                    lambda t: f"{t('SUCCESS')}: {t('calls_in_queue_count')} - {total}", total)
