"""Leads: `external_add_lead` (a new lead in the campaign's manual dial list) and the two CRM look-ups
`st_login_log` / `st_get_agent_active_lead` (users found by their `custom_three` CRM id).

Specs: api-functions-2.md §2, §7, §8; differences from upstream are in docs/compat/leads.md.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa

from openagc.api.numbers import whole
from openagc.api.pipeline import Call, api_function
from openagc.api.reply import Line, error, success
from openagc.store.schema import (
    vicidial_campaign_dnc,
    vicidial_campaigns,
    vicidial_dnc,
    vicidial_list,
    vicidial_users,
)

VC = vicidial_campaigns.c
VL = vicidial_list.c
U = vicidial_users.c

YES = ("YES", "Y")  # dnc_check / campaign_dnc_check values that turn a check on (case-sensitive)
GENDERS = ("M", "F", "U")
RANK_MAX = 32767  # vicidial_list.rank is SMALLINT
# Lead fields taken from the parameter of the same name ('' when absent), as upstream's insert lists them.
ADD_LEAD_FIELDS = (
    "source_id", "title", "first_name", "middle_initial", "last_name", "address1", "address2", "address3",
    "city", "state", "province", "postal_code", "country_code", "alt_phone", "email", "security_phrase",
    "comments", "owner",
)


def _blen(text: str) -> int:
    return len(text.encode())


def _fit(column: str, text: str) -> str:
    """`text` cut to the width of `vicidial_list.{column}` (what non-strict MySQL stored)."""
    width = vicidial_list.c[column].type.length
    return text[:width] if width else text


def _date_or_none(text: str) -> date | None:
    """A `YYYY-MM-DD` date, or None where non-strict MySQL stored the zero date."""
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


# --- external_add_lead ----------------------------------------------------------------------------

def _add_lead_valid(call: Call) -> bool:
    """Step A. An empty value takes `phone_number` (≥ 2 characters) first, as upstream does."""
    p = call.p
    if not p.value and _blen(p.phone_number) > 1:
        p.value = p.phone_number
    return call.identifies_agent(agent_min=2, alt_min=2) and _blen(p.phone_code) >= 1 and _blen(p.value) >= 2


def _add_lead_not_valid(call: Call) -> Line:
    p = call.p
    return error("external_add_lead not valid", p.value, p.phone_code, p.agent_user, p.alt_user,
                 data=f"{p.value}|{p.phone_code}").ends()


def _lead_row(call: Call, list_id: int) -> dict[str, Any]:
    """The `vicidial_list` row upstream inserts, with values valid under strict SQL."""
    p = call.p
    row: dict[str, Any] = {name: _fit(name, p.get(name)) for name in ADD_LEAD_FIELDS}
    rank = whole(p.rank)
    row.update(
        phone_code=_fit("phone_code", p.phone_code),
        phone_number=_fit("phone_number", p.value),
        list_id=list_id,
        status="NEW",
        user=_fit("user", call.api_user.user),
        vendor_lead_code=_fit("vendor_lead_code", p.vendor_id or p.vendor_lead_code),
        gender=p.gender if p.gender in GENDERS else "U",
        date_of_birth=_date_or_none(p.date_of_birth),
        rank=min(rank, RANK_MAX),
        called_since_last_reset="N",
        entry_date=call.now,
        last_local_call_time=call.now,
    )
    return row


async def _insert_lead(call: Call, row: dict[str, Any]) -> int | None:
    """Insert the lead; its new `lead_id`, or None when no row went in."""
    result = await call.db.execute(sa.insert(vicidial_list).values(**row))
    if result.rowcount < 1:
        return None
    return int(result.inserted_primary_key[0])


async def _listed(call: Call, table: sa.Table, **where: str) -> bool:
    found = await call.scalar(sa.select(table.c.phone_number).where(
        *(table.c[name] == value for name, value in where.items())).limit(1))
    return found is not None


@api_function("external_add_lead", valid=_add_lead_valid, invalid=_add_lead_not_valid)
async def external_add_lead(call: Call) -> Line | None:
    """Add a NEW lead to the manual dial list of the agent's campaign (after the DNC checks asked for)."""
    p = call.p
    campaign = await call.first(
        sa.select(VC.campaign_id, VC.manual_dial_list_id, VC.use_other_campaign_dnc)
        .where(VC.campaign_id == (call.agent["campaign_id"] or "")))
    if campaign is None:
        return error("campaign manual dial list undefined", p.value, "", p.agent_user)
    campaign_id, list_id = campaign["campaign_id"], int(campaign["manual_dial_list_id"] or 0)
    in_dnc = p.dnc_check in YES and await _listed(call, vicidial_dnc, phone_number=p.value)
    dnc_campaign = campaign["use_other_campaign_dnc"] or campaign_id  # "other campaign DNC" replaces its own
    in_campaign_dnc = p.campaign_dnc_check in YES and await _listed(
        call, vicidial_campaign_dnc, phone_number=p.value, campaign_id=dnc_campaign)
    if in_dnc or in_campaign_dnc:
        if in_dnc:
            call.emit(error("add_lead PHONE NUMBER IN DNC", p.value, p.agent_user, data=p.value))
        if in_campaign_dnc:
            call.emit(error("add_lead PHONE NUMBER IN CAMPAIGN DNC", p.value, campaign_id, p.agent_user,
                            data=f"{p.value}|{campaign_id}"))
        return None
    lead_id = await _insert_lead(call, _lead_row(call, list_id))
    if lead_id is None:
        return error("lead insertion failed", p.value, campaign_id, list_id, p.agent_user,
                     data=f"{p.value}|{list_id}|")
    return success("lead added", p.value, campaign_id, list_id, lead_id, p.agent_user,
                   data=f"{p.value}|{list_id}|{lead_id}")


