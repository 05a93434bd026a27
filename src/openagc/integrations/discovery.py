"""`/api/v1/discovery/…` (ours): what an integrator may use, as JSON, limited to what the caller may see.

    GET /api/v1/discovery/campaigns                  campaigns of the caller's `allowed_campaigns`
    GET /api/v1/discovery/ingroups                   in-groups of those campaigns, and in-groups of viewable groups
    GET /api/v1/discovery/statuses[?campaign=ID]     system statuses, and each visible campaign's own
    GET /api/v1/discovery/pause-codes[?campaign=ID]  each visible campaign's pause codes
    GET /api/v1/discovery/agents                     users of the caller's `admin_viewable_groups`, logged in or not

Callers authenticate as every `/api/v1/` caller does (`caller.identify`: HTTP Basic or Bearer API key); 401
without valid credentials, 404 for a `campaign` that is unknown or outside the caller's campaigns (the two are
not told apart). An in-group is visible when a visible campaign takes calls from it (`closer_campaigns`) or
transfers to it (`xfer_groups`), or when its own `user_group` is `---ALL---` or a group the caller may see.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from openagc.companion.access import ALL_GROUPS
from openagc.integrations.caller import Caller, identify
from openagc.openapi.describe import (
    BOOLEAN,
    INTEGER,
    INTEGRATIONS,
    INTEGRATOR,
    STRING,
    Schema,
    component,
    json_answer,
    nullable,
    obj,
    operation,
    query,
    refusal,
)
from openagc.services import Services
from openagc.store.schema import (
    vicidial_campaign_statuses,
    vicidial_campaigns,
    vicidial_inbound_groups,
    vicidial_live_agents,
    vicidial_pause_codes,
    vicidial_statuses,
    vicidial_users,
)

PREFIX = "/api/v1/discovery"
HEADERS = {"Cache-Control": "no-store"}
C, IG, U, VLA = vicidial_campaigns.c, vicidial_inbound_groups.c, vicidial_users.c, vicidial_live_agents.c
STATUS_FLAGS = ("selectable", "human_answered", "sale", "dnc", "customer_contact", "not_interested", "unworkable",
                "scheduled_callback", "completed", "answering_machine")

Handler = Callable[[AsyncConnection, Caller, Request], Awaitable[dict[str, Any]]]


NAMES: Schema = {"type": "array", "items": STRING}
CAMPAIGN = component("DiscoveryCampaign", obj({
    "campaign_id": STRING, "campaign_name": STRING, "active": BOOLEAN, "dial_method": STRING,
    "allow_inbound": BOOLEAN, "ingroups": NAMES, "transfer_groups": NAMES,
    "pause_codes": {"enum": ["Y", "N", "FORCE"]},
}, ["campaign_id", "campaign_name", "active", "dial_method", "allow_inbound", "ingroups", "transfer_groups",
    "pause_codes"]))
INGROUP = component("DiscoveryInGroup", obj({
    "group_id": STRING, "group_name": STRING, "active": BOOLEAN, "group_color": STRING, "user_group": STRING,
    "campaigns": NAMES}, ["group_id", "group_name", "active", "group_color", "user_group", "campaigns"]))
STATUS = component("DiscoveryStatus", obj(
    {"status": STRING, "status_name": STRING, "category": STRING, **{f: BOOLEAN for f in STATUS_FLAGS},
     "min_sec": INTEGER, "max_sec": INTEGER}, ["status", "status_name", "category", *STATUS_FLAGS]))
PAUSE_CODE = component("DiscoveryPauseCode", obj({
    "pause_code": STRING, "pause_code_name": STRING, "billable": {"enum": ["NO", "YES", "HALF"]},
    "time_limit": INTEGER, "require_mgr_approval": BOOLEAN},
    ["pause_code", "pause_code_name", "billable", "time_limit", "require_mgr_approval"]))
AGENT = component("DiscoveryAgent", obj({
    "user": STRING, "full_name": STRING, "user_group": STRING, "user_level": INTEGER, "active": BOOLEAN,
    "logged_in": nullable(obj({"campaign_id": STRING, "status": STRING}, ["campaign_id", "status"]))},
    ["user", "full_name", "user_group", "user_level", "active", "logged_in"]))
CAMPAIGN_PARAM = query("campaign", "Only this campaign (404 when it is unknown or not one of the caller's).")
REFUSED = {401: refusal("No or wrong credentials."), 429: refusal("The API key's rate limit is spent.")}


def _per_campaign(item: Schema) -> Schema:
    return {"type": "object", "additionalProperties": {"type": "array", "items": item}}


class NotFound(Exception):
    """A 404 with its message."""


def _pieces(text: str | None) -> list[str]:
    """A ` A B -` list of upstream's as its names."""
    return [g for g in (text or "").split() if g != "-"]


