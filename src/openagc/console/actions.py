"""The console's own JSON endpoints under `/console/api/`: what the agent screen reads, and the call
actions the agent-side API (`/agent/`) does not offer yet.

Reads (`context`, `lead`, `script`, `callbacks`) come straight from the store; the lead form saves through
`lead_form.py` (the Agent API's update_fields). Every action writes the
same `vicidial_live_agents` command column, with the same value and format, as the `api.php` function of
the same purpose (`transfer_conference`, `park_call`, `recording`, `send_dtmf`, `change_ingroups`), commits,
and then publishes the wake-up on the bus — so a click, an API call and a plain SQL write reach the engine
by one path. The session is the agent-side token (`openagc_agent` cookie or `Authorization: Bearer`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from openagc.api.functions.media import fit, positive_number, stage_suffix
from openagc.api.functions.screen import login_replay_row
from openagc.api.functions.transfer import COMMAND_IDS, PARK_VALUES, TRANSFERCONF_WIDTH, transferconf
from openagc.bus import AGENT_COMMAND
from openagc.openapi.describe import (
    AGENT,
    BOOLEAN,
    CONSOLE,
    INTEGER,
    STRING,
    body,
    component,
    header,
    json_answer,
    nullable,
    obj,
    operation,
    refusal,
)
from openagc.store import command_records
from openagc.store.database import Conflict
from openagc.store.schema import (
    vicidial_callbacks,
    vicidial_campaign_statuses,
    vicidial_campaigns,
    vicidial_inbound_group_agents,
    vicidial_inbound_groups,
    vicidial_list,
    vicidial_live_agents,
    vicidial_live_inbound_agents,
    vicidial_manager,
    vicidial_pause_codes,
    vicidial_session_data,
    vicidial_statuses,
    vicidial_users,
)

if TYPE_CHECKING:
    from openagc.services import Services

COOKIE = "openagc_agent"  # the agent-side session cookie (set by POST /agent/login)
VLA = vicidial_live_agents.c
LIVE_CALLERID_MIN = 16  # a live call's callerid is longer than 15 characters (api.php's check)

# The lead panel: every field update_fields may change (store.leads.UPDATABLE_LEAD_FIELDS), in reading order.
LEAD_PANEL_FIELDS = (
    "phone_code", "phone_number", "alt_phone", "title", "first_name", "middle_initial", "last_name",
    "address1", "address2", "address3", "city", "state", "province", "postal_code", "country_code",
    "gender", "date_of_birth", "email", "security_phrase", "vendor_lead_code", "source_id",
    "gmt_offset_now", "rank", "owner", "comments",
)
# transfer_conference functions the console offers: (function, needs an in-group, needs a number).
TRANSFERS = {
    "BLIND_TRANSFER": (False, True),
    "LOCAL_CLOSER": (True, False),
    "DIAL_WITH_CUSTOMER": (False, True),
    "PARK_CUSTOMER_DIAL": (False, True),
    "LEAVE_VM": (False, False),
    "LEAVE_3WAY_CALL": (False, False),
    "HANGUP_XFER": (False, False),
    "HANGUP_BOTH": (False, False),
}
HANGUPS = ("LEAVE_3WAY_CALL", "HANGUP_XFER", "HANGUP_BOTH")
DTMF_KEYS = {"#": "P", "*": "S", ",": "Q"}  # how the Agent API spells the keys it cannot carry in a URL


def edit_policy(campaign: Any) -> dict[str, str]:
    """The campaign's lead-edit policy as upstream's columns say it (a NULL reads as the column's default):
    `disable_alter_custdata` Y = no lead field may be changed on the agent screen; `disable_alter_custphone`
    Y = the phone number may not be changed, HIDE = nor shown."""
    custdata = (campaign.get("disable_alter_custdata") or "N").upper()
    custphone = (campaign.get("disable_alter_custphone") or "Y").upper()
    return {"disable_alter_custdata": "Y" if custdata == "Y" else "N",
            "disable_alter_custphone": custphone if custphone in ("Y", "N", "HIDE") else "Y"}


class Refused(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


class Agent:
    """The signed-in agent of a request, with the services and the live row when one exists."""

    def __init__(self, services: Services, user: str) -> None:
        self.services = services
        self.user = user

    async def row(self, conn: AsyncConnection) -> dict[str, Any]:
        found = (await conn.execute(sa.select(vicidial_live_agents).where(VLA.user == self.user).limit(1))
                 ).mappings().first()
        if found is None:
            raise Refused("agent is not logged in", 401)
        return dict(found)



def _token(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(COOKIE, "")


async def _agent(request: Request, services: Services) -> Agent:
    token = _token(request)
    if not token:
        raise Refused("missing session token", 401)
    SD = vicidial_session_data.c
    async with services.db.connect() as conn:
        user = (await conn.execute(sa.select(SD.user).where(SD.session_name == token))).scalar()
    if not user:
        raise Refused("invalid or expired session token", 401)
    return Agent(services, user)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    if "json" in request.headers.get("content-type", ""):
        try:
            data = json.loads(raw)
        except RecursionError:
            raise Refused("JSON nested too deeply", 400) from None
        if not isinstance(data, dict):
            raise Refused("expected a JSON object", 400)
        return data
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    if isinstance(value, (dict, list)):
        raise Refused(f"{name} must be text", 400)
    return "" if value is None else str(value).strip()


Handler = Callable[[Request, "Services"], Awaitable[Any]]

# --- what the endpoints answer (OpenAPI) ------------------------------------------------------------------------
REFUSALS = {
    400: refusal("Bad input."),
    401: refusal("No session (missing, invalid or expired token), or the agent is not logged in."),
    403: refusal("Refused as a cross-site request (`Origin`, or the cookie without `X-CSRF-Token`)."),
    409: refusal("Not possible in the agent's state."),
    503: refusal("The database kept refusing: nothing was written."),
}
SENT = component("ConsoleSent", obj({"ok": {"const": True}, "sent": {"type": "object"},
                                     "command_ids": {"type": "array", "items": INTEGER}}, ["ok", "sent"],
                                    description="The command columns written (and their command records)."))
LEAD = component("ConsoleLead", obj({"lead_id": INTEGER, "status": nullable(STRING)}, ["lead_id"],
                                    description="The lead's panel fields (`LEAD_PANEL_FIELDS`)."))
CSRF = header("X-CSRF-Token", "The session's CSRF token (from /agent/login or /agent/state); needed with the cookie.")


def _read(summary: str, schema: dict, codes: tuple[int, ...] = (400, 401, 503)):
    return operation("GET", summary=summary, tags=[CONSOLE], security=AGENT,
                     responses={200: json_answer("Found.", schema), **{c: REFUSALS[c] for c in codes}})


def _act(summary: str, fields: dict[str, dict], required: tuple[str, ...] = (), example: dict | None = None,
         answer: dict = SENT):
    return operation("POST", summary=summary, tags=[CONSOLE], security=AGENT, parameters=[CSRF],
                     body=body(fields, required, example=example),
                     responses={200: json_answer("Written; the engine carries it out.", answer),
                                **{c: REFUSALS[c] for c in (400, 401, 403, 409, 503)}})



def _endpoint(services: Services, fn: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        try:
            result = await fn(request, services)
        except Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except (ValueError, json.JSONDecodeError) as exc:
            return JSONResponse({"error": f"bad request: {exc}"}, status_code=400)
        except Conflict:  # the database kept refusing (deadlocks): nothing was written
            return JSONResponse({"error": "database busy, try again"}, status_code=503, headers={"Retry-After": "1"})
        return JSONResponse(result, headers={"Cache-Control": "no-store"})

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


Row = dict[str, Any]


async def _write(agent: Agent, gate: Callable[[Row], str], build: Callable[[Row], Row]) -> Row:
    """One transaction: read the agent's row, check `gate`, write `build(row)`; then wake the engine."""
    async def write(conn: AsyncConnection) -> Row:
        row = await agent.row(conn)
        message = gate(row)
        if message:
            raise Refused(message)
        columns = build(row)
        _, ids = await command_records.write(conn, user=agent.user, values=columns, function="console",
                                             source="console", at=agent.services.clock.now())
        return columns, ids

    columns, ids = await agent.services.db.transaction(write)
    agent.services.bus.publish(AGENT_COMMAND, agent.user)
    return {"ok": True, "sent": columns, "command_ids": ids}


def _on_call(row: dict[str, Any]) -> str:
    """api.php's live-call test: a lead on screen and a call id longer than 15 characters."""
    if int(row.get("lead_id") or 0) <= 0 or len(row.get("callerid") or "") < LIVE_CALLERID_MIN:
        return "agent does not have a live call"
    return ""


def _has_lead(row: dict[str, Any]) -> str:
    return "" if int(row.get("lead_id") or 0) > 0 else "agent does not have a lead on screen"


def _now(services: Services) -> Any:
    return services.clock.now().replace(microsecond=0)


# --- reads ---------------------------------------------------------------------------------------------

@_read("The campaign's statuses, pause codes, in-groups and transfer groups", obj({
    "user": STRING, "full_name": STRING, "now": STRING, "campaign": {"type": "object"},
    "statuses": {"type": "array", "items": obj({"status": STRING, "name": STRING, "callback": BOOLEAN})},
    "pause_codes": {"type": "array", "items": obj({"code": STRING, "name": STRING})},
    "ingroups": {"type": "array", "items": obj({"id": STRING, "name": STRING})},
    "xfer_groups": {"type": "array", "items": obj({"id": STRING, "name": STRING})},
}, ["user", "campaign", "statuses", "pause_codes", "ingroups", "xfer_groups"]))
async def context(request: Request, services: Services) -> dict[str, Any]:
    """GET /console/api/context: the campaign's statuses, pause codes, in-groups and transfer groups."""
    agent = await _agent(request, services)
    K, S, CS, PC, IG = (vicidial_campaigns.c, vicidial_statuses.c, vicidial_campaign_statuses.c,
                        vicidial_pause_codes.c, vicidial_inbound_groups.c)
    async with services.db.connect() as conn:
        row = await agent.row(conn)
        campaign_id = row["campaign_id"] or ""
        campaign = (await conn.execute(sa.select(vicidial_campaigns).where(K.campaign_id == campaign_id))
                    ).mappings().first() or {}
        system = (await conn.execute(sa.select(S.status, S.status_name, S.scheduled_callback)
                                     .where(S.selectable == "Y").order_by(S.status))).mappings().all()
        own = (await conn.execute(sa.select(CS.status, CS.status_name, CS.scheduled_callback)
                                  .where(CS.campaign_id == campaign_id, CS.selectable == "Y")
                                  .order_by(CS.status))).mappings().all()
        codes = (await conn.execute(sa.select(PC.pause_code, PC.pause_code_name)
                                    .where(PC.campaign_id == campaign_id)
                                    .order_by(PC.pause_code))).mappings().all()
        allowed = [g for g in (campaign.get("closer_campaigns") or "").split() if g != "-"]
        xfer = [g for g in (campaign.get("xfer_groups") or "").split() if g != "-"]
        names = {r["group_id"]: r["group_name"] for r in (await conn.execute(
            sa.select(IG.group_id, IG.group_name)
            .where(IG.group_id.in_(set(allowed + xfer)), IG.active == "Y"))
        ).mappings()}
        full_name = (await conn.execute(sa.select(vicidial_users.c.full_name)
                                        .where(vicidial_users.c.user == agent.user))).scalar() or ""
    statuses: dict[str, dict[str, Any]] = {}
    for s in [*system, *own]:
        statuses[s["status"]] = {"status": s["status"], "name": s["status_name"] or s["status"],
                                 "callback": s["scheduled_callback"] == "Y"}
    return {
        "user": agent.user, "full_name": full_name, "now": str(_now(services)),
        "campaign": {"id": campaign_id, "name": campaign.get("campaign_name") or campaign_id,
                     "dial_method": campaign.get("dial_method") or "",
                     "inbound": campaign.get("campaign_allow_inbound") == "Y",
                     "pause_codes": campaign.get("agent_pause_codes_active") or "N",
                     "callbacks": campaign.get("scheduled_callbacks") == "Y",
                     "recording": campaign.get("campaign_recording") or "ONDEMAND",
                     "default_xfer_group": campaign.get("default_xfer_group") or "",
                     **edit_policy(campaign)},
        "statuses": list(statuses.values()),
        "pause_codes": [{"code": c["pause_code"], "name": c["pause_code_name"] or c["pause_code"]}
                        for c in codes],
        "ingroups": [{"id": g, "name": names[g]} for g in allowed if g in names],
        "xfer_groups": [{"id": g, "name": names[g]} for g in xfer if g in names],
    }


def _lead_id(row: dict[str, Any]) -> int:
    return int(row.get("lead_id") or 0) or int(row.get("preview_lead_id") or 0)


def _plain(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, str, float)) else str(value)


