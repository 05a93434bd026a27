"""Manual dialling: `external_dial`, `preview_dial_action` and `switch_lead`.

Each writes one command column of the agent's `vicidial_live_agents` row (or a
`vicidial_manual_dial_queue` row) that the agent session carries out later; none of them places a
call or touches `vicidial_list` itself. Specs: api-functions-1.md §9, api-functions-2.md §1,
api-functions-3.md §4; differences from upstream are in docs/compat/dial.md.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from openagc.api.numbers import whole
from openagc.api.pipeline import Call, api_function
from openagc.api.reply import Line, error, notice, success, verbatim
from openagc.store import executor
from openagc.store.schema import (
    groups_alias,
    vicidial_campaigns,
    vicidial_inbound_groups,
    vicidial_list,
    vicidial_live_agents,
    vicidial_manual_dial_queue,
    vicidial_users,
)

VC = vicidial_campaigns.c
VL = vicidial_list.c
VLA = vicidial_live_agents.c
MDQ = vicidial_manual_dial_queue.c

MANUALNEXT = "MANUALNEXT"  # external_dial's "Dial Next Number" value
DIAL_COLUMN_WIDTH = 100  # vicidial_live_agents.external_dial / vicidial_manual_dial_queue.external_dial
LEAD_ID_MAX = 4294967295  # vicidial_list.lead_id is INT UNSIGNED
PREVIEW_ACTIONS = frozenset({"SKIP", "DIALONLY", "ALTDIAL", "ADR3DIAL", "FINISH"})
ALT_NUMBER_ACTIONS = frozenset({"ALTDIAL", "ADR3DIAL", "FINISH"})
INBOUND_LEAD_SEARCH = frozenset({"LIVE_CALL_INBOUND", "LIVE_CALL_INBOUND_AND_MANUAL"})
# alt_dial word → the vicidial_list column holding that number (anything else dials phone_number)
LEAD_NUMBER_COLUMNS = {"MAIN": VL.phone_number, "ALT": VL.alt_phone, "ADDR3": VL.address3}
_NON_DIGITS = re.compile(r"[^0-9]")
_PHP_NUMERIC = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


# --- shared helpers -------------------------------------------------------------------------------

def _digits(text: str | None) -> str:
    return _NON_DIGITS.sub("", text or "")


def _blen(text: str) -> int:
    """Byte length, as upstream's strlen() counts."""
    return len(text.encode())


def _lead_key(lead_id: str) -> int | None:
    """The lead id to look up (`lead_id` is digits only), or None when no lead can have it."""
    if not lead_id:
        return None
    number = whole(lead_id)
    return number if 0 < number <= LEAD_ID_MAX else None


def _callerid_number_ok(text: str | None) -> bool:
    """Upstream's `caller_id_number < 4` test, inverted: a number (PHP numeric string) of at least 4.

    Empty, NULL and non-numeric text fail, as under PHP 7; `123` passes (a value, not a length).
    """
    if text is None or not _PHP_NUMERIC.fullmatch(text):
        return False
    return float(text) >= 4


U = vicidial_users.c


def _dial_checks(*campaign_columns: sa.Column, paused: sa.ColumnElement[bool]) -> sa.Select:
    """The checks a manual dial makes, read in one statement (parameters `user`, `campaign_id`): the agent's
    campaign's `campaign_columns` (None when the campaign does not exist), `paused`: whether one of the agent's
    `vicidial_live_agents` rows is one the condition selects, and `may_dial`: whether the agent's
    `vicidial_users.agentcall_manual` is exactly '1' (2–5 do not count). Each is a read with no effect, so reading
    them together answers as reading each at its step would."""
    campaign = VC.campaign_id == sa.bindparam("campaign_id")
    return sa.select(
        *(sa.select(c).where(campaign).limit(1).scalar_subquery().label(c.key) for c in campaign_columns),
        sa.exists().where(VLA.user == sa.bindparam("user"), paused).label("paused"),
        sa.exists().where(U.user == sa.bindparam("user"), U.agentcall_manual == "1").label("may_dial"),
    )


#: external_dial's checks: its campaign's API dial mode; a paused row without a lead (what STANDARD needs).
EXTERNAL_DIAL_CHECKS = _dial_checks(VC.api_manual_dial, paused=sa.and_(VLA.status == "PAUSED", VLA.lead_id < 1))
#: preview_dial_action's checks: its campaign's preview settings; a paused row.
PREVIEW_CHECKS = _dial_checks(VC.manual_preview_dial, VC.alt_number_dialing, paused=VLA.status == "PAUSED")


