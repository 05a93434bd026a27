"""`/api/v1/webhooks`: an admin-level API user manages its own webhook subscriptions.

    GET    /api/v1/webhooks               its subscriptions (never their secrets)
    POST   /api/v1/webhooks               {"url", "kinds"?, "campaigns"?, "user_groups"?, "agents"?, "secret"?} → 201,
                                          the subscription with its secret (the only time it is shown)
    DELETE /api/v1/webhooks/{id}          remove it and its attempt log
    POST   /api/v1/webhooks/{id}/enable   active again, failures reset; delivery resumes after its cursor

Callers authenticate as every `/api/v1/` caller does (`caller.identify`: HTTP Basic or Bearer) and need
user_level 8 or more (as `/simulate/inbound`): 401 / 403 otherwise, 400 for bad input, 404 for an id that is not
one of the caller's subscriptions; a refused request changes nothing. The caller owns what it creates, so it must
be allowed to read events (`view_reports`, 403 otherwise) and its user group's scope decides what is delivered.
"""

from __future__ import annotations

import json
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from openagc.integrations.caller import Caller, identify
from openagc.integrations.webhooks import store
from openagc.integrations.webhooks.dispatch import WAKE_TOPIC
from openagc.integrations.webhooks.scope import NotPermitted
from openagc.openapi.describe import (
    BOOLEAN,
    INTEGER,
    INTEGRATIONS,
    INTEGRATOR,
    STRING,
    component,
    json_answer,
    nullable,
    obj,
    operation,
    param,
    refusal,
)
from openagc.services import Services

ADMIN_LEVEL = 8

# --- the OpenAPI description ----------------------------------------------------------------------------------------
_VALUES: dict[str, Any] = {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_.:@-]+$"},
                           "minItems": 1, "maxItems": store.MAX_VALUES}
_LISTS = {name: nullable(_VALUES | {"items": _VALUES["items"] | {"maxLength": longest}})
          for name, longest in store.FILTERS.items()}
_TIME = nullable({"type": "string", "format": "date-time"})
WEBHOOK = component("Webhook", obj({
    "id": INTEGER, "url": STRING, "owner": STRING, "active": BOOLEAN, **_LISTS, "last_event_id": INTEGER,
    "failures": INTEGER, "next_attempt": _TIME, "delivered": INTEGER, "failed": INTEGER,
    "created": {"type": "string", "format": "date-time"}, "disabled": _TIME, "disabled_reason": STRING,
}, ["id", "url", "owner", "active", *store.FILTERS, "last_event_id", "failures", "next_attempt", "delivered",
    "failed", "created", "disabled", "disabled_reason"], description="A subscription (docs/webhooks.md); null "
    "lists: any."))
NEW_WEBHOOK = obj({"url": {"type": "string", "format": "uri", "maxLength": store.MAX_URL}, **{
    name: _VALUES | {"items": _VALUES["items"] | {"maxLength": longest}} for name, longest in store.FILTERS.items()},
    "secret": {"type": "string", "pattern": "^whsec_", "description": "The base64 of 24 to 64 bytes after whsec_ "
               "(left out: a new one is made)."}}, ["url"], additionalProperties=False)
_REFUSED = {401: refusal("No or wrong credentials."), 403: refusal(
                "The caller's user_level is below 8 (or, creating, it may not read events: view_reports)."),
            429: refusal("The API key's rate limit is spent.")}
_NOT_FOUND = {404: refusal("No such subscription of the caller's.")}
_ID = param("path", "webhook_id", "The subscription's id.", INTEGER)


class Refused(Exception):
    def __init__(self, message: str, status: int, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.headers = status, headers


def _services(request: Request) -> Services:
    return request.app.state.services


async def _admin(request: Request) -> Caller:
    try:
        caller = await identify(request, _services(request))
    except HTTPException as exc:
        raise Refused(str(exc.detail), exc.status_code, dict(exc.headers or {})) from None
    if caller.user_level < ADMIN_LEVEL:
        raise Refused(f"managing webhooks needs user_level {ADMIN_LEVEL} or more", 403)
    return caller


def _answer(handler):
    """Run `handler(request, caller)` for an admin caller; a refusal is `{"error": …}` with its status."""

    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request, await _admin(request))
        except Refused as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status, headers=exc.headers)

    return endpoint