async def _lead(conn: AsyncConnection, lead_id: int) -> dict[str, Any] | None:
    if lead_id <= 0:
        return None
    found = (await conn.execute(sa.select(vicidial_list).where(vicidial_list.c.lead_id == lead_id))
             ).mappings().first()
    if found is None:
        return None
    return {"lead_id": lead_id, "status": found["status"], "list_id": _plain(found["list_id"]),
            "called_count": _plain(found["called_count"]),
            **{k: _plain(found[k]) for k in LEAD_PANEL_FIELDS}}


@_read("The lead on the agent's screen", obj({"lead": nullable(LEAD)}, ["lead"]))
async def lead(request: Request, services: Services) -> dict[str, Any]:
    """GET /console/api/lead: the lead on the agent's screen (live call, dispo or preview), or null."""
    agent = await _agent(request, services)
    async with services.db.connect() as conn:
        row = await agent.row(conn)
        return {"lead": await _lead(conn, _lead_id(row))}


HIDDEN_NUMBER = "XXXXXXXXXX"
SCRIPT = ("Hello {first_name}, this is {agent} calling for {campaign}. "
          "Am I speaking with {first_name} {last_name} at {phone_number}?")


@_read("The campaign script, filled in", obj({"script_id": STRING, "text": STRING}, ["script_id", "text"]))
async def script(request: Request, services: Services) -> dict[str, Any]:
    """GET /console/api/script: the campaign script with the lead's fields filled in (scriptreload)."""
    agent = await _agent(request, services)
    async with services.db.connect() as conn:
        row = await agent.row(conn)
        found = await _lead(conn, _lead_id(row))
        K = vicidial_campaigns.c
        campaign = (await conn.execute(sa.select(K.campaign_name, K.campaign_script, K.disable_alter_custphone)
                                       .where(K.campaign_id == row["campaign_id"]))).mappings().first() or {}
        full_name = (await conn.execute(sa.select(vicidial_users.c.full_name)
                                        .where(vicidial_users.c.user == agent.user))).scalar() or agent.user
    if found is None:
        return {"script_id": campaign.get("campaign_script") or "", "text": ""}
    values = {k: str(found.get(k) or "") for k in LEAD_PANEL_FIELDS} | {
        "agent": full_name, "campaign": campaign.get("campaign_name") or row["campaign_id"]}
    if edit_policy(campaign)["disable_alter_custphone"] == "HIDE":
        values["phone_number"] = HIDDEN_NUMBER  # as upstream's screen shows a hidden number
    return {"script_id": campaign.get("campaign_script") or "", "text": SCRIPT.format(**values)}


