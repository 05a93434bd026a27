"""`GET /healthz`: what this process depends on, in one JSON answer (ours; upstream has no such page).

    {"status": "ok"|"degraded"|"down",
     "database": {"status": "ok"|"error", "backend": "sqlite"|"mariadb", "ms": 1.2},
     "bus": {"redis": "connected"|"reconnecting"|"off", "since": "2026-01-15T10:30:00.000+00:00", "reconnects": 0},
     "engine": "running"|"off",
     "switch": "simulated"|"connected"|"disconnected"|"off"}

HTTP 200 while the database answers (a lost Redis bridge or switch only degrades the service: the engine's
sweep still picks commands up), 503 when it does not. No credentials needed; it names no agent, call or host.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from openagc.openapi.describe import INTEGER, OPERATIONS, STRING, component, json_answer, nullable, obj, operation

if TYPE_CHECKING:
    from openagc.services import Services

BRIDGE = "redis_bridge"  # services.extra key of this process's bus.RedisBridge


async def _database(services: Services) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        async with asyncio.timeout(2):
            async with services.db.connect() as conn:
                await conn.execute(sa.select(1))
        status = "ok"
    except Exception:  # any failure to answer is "error"; the log of the request that needs it says why
        status = "error"
    ms = round((time.perf_counter() - started) * 1000, 1)
    return {"status": status, "backend": "sqlite" if services.db.sqlite else "mariadb", "ms": ms}


def _switch(services: Services) -> str:
    engine = services.extra.get("engine")
    switch = getattr(engine, "switch", None)
    if switch is None:
        return "off"
    manager = getattr(switch, "manager", None)  # the Asterisk adapter's AMI connection
    if manager is None:
        return "simulated"
    protocol = getattr(manager, "protocol", None)
    return "connected" if protocol is not None and not getattr(protocol, "closed", False) else "disconnected"


def report(services: Services, database: dict[str, Any]) -> dict[str, Any]:
    """The health document (without the database probe, which `healthz` runs)."""
    bridge = services.extra.get(BRIDGE)
    bus = bridge.health() if bridge is not None else {"redis": "off", "since": None, "reconnects": 0}
    engine = "running" if services.extra.get("engine") is not None else "off"
    switch = _switch(services)
    degraded = bus["redis"] == "reconnecting" or switch == "disconnected"
    status = "down" if database["status"] != "ok" else "degraded" if degraded else "ok"
    return {"status": status, "database": database, "bus": bus, "engine": engine, "switch": switch}


HEALTH = component("Health", obj({
    "status": {"enum": ["ok", "degraded", "down"]},
    "database": obj({"status": {"enum": ["ok", "error"]}, "backend": {"enum": ["sqlite", "mariadb"]},
                     "ms": {"type": "number"}}, ["status", "backend", "ms"]),
    "bus": obj({"redis": {"enum": ["connected", "reconnecting", "off"]}, "since": nullable(STRING),
                "reconnects": INTEGER}, ["redis", "since", "reconnects"]),
    "engine": {"enum": ["running", "off"]},
    "switch": {"enum": ["simulated", "connected", "disconnected", "off"]},
}, ["status", "database", "bus", "engine", "switch"], description="What this process depends on."))


@operation("GET", summary="Health of this process", tags=[OPERATIONS],
           responses={200: json_answer("The database answers (`ok`, or `degraded`: Redis bridge or switch down).",
                                       HEALTH),
                      503: json_answer("The database does not answer (`down`).", HEALTH)})
async def healthz(request: Request) -> JSONResponse:
    """What this process depends on, in one answer; no credentials needed, it names no agent, call or host."""
    services: Services = request.app.state.services
    body = report(services, await _database(services))
    code = 503 if body["status"] == "down" else 200
    return JSONResponse(body, status_code=code, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [Route("/healthz", healthz, methods=["GET"])]