def _visible(caller: Caller, campaign_id: str | None) -> bool:
    return campaign_id is not None and caller.may_see_campaign(campaign_id)


async def _campaign_rows(conn: AsyncConnection, caller: Caller) -> list[sa.RowMapping]:
    rows = (await conn.execute(sa.select(C.campaign_id, C.campaign_name, C.active, C.dial_method,
                                         C.campaign_allow_inbound, C.closer_campaigns, C.xfer_groups,
                                         C.agent_pause_codes_active).order_by(C.campaign_id))).mappings().all()
    return [r for r in rows if _visible(caller, r["campaign_id"])]


async def _wanted_campaigns(conn: AsyncConnection, caller: Caller, request: Request) -> list[str]:
    """The visible campaigns, or the one named by `?campaign=` (NotFound when it is unknown or not visible)."""
    visible = [r["campaign_id"] for r in await _campaign_rows(conn, caller)]
    wanted = request.query_params.get("campaign")
    if wanted is None:
        return visible
    if wanted not in visible:
        raise NotFound(f"no such campaign: {wanted}")
    return [wanted]


@operation("GET", summary="Campaigns the caller may use", tags=[INTEGRATIONS], security=INTEGRATOR,
           responses={200: json_answer("The caller's allowed campaigns.", obj({"campaigns": {
               "type": "array", "items": CAMPAIGN}}, ["campaigns"])), **REFUSED})
async def campaigns(conn: AsyncConnection, caller: Caller, request: Request) -> dict[str, Any]:
    """Campaigns of the caller's `allowed_campaigns`, active or not."""
    return {"campaigns": [{
        "campaign_id": r["campaign_id"], "campaign_name": r["campaign_name"] or "", "active": r["active"] == "Y",
        "dial_method": r["dial_method"], "allow_inbound": r["campaign_allow_inbound"] == "Y",
        "ingroups": _pieces(r["closer_campaigns"]), "transfer_groups": _pieces(r["xfer_groups"]),
        "pause_codes": r["agent_pause_codes_active"] or "N",
    } for r in await _campaign_rows(conn, caller)]}


@operation("GET", summary="In-groups the caller may use", tags=[INTEGRATIONS], security=INTEGRATOR,
           responses={200: json_answer("In-groups of the caller's campaigns and of its viewable groups.", obj(
               {"ingroups": {"type": "array", "items": INGROUP}}, ["ingroups"])), **REFUSED})
async def ingroups(conn: AsyncConnection, caller: Caller, request: Request) -> dict[str, Any]:
    """In-groups a visible campaign takes calls from or transfers to, and in-groups of viewable groups."""
    taking: dict[str, list[str]] = {}
    reachable: set[str] = set()
    for campaign in await _campaign_rows(conn, caller):
        for group in _pieces(campaign["closer_campaigns"]):
            taking.setdefault(group, []).append(campaign["campaign_id"])
        reachable.update(_pieces(campaign["xfer_groups"]))
    rows = (await conn.execute(sa.select(IG.group_id, IG.group_name, IG.active, IG.group_color, IG.user_group)
                               .order_by(IG.group_id))).mappings().all()
    return {"ingroups": [{
        "group_id": r["group_id"], "group_name": r["group_name"] or "", "active": r["active"] == "Y",
        "group_color": r["group_color"] or "", "user_group": r["user_group"] or "",
        "campaigns": taking.get(r["group_id"], []),
    } for r in rows if r["group_id"] in taking or r["group_id"] in reachable
        or r["user_group"] == ALL_GROUPS or caller.may_see_group(r["user_group"] or "")]}


def _status(row: sa.RowMapping) -> dict[str, Any]:
    return {"status": row["status"], "status_name": row["status_name"] or "", "category": row["category"] or "",
            **{flag: row[flag] == "Y" for flag in STATUS_FLAGS},
            "min_sec": int(row["min_sec"] or 0), "max_sec": int(row["max_sec"] or 0)}