@_read("The agent's scheduled callbacks", obj({"callbacks": {"type": "array", "items": {"type": "object"}}},
                                                ["callbacks"]))
async def callbacks(request: Request, services: Services) -> dict[str, Any]:
    """GET /console/api/callbacks: the agent's own scheduled callbacks still to be called (ACTIVE/LIVE)."""
    agent = await _agent(request, services)
    CB, L = vicidial_callbacks.c, vicidial_list.c
    async with services.db.connect() as conn:
        rows = (await conn.execute(
            sa.select(CB.callback_id, CB.lead_id, CB.status, CB.callback_time, CB.recipient, CB.comments,
                      CB.campaign_id, L.first_name, L.last_name, L.phone_number)
            .select_from(vicidial_callbacks.outerjoin(vicidial_list, L.lead_id == CB.lead_id))
            .where(CB.user == agent.user, CB.status.in_(("ACTIVE", "LIVE")))
            .order_by(CB.callback_time, CB.callback_id).limit(50))).mappings().all()
    return {"callbacks": [{k: _plain(v) for k, v in r.items()} for r in rows]}


# --- actions (the same command columns the Agent API writes) -----------------------------------------------

@_act("Transfer or conference the call", {
    "function": {"enum": list(TRANSFERS)}, "phone_number": STRING, "ingroup": STRING,
    "consultative": {"anyOf": [BOOLEAN, STRING]}, "dial_override": {"anyOf": [BOOLEAN, STRING]}}, ("function",),
    example={"function": "BLIND_TRANSFER", "phone_number": "3125559999"})