async def _checks(call: Call, which: sa.Select) -> dict:
    """`which` (`EXTERNAL_DIAL_CHECKS` …) for the request's agent and the campaign of its live row."""
    row = await executor.fetch_one(call.db, which, {"user": call.p.agent_user,
                                                    "campaign_id": call.agent["campaign_id"] or ""})
    assert row is not None  # a SELECT without FROM gives one row
    return row


def _manual_dial_denied(call: Call) -> Line:
    return error("agent_user is not allowed to place manual dial calls", call.p.agent_user)


def _not_paused(call: Call) -> Line:
    return error("agent_user is not paused", call.p.agent_user)


# --- external_dial --------------------------------------------------------------------------------

def _external_dial_valid(call: Call) -> bool:
    """Step A. Like upstream, `value` is first cut to digits unless it is exactly MANUALNEXT."""
    p = call.p
    if p.value != MANUALNEXT:
        p.value = _digits(p.value)
    return (
        (_blen(p.value) >= 2 or _blen(p.lead_id) >= 1)
        and call.identifies_agent(agent_min=2, alt_min=2)
        and min(_blen(p.search), _blen(p.preview), _blen(p.focus)) >= 2
    )


def _external_dial_not_valid(call: Call) -> Line:
    p = call.p
    request = (p.phone_code, p.search, p.preview, p.focus, p.lead_id)
    return error("external_dial not valid", p.value, *request, p.agent_user, p.alt_user,
                 data="|".join(request))


async def _caller_id(call: Call) -> str:
    """The caller id number from `group_alias` and/or `outbound_cid` (steps 8–9); errors EXIT."""
    p = call.p
    number = ""
    if _blen(p.group_alias) > 1:
        G = groups_alias.c
        row = await call.first(
            sa.select(G.caller_id_number).where(G.group_alias_id == p.group_alias).limit(1))
        if row is None:
            raise call.stop(error("group_alias is not valid", p.agent_user, p.group_alias,
                                  data=p.group_alias).ends())
        number = row["caller_id_number"] or ""
        if not _callerid_number_ok(row["caller_id_number"]):
            raise call.stop(error("caller_id_number from group_alias is not valid", p.agent_user,
                                  p.group_alias, number, data=f"{p.group_alias}|{number}").ends())
    if _blen(p.outbound_cid) > 1:
        cid_any = str(call.system.get("outbound_cid_any") or "")
        if cid_any != "API_ONLY":
            raise call.stop(error("outbound_cid is not allowed on this system", p.agent_user, p.outbound_cid,
                                  cid_any, data=f"{p.outbound_cid}|{cid_any}").ends())
        number, p.group_alias = p.outbound_cid, "-FORCE-"
    return number


def _vtiger_callback(call: Call) -> str:
    """Step 10: a `99`-prefixed value with vtiger_callback=YES names a vtiger activity.

    The `99` is stripped and the rest read as a number (leading zeros go). With vtiger integration
    on, upstream looked the activity up in the vtiger database; openagc has no vtiger connection, so
    every activity is unknown and the request ends with upstream's "does not exist" line (never a
    connection error carrying the vtiger credentials). Returns the vtiger callback id (always empty).
    """
    p = call.p
    if "YES" not in p.vtiger_callback or not p.value.startswith("99"):
        return ""
    p.value = p.value[2:].lstrip("0") or "0"
    if str(call.system.get("enable_vtiger_integration") or "0") not in ("", "0"):
        raise call.stop(error("vtiger callback activity does not exist in vtiger system", p.value).ends())
    return ""


def _search_lead_numbers(lead: sa.RowMapping, wanted: str) -> str:
    """Which of the lead's numbers (MAIN, then ALT, then ADDR3) is `wanted`, compared digit for digit."""
    if not wanted:
        return ""
    for word, column in LEAD_NUMBER_COLUMNS.items():
        if _digits(lead[column.name]) == wanted:
            return word
    return ""


def _lead_number_error(call: Call, reason: str) -> Line:
    """`ERROR: {reason} - {agent_user}|{value}|{lead_id}|{alt_dial}` (EXIT), for step 11's number checks."""
    p = call.p
    fields = (p.value, p.lead_id, p.alt_dial)
    return error(reason, p.agent_user, *fields, data="|".join(fields)).ends()


