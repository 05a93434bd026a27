"""`callid_info`: a call found by its call id (`vicidial_log_extended.caller_code`), with the customer's talk time
and, with `detail=YES`, its log row (inbound calls from `vicidial_closer_log`, outbound from `vicidial_log`)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from openagc.clock import fmt_datetime
from openagc.companion.agents import stage_name
from openagc.companion.answer import Answer, records, refusal, success, table
from openagc.companion.registry import Context, companion_function
from openagc.store.schema import (
    vicidial_agent_log,
    vicidial_closer_log,
    vicidial_log,
    vicidial_log_extended,
    vicidial_users,
)

CALL_ID = re.compile(r"^(Y|J|V|M|DC|S|LP|VH|XL)")
INBOUND = re.compile(r"^(Y|J|LP|VH)")
COLUMNS = ("call_id", "custtime")
DETAIL_COLUMNS = (*COLUMNS, "call_date", "phone", "call_type", "campaign_id", "list_id", "status", "user")


def call_type(call_id: str) -> str:
    if INBOUND.match(call_id):
        return "INBOUND"
    return {"V": "OUTBOUND_AUTO", "M": "OUTBOUND_MANUAL"}.get(call_id[:1], "OUTBOUND_OTHER")


@companion_function("callid_info", denied="callid_info USER DOES NOT HAVE PERMISSION TO GET CALL INFO")
async def callid_info(ctx: Context) -> Answer:
    p, me, conn = ctx.p, ctx.caller, ctx.conn
    call_id = p.call_id
    if not (17 < len(call_id) < 40 and CALL_ID.match(call_id)):
        return refusal("callid_info INVALID SEARCH PARAMETERS", me.user, call_id)
    E = vicidial_log_extended.c
    call = (await conn.execute(sa.select(E.uniqueid, E.call_date, E.lead_id).where(E.caller_code == call_id)
                               .limit(1))).first()
    if call is None:
        return refusal("callid_info CALL NOT FOUND", me.user, p.agent_user)
    kind = call_type(call_id)
    log = vicidial_closer_log if kind == "INBOUND" else vicidial_log
    L = log.c
    query = sa.select(L.phone_number, L.user, L.status, L.list_id, L.campaign_id).where(
        L.uniqueid == call.uniqueid, L.lead_id == call.lead_id)
    if kind == "INBOUND":
        query = query.where(L.call_date == call.call_date)
    found = None if call.lead_id is None else (await conn.execute(query.limit(1))).first()
    if found is not None and me.groups is not None:  # the caller sees the calls of the agents it may see
        U = vicidial_users.c
        group = (await conn.execute(sa.select(U.user_group).where(U.user == found.user).limit(1))).scalar()
        if group not in me.groups:
            found = None
    if found is None:
        return refusal("callid_info CALL LOG NOT FOUND", me.user, p.agent_user)
    A = vicidial_agent_log.c
    talk = (await conn.execute(sa.select(A.talk_sec, A.dead_sec).where(
        A.uniqueid == call.uniqueid, A.lead_id == call.lead_id, A.user == found.user).limit(1))).first()
    custtime = int(talk.talk_sec or 0) - int(talk.dead_sec or 0) if talk is not None else 0
    detail = p.detail == "YES"
    columns = DETAIL_COLUMNS if detail else COLUMNS
    row: list[object] = [call_id, custtime]
    if detail:
        call_date = fmt_datetime(call.call_date) if call.call_date is not None else ""
        row += [call_date, found.phone_number or "", kind, found.campaign_id or "",
                found.list_id if found.list_id is not None else "", found.status or "", found.user or ""]
    output = table(columns, [row], stage=p.stage, header=p.header)
    return success(output, f"callid_info {output}", f"{me.user}|{call_id}|{stage_name(p.stage)}",
                   records(columns, [row]))
