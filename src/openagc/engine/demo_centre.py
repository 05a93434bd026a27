"""The simulated centre inside a running server: demo callers, and `POST /simulate/inbound` for an operator.

Demo callers (`settings.demo_callers` calls a minute, 0 = off; `openagc serve` turns them on for the embedded demo
database) ring the demo in-groups through `engine/callers.py`, and the switch's customers take the demo mix
(`DEMO_CUSTOMERS`: auto-dial leads answer after a few seconds, some are busy or do not answer, callers abandon
after their patience). `POST /simulate/inbound` puts one caller into an in-group of a running server on the
simulated switch (what `openagc call inbound` sends).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from openagc.credentials import authenticate, load_user
from openagc.engine.callers import DEMO_CUSTOMERS, DEMO_INGROUPS, Callers
from openagc.openapi.describe import SIMULATION, STRING, body, json_answer, nullable, obj, operation, refusal
from openagc.services import load_system
from openagc.store.schema import vicidial_auto_calls, vicidial_inbound_groups, vicidial_live_agents
from openagc.switch.simulated import SimulatedSwitch

if TYPE_CHECKING:
    from openagc.services import Services

log = logging.getLogger(__name__)
CALLERS = "demo_callers"  # services.extra key of the running `Callers`
DEMO_SEED = 1
ADMIN_LEVEL = 8  # user_level an API user needs to place simulated calls
MAX_NUMBER = 18  # digits kept of a caller's number (vicidial_auto_calls.phone_number)


async def start(services: Services) -> Callable[[], Awaitable[None]]:
    """Start the demo callers when the settings ask for them and the engine drives a simulated switch."""
    rate = float(services.settings.demo_callers or 0)
    switch = services.extra.get("switch")

    async def nothing() -> None:
        return None

    if rate <= 0:
        return nothing
    if not isinstance(switch, SimulatedSwitch):
        log.warning("demo callers are off: the switch is not the simulated one")
        return nothing
    switch.default_script = DEMO_CUSTOMERS
    callers = Callers(switch, calls_per_minute=rate, seed=DEMO_SEED, ingroups=DEMO_INGROUPS, steady=True)
    callers.start()
    services.extra[CALLERS] = callers

    async def stop() -> None:
        callers.close()
        if services.extra.get(CALLERS) is callers:
            services.extra.pop(CALLERS, None)

    return stop


# --- POST /simulate/inbound ------------------------------------------------------------------------------------


class Refused(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


async def _fields(request: Request) -> dict[str, str]:
    """A flat JSON object or a form (credentials travel in the body, not in the URL)."""
    if "json" in request.headers.get("content-type", ""):
        raw = await request.body()
        try:
            data = json.loads(raw) if raw else {}
        except (ValueError, RecursionError):
            raise Refused("the body is not JSON", 400) from None
        if not isinstance(data, dict) or not all(isinstance(v, (str, int)) for v in data.values()):
            raise Refused("expected a flat JSON object of text fields", 400)
        return {k: str(v) for k, v in data.items()}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _authorize(services: Services, fields: dict[str, str], client_ip: str) -> None:
    """API-user credentials (`user`, `pass`, the api.php lockout) of a user with user_level ≥ 8."""
    user = fields.get("user", "")
    now = services.clock.now().replace(microsecond=0)
    async with services.db.begin() as conn:
        system = await load_system(conn)
        row = await load_user(conn, user) if user else None
        auth = await authenticate(conn, user, fields.get("pass", ""), client_ip=client_ip, now=now,
                                  system=system, row=row, rule=services.lockout)
    if not auth.ok or row is None:
        raise Refused("invalid user or password", 401)
    if int(row["user_level"] or 0) < ADMIN_LEVEL:
        raise Refused(f"placing simulated calls needs user_level {ADMIN_LEVEL} or more", 403)


@operation("POST", summary="Put a simulated caller into an in-group", tags=[SIMULATION],
           body=body({"user": STRING, "pass": STRING, "ingroup": STRING, "phone_number": STRING},
                     ["user", "pass", "ingroup"], example={"user": "6666", "pass": "1234", "ingroup": "TEST_IN"}),
           responses={200: json_answer("The call, waiting or taken.", obj({
               "call_id": STRING, "uniqueid": STRING, "channel": STRING, "ingroup": STRING, "phone_number": STRING,
               "status": {"enum": ["taken", "waiting", "ended"]}, "agent_user": nullable(STRING)},
               ["call_id", "uniqueid", "channel", "ingroup", "phone_number", "status", "agent_user"])),
                      400: refusal("Bad in-group or number, or a body that is not a flat object."),
                      401: refusal("Bad credentials."), 403: refusal("The user's level is below 8."),
                      409: refusal("This server has no simulated switch (Asterisk, or the engine off).")})
async def inbound(request: Request) -> Response:
    """`POST /simulate/inbound` (ours): `user`, `pass`, `ingroup`[, `phone_number`] → a caller waits in the in-group.

    Answers the call (`call_id`, `uniqueid`, `channel`, `ingroup`, `phone_number`) and, once the engine has queued
    it, `status` `waiting` or `taken` with the `agent_user` who took it. 401/403 for credentials, 400 for a bad
    in-group or number, 409 when this server has no simulated switch (Asterisk, or the engine off).
    """
    services: Services = request.app.state.services
    try:
        fields = await _fields(request)
        await _authorize(services, fields, request.client.host if request.client else "")
        engine = services.extra.get("engine")
        switch = services.extra.get("switch")
        if engine is None:
            raise Refused("this server runs no engine (--engine off): there is no switch to place a call on", 409)
        if not isinstance(switch, SimulatedSwitch):
            raise Refused("this server drives a real switch (Asterisk): place a real call through its trunk", 409)
        ingroup = fields.get("ingroup", "").strip()
        number = fields.get("phone_number", "").strip() or "3125551234"
        if not number.isdigit() or len(number) > MAX_NUMBER:
            raise Refused(f"phone_number must be 1 to {MAX_NUMBER} digits", 400)
        G = vicidial_inbound_groups.c
        async with services.db.connect() as conn:
            active = (await conn.execute(sa.select(G.active).where(G.group_id == ingroup))).scalar()
        if active is None:
            raise Refused(f"no in-group {ingroup!r}", 400)
        if active != "Y":
            raise Refused(f"in-group {ingroup} is not active", 400)
        channel = switch.inject_inbound(number, ingroup)
        await switch.settle()
        await engine.watcher.drain()  # the engine has queued the caller (and handed it to a free agent)
        async with services.db.connect() as conn:
            status = (await conn.execute(sa.select(vicidial_auto_calls.c.status).where(
                vicidial_auto_calls.c.uniqueid == channel.uniqueid[:20]))).scalar()
            agent = (await conn.execute(sa.select(vicidial_live_agents.c.user).where(
                vicidial_live_agents.c.uniqueid == channel.uniqueid[:20]))).scalar()
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    answer: dict[str, Any] = {
        "call_id": channel.call_id, "uniqueid": channel.uniqueid, "channel": channel.name, "ingroup": ingroup,
        "phone_number": number, "status": "taken" if agent else ("waiting" if status == "LIVE" else "ended"),
        "agent_user": agent,
    }
    return JSONResponse(answer)


def routes(_services: Services) -> list[BaseRoute]:
    return [Route("/simulate/inbound", inbound, methods=["POST"])]