async def _dial_lead(call: Call) -> None:
    """Step 11: `lead_id` replaces value and phone_code with the lead's number; errors EXIT."""
    p = call.p
    wanted, p.value, p.phone_code = p.value, "", ""
    key = _lead_key(p.lead_id)
    if p.alt_dial == "SEARCH":
        p.alt_dial = ""
        lead = None
        if key is not None:
            lead = await call.first(sa.select(*LEAD_NUMBER_COLUMNS.values()).where(VL.lead_id == key))
        if lead is not None:
            p.alt_dial = _search_lead_numbers(lead, wanted)
            if not p.alt_dial:
                raise call.stop(_lead_number_error(call, "phone number lead_id search not found"))
    column = LEAD_NUMBER_COLUMNS.get(p.alt_dial, VL.phone_number)
    lead = None
    if key is not None:
        lead = await call.first(sa.select(column.label("number"), VL.phone_code).where(VL.lead_id == key))
    if lead is None:
        raise call.stop(error("lead_id is not valid", p.agent_user, p.lead_id, data=p.lead_id).ends())
    p.value = _digits(lead["number"])
    p.phone_code = (lead["phone_code"] or "").replace("!", "")
    if _blen(p.value) < 2:
        raise call.stop(_lead_number_error(call, "phone number is not valid"))


@api_function("external_dial", valid=_external_dial_valid, invalid=_external_dial_not_valid,
              agent_columns=("campaign_id",), confined=True)
async def external_dial(call: Call) -> Line:
    """Queue a manual dial: into the agent's `external_dial` (STANDARD) or its manual dial queue."""
    p = call.p
    p.vendor_id = p.vendor_id.replace("!", "")  # `!` separates the dial-string fields
    checks = await _checks(call, EXTERNAL_DIAL_CHECKS)
    standard = checks["api_manual_dial"] == "STANDARD"
    ready = not standard or checks["paused"]
    if p.dial_ingroup:
        IG = vicidial_inbound_groups.c
        if await call.scalar(sa.select(IG.group_id).where(IG.group_id == p.dial_ingroup).limit(1)) is None:
            call.emit(notice("defined dial_ingroup not found", p.dial_ingroup))
            p.dial_ingroup = ""
    if not (ready or p.dial_ingroup):  # a valid dial in-group bypasses the paused requirement
        return _not_paused(call)
    if not checks["may_dial"]:
        return _manual_dial_denied(call)
    caller_id_number = await _caller_id(call)
    vtiger_callback_id = _vtiger_callback(call)
    if p.lead_id:
        await _dial_lead(call)

    dial_fields = (p.value, p.phone_code, p.search, p.preview, p.focus, p.vendor_id, str(call.epoch),
                   p.dial_prefix, p.group_alias, caller_id_number, vtiger_callback_id, p.lead_id, p.alt_dial,
                   p.dial_ingroup)
    dial = "!".join(dial_fields)[:DIAL_COLUMN_WIDTH]
    if standard:
        await call.update_agent(external_dial=dial)
    else:
        number = p.value[:DIAL_COLUMN_WIDTH]
        queued = await call.scalar(
            sa.select(MDQ.mdq_id).where(MDQ.user == p.agent_user, MDQ.phone_number == number).limit(1)
        )
        if queued is not None:
            return error("phone_number is already in this agents manual dial queue", p.agent_user, p.value)
        await call.db.execute(sa.insert(vicidial_manual_dial_queue).values(
            user=p.agent_user, phone_number=number, entry_time=call.now, status="READY", external_dial=dial,
        ))
        call.woken.add(p.agent_user)
    details = (p.phone_code, p.search, p.preview, p.focus, p.vendor_id, str(call.epoch), p.dial_prefix,
               p.group_alias, caller_id_number, p.alt_dial)
    return success("external_dial function set", p.value, p.agent_user, *details, data="|".join(details))


# --- preview_dial_action --------------------------------------------------------------------------

def _preview_action_valid(call: Call) -> bool:
    """Step A, after keeping only `A-Z0-9` of value: one of the five actions, and an agent named."""
    call.p.value = re.sub(r"[^A-Z0-9]", "", call.p.value)
    return call.p.value in PREVIEW_ACTIONS and call.identifies_agent(agent_min=2, alt_min=2)