# --- st_login_log / st_get_agent_active_lead (CRM id = custom_three) -------------------------------

def _crm_request_valid(call: Call) -> bool:
    return _blen(call.p.value) >= 1 and _blen(call.p.vendor_id) >= 1


def _crm_request_not_valid(call: Call) -> Line:
    p = call.p
    return error(f"{call.function} not valid", p.value, p.vendor_id, data=f"{p.value}|{p.vendor_id}")


async def _crm_user(call: Call) -> str:
    """The user whose `custom_three` is `value` (the lowest user id when several share it)."""
    found = sa.select(U.user).where(U.custom_three == call.p.value).order_by(U.user).limit(1)
    user = await call.scalar(found)
    if user is None:
        raise call.stop(error("no user found", call.p.value))
    return user


CRM = {"valid": _crm_request_valid, "invalid": _crm_request_not_valid, "alt_user": False, "logged_in": False}


@api_function("st_login_log", **CRM)
async def st_login_log(call: Call) -> Line:
    """Record the CRM team id (`vendor_id`) in `custom_four` of the user with CRM agent id `value`."""
    user = await _crm_user(call)
    team_id = call.p.vendor_id[:U.custom_four.type.length]
    await call.db.execute(sa.update(vicidial_users).where(U.user == user).values(custom_four=team_id))
    return success("st_login_log user found", user, data=user)


@api_function("st_get_agent_active_lead", **CRM)
async def st_get_agent_active_lead(call: Call) -> Line:
    """The lead on the screen of the user with CRM agent id `value` (read only)."""
    user = await _crm_user(call)
    agent = await call.live_agent(user, ("lead_id",))
    if agent is None:
        return error("user not logged in", user)
    lead_id = int(agent["lead_id"] or 0)
    if lead_id < 1:
        return error("no active lead found", user)
    columns = (VL.phone_number, VL.vendor_lead_code, VL.province, VL.security_phrase, VL.source_id)
    lead = await call.first(sa.select(*columns).where(VL.lead_id == lead_id)) or {}
    phone, vendor_lead_code, province, phrase, source_id = (str(lead.get(c.name) or "") for c in columns)
    details = (user, phone, str(lead_id), vendor_lead_code, province, phrase, source_id)
    return success("st_get_agent_active_lead lead found", *details, data="|".join(details))