async def transfer(request: Request, services: Services) -> dict[str, Any]:
    """POST /console/api/transfer: function, phone_number, ingroup, consultative → external_transferconf."""
    agent = await _agent(request, services)
    b = await _body(request)
    function = _text(b, "function").upper()
    if function not in TRANSFERS:
        raise Refused(f"unknown transfer function {function!r}", 400)
    needs_group, needs_number = TRANSFERS[function]
    ingroup = _text(b, "ingroup")
    number = "".join(ch for ch in _text(b, "phone_number") if ch.isdigit())
    consultative = "YES" if _text(b, "consultative").upper() in ("YES", "Y", "1", "TRUE", "ON") else "NO"
    if function in ("DIAL_WITH_CUSTOMER", "PARK_CUSTOMER_DIAL") and consultative == "YES":
        needs_group = True
    if needs_group:
        async with services.db.connect() as conn:
            IG = vicidial_inbound_groups.c
            if not ingroup or (await conn.execute(sa.select(IG.group_id).where(
                    IG.group_id == ingroup, IG.active == "Y"))).scalar() is None:
                raise Refused("ingroup is not valid", 400)
    if needs_number and not number and not needs_group:
        raise Refused("phone_number is required", 400)
    epoch = services.clock.epoch()
    override = "YES" if _text(b, "dial_override").upper() in ("YES", "Y", "1", "TRUE", "ON") else ""
    if function in HANGUPS:
        fields: tuple[str, ...] = (function, "", "", "NO", "", "", "")
    elif needs_group:  # api.php writes the consultative flag as given: empty for a plain LOCAL_CLOSER
        fields = (function, ingroup, number, "" if function == "LOCAL_CLOSER" and consultative == "NO"
                  else consultative, "", "", "")
    else:
        fields = (function, "", number, "NO", override, "", "")
    command = transferconf(*fields, COMMAND_IDS.next(epoch), *(("",) if function not in HANGUPS else ()))
    if len(command) > TRANSFERCONF_WIDTH:
        raise Refused("transfer command too long", 400)
    return await _write(agent, _on_call, lambda _row: {"external_transferconf": command})