def _preview_action_not_valid(call: Call) -> Line:
    p = call.p
    return error("preview_dial_action not valid", p.value, "", p.agent_user, p.alt_user)


@api_function("preview_dial_action", valid=_preview_action_valid, invalid=_preview_action_not_valid,
              agent_columns=("campaign_id",))
async def preview_dial_action(call: Call) -> Line:
    """Tell the agent screen to skip/dial/finish the lead being previewed (or in alt-number dialing)."""
    p = call.p
    campaign_id = call.agent["campaign_id"] or ""
    checks = await _checks(call, PREVIEW_CHECKS)  # a campaign that does not exist refuses nothing (NULLs)
    refusal = None
    if checks["manual_preview_dial"] == "DISABLED":
        refusal = ("preview dialing not allowed on this campaign", "DISABLED")
    elif checks["manual_preview_dial"] == "PREVIEW_ONLY" and p.value == "SKIP":
        refusal = ("preview dial skipping not allowed on this campaign", "PREVIEW_ONLY")
    elif checks["alt_number_dialing"] == "N" and p.value in ALT_NUMBER_ACTIONS:
        refusal = ("alt number dialing not allowed on this campaign", "N")
    if refusal is not None:
        reason, setting = refusal
        raise call.stop(error(reason, p.agent_user, campaign_id, setting, data=f"{campaign_id}|{setting}").ends())
    if not checks["paused"]:
        return _not_paused(call)
    if not checks["may_dial"]:
        return _manual_dial_denied(call)
    await call.update_agent(external_dial=p.value)
    return success("preview_dial_action function set", p.value, p.agent_user, p.value, data=p.value)


# --- switch_lead ----------------------------------------------------------------------------------

def _switch_lead_valid(call: Call) -> bool:
    p = call.p
    names_lead = (p.lead_id and whole(p.lead_id) >= 1) or p.vendor_lead_code
    return bool(names_lead) and call.identifies_agent(agent_min=1, alt_min=2)


def _switch_lead_not_valid(call: Call) -> Line:
    p = call.p
    return error("switch_lead not valid", p.lead_id, p.vendor_lead_code, p.agent_user)


def _not_inbound(agent_user: str, callerid: str) -> Line:
    """`ERROR: agent call is not inbound - …` — upstream prints this one without a newline."""
    reason = "agent call is not inbound"
    return verbatim("ERROR", reason, lambda t: f"{t('ERROR')}: {t(reason)} - {agent_user}|{callerid}",
                    agent_user, callerid)


@api_function("switch_lead", valid=_switch_lead_valid, invalid=_switch_lead_not_valid,
              denied_subject=lambda call: (call.p.lead_id,), agent_columns=("lead_id", "callerid", "campaign_id"))
async def switch_lead(call: Call) -> Line:
    """Ask the agent screen to switch the live inbound call to another lead (`external_lead_id`)."""
    p = call.p
    current_lead = int(call.agent["lead_id"] or 0)
    callerid = call.agent["callerid"] or ""
    campaign_id = call.agent["campaign_id"] or ""
    if current_lead < 1 or len(callerid) <= 15:
        return error("agent_user does not have a live call", p.agent_user)
    if not callerid.startswith("Y"):
        return _not_inbound(p.agent_user, callerid)
    lead_search = await call.scalar(sa.select(VC.agent_lead_search).where(VC.campaign_id == campaign_id))
    if lead_search is None:
        return error("campaign not found", p.agent_user, campaign_id)
    if lead_search not in INBOUND_LEAD_SEARCH:
        return error("campaign does not allow inbound lead search", p.agent_user, campaign_id)
    find = sa.select(VL.lead_id, VL.vendor_lead_code)
    if p.vendor_lead_code:  # upstream: vendor_lead_code wins over lead_id (the newest such lead)
        lead = await call.first(
            find.where(VL.vendor_lead_code == p.vendor_lead_code).order_by(VL.lead_id.desc()).limit(1))
    else:
        key = _lead_key(p.lead_id)
        lead = None if key is None else await call.first(find.where(VL.lead_id == key))
    if lead is None:
        return error("switch-to lead not found", p.agent_user, p.lead_id, p.vendor_lead_code)
    await call.update_agent(external_lead_id=lead["lead_id"])
    details = (lead["lead_id"], lead["vendor_lead_code"] or "", campaign_id, current_lead)
    return success("switch_lead function set", p.agent_user, *details, "",
                   data="|".join(str(d) for d in details))