async def _body(request: Request) -> dict[str, Any]:
    try:
        data = json.loads(await request.body() or b"null")
    except (ValueError, UnicodeDecodeError):
        raise Refused("the body is not JSON", 400) from None
    if not isinstance(data, dict):
        raise Refused('expected a JSON object, e.g. {"url": "https://example.com/hook"}', 400)
    return data


async def _listed(request: Request, caller: Caller) -> Response:
    """The caller's subscriptions (secrets are never listed)."""
    async with _services(request).db.connect() as conn:
        found = await store.listed(conn, owner=caller.user)
    return JSONResponse({"webhooks": [s.public() for s in found]})


async def _create(request: Request, caller: Caller) -> Response:
    """Subscribe a URL to the events appended from now on; the answer carries the secret, once."""
    services = _services(request)
    try:
        new = store.new_subscription(caller.user, await _body(request))
        async with services.db.begin() as conn:
            created = await store.create(conn, new, int(time.time() * 1000))
    except store.Invalid as exc:
        raise Refused(str(exc), 400) from None
    except NotPermitted as exc:
        raise Refused(str(exc), 403) from None
    services.bus.publish(WAKE_TOPIC, created.id)
    return JSONResponse(created.public() | {"secret": new.secret}, status_code=201)


async def _own(conn: Any, request: Request, caller: Caller) -> int:
    webhook_id = int(request.path_params["webhook_id"])
    found = await store.get(conn, webhook_id)
    if found is None or found.owner != caller.user:
        raise Refused(f"no webhook {webhook_id}", 404)
    return webhook_id


@operation("DELETE", summary="Remove a webhook subscription", tags=[INTEGRATIONS], security=INTEGRATOR,
           parameters=[_ID], responses={200: json_answer("Removed, with its attempt log.", obj(
               {"id": INTEGER, "removed": {"const": True}}, ["id", "removed"])), **_REFUSED, **_NOT_FOUND})
async def _remove(request: Request, caller: Caller) -> Response:
    """Delete one of the caller's subscriptions and its attempt log."""
    async with _services(request).db.begin() as conn:
        webhook_id = await _own(conn, request, caller)
        await store.remove(conn, webhook_id)
    return JSONResponse({"id": webhook_id, "removed": True})


@operation("POST", summary="Enable a webhook subscription again", tags=[INTEGRATIONS], security=INTEGRATOR,
           parameters=[_ID], responses={200: json_answer("Active again, no failures.", WEBHOOK), **_REFUSED,
                                        **_NOT_FOUND})
async def _enable(request: Request, caller: Caller) -> Response:
    """Make one of the caller's subscriptions active again: delivery resumes after its cursor."""
    services = _services(request)
    async with services.db.begin() as conn:
        enabled = await store.enable(conn, await _own(conn, request, caller))
    assert enabled is not None
    services.bus.publish(WAKE_TOPIC, enabled.id)
    return JSONResponse(enabled.public())


@operation("GET", summary="The caller's webhook subscriptions", tags=[INTEGRATIONS], security=INTEGRATOR,
           responses={200: json_answer("Its subscriptions, never their secrets.", obj(
               {"webhooks": {"type": "array", "items": WEBHOOK}}, ["webhooks"])), **_REFUSED},
           description="The subscriptions the caller owns (an API user of user_level 8 or more).")
@operation("POST", summary="Subscribe a URL to events", tags=[INTEGRATIONS], security=INTEGRATOR,
           body={"required": True, "content": {"application/json": {"schema": NEW_WEBHOOK, "example": {
               "url": "https://crm.example.com/openagc", "kinds": ["agent.state"], "campaigns": ["TESTCAMP"]}}}},
           responses={201: json_answer("The subscription, with its secret (shown only now).", {"allOf": [
               WEBHOOK, obj({"secret": STRING}, ["secret"])]}),
               400: refusal("Not a JSON object, an unknown field, a bad URL, list or secret."), **_REFUSED},
           description="Events the caller may see, appended from now on, are POSTed to `url`, signed (Standard "
                       "Webhooks; docs/webhooks.md).")
async def _collection(request: Request) -> Response:
    return await (_answer(_listed) if request.method == "GET" else _answer(_create))(request)


def routes(_services: Services) -> list[BaseRoute]:
    return [
        Route("/api/v1/webhooks", _collection, methods=["GET", "POST"]),
        Route("/api/v1/webhooks/{webhook_id:int}", _answer(_remove), methods=["DELETE"]),
        Route("/api/v1/webhooks/{webhook_id:int}/enable", _answer(_enable), methods=["POST"]),
    ]