@_act("Park or grab the customer", {"action": {"enum": sorted(PARK_VALUES)}}, ("action",),
      example={"action": "PARK_CUSTOMER"})
async def park(request: Request, services: Services) -> dict[str, Any]:
    """POST /console/api/park: action (PARK_CUSTOMER, GRAB_CUSTOMER, …) → external_park."""
    agent = await _agent(request, services)
    action = _text(await _body(request), "action").upper()
    if action not in PARK_VALUES:
        raise Refused(f"unknown park action {action!r}", 400)
    return await _write(agent, _has_lead, lambda _row: {"external_park": action})


@_act("Start or stop a recording", {"action": {"enum": ["START", "STOP"]}, "stage": STRING}, ("action",),
      example={"action": "START"})
async def record(request: Request, services: Services) -> dict[str, Any]:
    """POST /console/api/record: action START (optional stage suffix) or STOP → external_recording."""
    agent = await _agent(request, services)
    b = await _body(request)
    action = _text(b, "action").upper()
    if action not in ("START", "STOP"):
        raise Refused("action must be START or STOP", 400)
    value = action + (stage_suffix(_text(b, "stage")) if action == "START" else "")

    def gate(row: dict[str, Any]) -> str:
        if action == "STOP" and not positive_number(row.get("external_recording")):
            return "no recording to stop"
        return ""

    return await _write(agent, gate, lambda _row: {"external_recording": fit(VLA.external_recording, value)})


@_act("Send DTMF into the call", {"digits": STRING}, ("digits",), example={"digits": "12#"})
async def dtmf(request: Request, services: Services) -> dict[str, Any]:
    """POST /console/api/dtmf: digits (0-9, *, #, comma = pause) → external_dtmf as send_dtmf writes it."""
    agent = await _agent(request, services)
    raw = _text(await _body(request), "digits")
    digits = "".join(DTMF_KEYS.get(ch, ch) for ch in raw if ch.isdigit() or ch in DTMF_KEYS or ch in "PSQ")
    if not digits:
        raise Refused("digits are required", 400)
    value = fit(VLA.external_dtmf, digits)
    return await _write(agent, lambda _row: "", lambda _row: {"external_dtmf": value})


@_act("Choose the in-groups to take calls from", {
    "ingroups": {"anyOf": [STRING, {"type": "array", "items": STRING}]}, "blended": {"anyOf": [BOOLEAN, STRING]}},
    example={"ingroups": ["TEST_IN"], "blended": False})