@operation("GET", summary="Statuses: the system's and each campaign's", tags=[INTEGRATIONS],
           security=INTEGRATOR, parameters=[CAMPAIGN_PARAM],
           responses={200: json_answer("System statuses, and each visible campaign's own.", obj({
               "system": {"type": "array", "items": STATUS}, "campaigns": _per_campaign(STATUS)},
               ["system", "campaigns"])), 404: refusal("No such campaign (or not the caller's)."), **REFUSED})
async def statuses(conn: AsyncConnection, caller: Caller, request: Request) -> dict[str, Any]:
    """System statuses, and each visible campaign's own (`?campaign=`: that one only)."""
    wanted = await _wanted_campaigns(conn, caller, request)
    system = (await conn.execute(sa.select(vicidial_statuses).order_by(vicidial_statuses.c.status))).mappings()
    S = vicidial_campaign_statuses.c
    own = (await conn.execute(sa.select(vicidial_campaign_statuses).where(S.campaign_id.in_(wanted))
                              .order_by(S.campaign_id, S.status))).mappings().all()
    return {"system": [_status(r) for r in system],
            "campaigns": {c: [_status(r) for r in own if r["campaign_id"] == c] for c in wanted}}


@operation("GET", summary="Pause codes of each campaign", tags=[INTEGRATIONS], security=INTEGRATOR,
           parameters=[CAMPAIGN_PARAM],
           responses={200: json_answer("Each visible campaign's pause codes.", obj(
               {"campaigns": _per_campaign(PAUSE_CODE)}, ["campaigns"])),
               404: refusal("No such campaign (or not the caller's)."), **REFUSED})
async def pause_codes(conn: AsyncConnection, caller: Caller, request: Request) -> dict[str, Any]:
    """Each visible campaign's pause codes (`?campaign=`: that one only)."""
    wanted = await _wanted_campaigns(conn, caller, request)
    P = vicidial_pause_codes.c
    rows = (await conn.execute(sa.select(vicidial_pause_codes).where(P.campaign_id.in_(wanted))
                               .order_by(P.campaign_id, P.pause_code))).mappings().all()
    return {"campaigns": {c: [{
        "pause_code": r["pause_code"], "pause_code_name": r["pause_code_name"] or "", "billable": r["billable"],
        "time_limit": r["time_limit"], "require_mgr_approval": r["require_mgr_approval"] == "YES",
    } for r in rows if r["campaign_id"] == c] for c in wanted}}


@operation("GET", summary="Agents the caller may see", tags=[INTEGRATIONS], security=INTEGRATOR,
           responses={200: json_answer("Users of the caller's viewable groups, and where they are logged in.", obj(
               {"agents": {"type": "array", "items": AGENT}}, ["agents"])), **REFUSED})
async def agents(conn: AsyncConnection, caller: Caller, request: Request) -> dict[str, Any]:
    """Users of the caller's `admin_viewable_groups`, and the campaign and status of those logged in."""
    users = (await conn.execute(sa.select(U.user, U.full_name, U.user_group, U.user_level, U.active)
                                .order_by(U.user))).mappings().all()
    live = {r["user"]: r for r in (await conn.execute(
        sa.select(VLA.user, VLA.campaign_id, VLA.status).order_by(VLA.live_agent_id))).mappings()}
    return {"agents": [{
        "user": u["user"], "full_name": u["full_name"] or "", "user_group": u["user_group"] or "",
        "user_level": int(u["user_level"] or 0), "active": u["active"] == "Y",
        "logged_in": {"campaign_id": live[u["user"]]["campaign_id"], "status": live[u["user"]]["status"]}
        if u["user"] in live else None,
    } for u in users if caller.may_see_group(u["user_group"] or "")]}


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    @functools.wraps(handler)  # its name, docstring and documented operation
    async def endpoint(request: Request) -> Response:
        services: Services = request.app.state.services
        try:
            caller = await identify(request, services)
            async with services.db.connect() as conn:
                body = await handler(conn, caller, request)
        except HTTPException as exc:
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code,
                                headers=HEADERS | dict(exc.headers or {}))
        except NotFound as exc:
            return JSONResponse({"error": str(exc)}, status_code=404, headers=HEADERS)
        return JSONResponse(body, headers=HEADERS)

    return endpoint


def routes() -> list[BaseRoute]:
    return [Route(f"{PREFIX}/{name}", _endpoint(handler), methods=["GET"]) for name, handler in (
        ("campaigns", campaigns), ("ingroups", ingroups), ("statuses", statuses), ("pause-codes", pause_codes),
        ("agents", agents))]