async def ingroups(request: Request, services: Services) -> dict[str, Any]:
    """POST /console/api/ingroups: ingroups (list) and blended → the change_ingroups command columns."""
    agent = await _agent(request, services)
    b = await _body(request)
    wanted = b.get("ingroups") or []
    if isinstance(wanted, str):
        wanted = wanted.replace(",", " ").split()
    if not isinstance(wanted, list) or not all(isinstance(g, str) for g in wanted):
        raise Refused("ingroups must be a list of in-group ids or a text", 400)
    blended = "1" if str(b.get("blended", "")).upper() in ("1", "Y", "YES", "TRUE", "ON") else "0"
    K = vicidial_campaigns.c

    async def select(conn: AsyncConnection) -> str:
        row = await agent.row(conn)
        campaign = (await conn.execute(sa.select(K.campaign_allow_inbound, K.closer_campaigns, K.dial_method)
                                       .where(K.campaign_id == row["campaign_id"]))).mappings().first()
        if campaign is None or campaign["campaign_allow_inbound"] != "Y":
            raise Refused("campaign does not allow inbound calls")
        if blended == "1" and campaign["dial_method"] in ("MANUAL", "INBOUND_MAN"):
            raise Refused("campaign dial_method does not allow outbound autodial")
        allowed = set((campaign["closer_campaigns"] or "").split()) - {"-"}
        chosen = [g for g in dict.fromkeys(str(g) for g in wanted) if g in allowed]
        selection = " " + "".join(f"{g} " for g in chosen) + "-"
        await command_records.write(conn, user=agent.user, values=dict(
            external_ingroups=selection, external_blended=blended,
            external_igb_set_user=fit(VLA.external_igb_set_user, agent.user), manager_ingroup_set="SET"),
            function="console", source="console", at=agent.services.clock.now())
        await _sync_live_inbound(conn, agent.user, row.get("closer_campaigns") or "", chosen, _now(services))
        return selection

    selection = await services.db.transaction(select)
    services.bus.publish(AGENT_COMMAND, agent.user)
    return {"ok": True, "sent": {"external_ingroups": selection, "external_blended": blended,
                                 "manager_ingroup_set": "SET"}}


async def _sync_live_inbound(conn: AsyncConnection, user: str, previous: str, chosen: list[str],
                             now: Any) -> None:
    """Keep `vicidial_live_inbound_agents` in step with the selection, as change_ingroups does."""
    GA, LA = vicidial_inbound_group_agents.c, vicidial_live_inbound_agents.c
    for group in chosen:
        if (await conn.execute(sa.select(sa.func.count()).select_from(vicidial_live_inbound_agents)
                               .where(LA.user == user, LA.group_id == group))).scalar():
            continue
        settings = (await conn.execute(sa.select(GA.group_weight, GA.calls_today, GA.group_grade,
                                                 GA.calls_today_filtered, GA.daily_limit)
                                       .where(GA.user == user, GA.group_id == group))).mappings().first()
        values = dict(settings) if settings else {"group_weight": 0, "calls_today": 0, "group_grade": 1,
                                                  "calls_today_filtered": 0, "daily_limit": -1}
        await conn.execute(sa.insert(vicidial_live_inbound_agents).values(
            user=user, group_id=group, last_call_time=now, last_call_finish=now, last_call_time_filtered=now,
            last_call_finish_filtered=now, **values))
    for group in previous.split():
        if group != "-" and group not in chosen:
            await conn.execute(sa.delete(vicidial_live_inbound_agents)
                               .where(LA.user == user, LA.group_id == group))


@_act("Ring the agent's phone into the session again", {})
async def call_phone(request: Request, services: Services) -> dict[str, Any]:
    """POST /console/api/phone: ring the agent's phone into its session again, as `call_agent` does (the
    login originate replayed through `vicidial_manager`)."""
    agent = await _agent(request, services)
    SD = vicidial_session_data.c

    async def queue(conn: AsyncConnection) -> None:
        row = await agent.row(conn)
        login_call = (await conn.execute(sa.select(SD.agent_login_call).where(SD.user == agent.user))).scalar()
        entry = login_replay_row(login_call or "", row["conf_exten"] or "", _now(services))
        if entry is None:
            raise Refused("no login call to repeat for this session")
        await conn.execute(sa.insert(vicidial_manager).values(**entry))

    await services.db.transaction(queue)
    return {"ok": True, "sent": {"call_agent": "CALL"}}


def console_api_routes(services: Services) -> list[BaseRoute]:
    def route(path: str, fn: Handler, method: str) -> Route:
        return Route(f"/console/api/{path}", _endpoint(services, fn), methods=[method])

    return [
        route("context", context, "GET"),
        route("lead", lead, "GET"),
        route("script", script, "GET"),
        route("callbacks", callbacks, "GET"),
        route("transfer", transfer, "POST"),
        route("park", park, "POST"),
        route("record", record, "POST"),
        route("dtmf", dtmf, "POST"),
        route("ingroups", ingroups, "POST"),
        route("phone", call_phone, "POST"),
    ]
