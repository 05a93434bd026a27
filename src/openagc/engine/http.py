"""The agent-side JSON API under `/agent/` (what the console uses), and its event stream.

Login creates the session and answers with a token (`Authorization: Bearer <token>` or the
`openagc_agent` cookie on later calls). Every other action is the same command the Agent API writes —
a `vicidial_live_agents` command column — followed by an immediate pass of the engine, so there is one
code path for a click, an `api.php` call and a plain SQL write. The answer carries the agent's state;
a deferred action (pause or logout during a call) shows as `"pending"`.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from openagc.engine import session
from openagc.store.schema import vicidial_live_agents, vicidial_session_data

if TYPE_CHECKING:
    from openagc.engine.runtime import Engine

COOKIE = "openagc_agent"
VLA = vicidial_live_agents.c
KEEPALIVE_SECONDS = 15.0


class Refused(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _engine(request: Request) -> Engine:
    engine = request.app.state.services.extra.get("engine")
    if engine is None:
        raise Refused("the agent session engine is not running", 503)
    return engine


async def _body(request: Request) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    if "json" in ctype:
        raw = await request.body()
        data = json.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise Refused("expected a JSON object", 400)
        return data
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _token(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(COOKIE, "")


async def _agent(request: Request, engine: Engine) -> str:
    """The user the session token belongs to (the token is `vicidial_session_data.session_name`)."""
    token = _token(request)
    if not token:
        raise Refused("missing session token", 401)
    SD = vicidial_session_data.c
    async with engine.services.db.connect() as conn:
        user = (await conn.execute(sa.select(SD.user).where(SD.session_name == token))).scalar()
    if not user:
        raise Refused("invalid or expired session token", 401)
    return user


def _yes(value: Any) -> bool:
    return value is True or str(value).strip().upper() in ("1", "Y", "YES", "TRUE", "ON")


async def _command(engine: Engine, user: str, gate: Any, **columns: Any) -> dict[str, Any]:
    """Write command columns (if `gate(state)` allows), process the agent at once, answer its state."""
    state = await engine.state(user)
    if state is None:
        raise Refused("agent is not logged in", 401)
    message = gate(state)
    if message:
        raise Refused(message)
    async with engine.services.db.begin() as conn:
        await conn.execute(sa.update(vicidial_live_agents).where(VLA.user == user).values(**columns))
    await engine.process(user)
    return {"ok": True, "state": await engine.state(user)}


def _handler(fn: Any) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            engine = _engine(request)
            result = await fn(request, engine)
        except Refused as exc:
            return _error(str(exc), exc.status)
        except session.LoginError as exc:
            return _error(str(exc), exc.status)
        except (ValueError, json.JSONDecodeError) as exc:
            return _error(f"bad request: {exc}", 400)
        return result if isinstance(result, Response) else JSONResponse(result)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


# --- endpoints --------------------------------------------------------------------------------------------


async def login(request: Request, engine: Engine) -> Response:
    """POST /agent/login: user, pass, phone_login, phone_pass, campaign[, ingroups, blended]."""
    b = await _body(request)
    groups = b.get("ingroups")
    if isinstance(groups, str):
        groups = [g for g in groups.replace(",", " ").split() if g != "-"]
    req = session.LoginRequest(
        user=str(b.get("user", "")),
        password=str(b.get("pass", b.get("password", ""))),
        phone_login=str(b.get("phone_login", b.get("user", ""))),
        phone_pass=str(b.get("phone_pass", "")),
        campaign_id=str(b.get("campaign", b.get("campaign_id", ""))),
        ingroups=list(groups) if groups is not None else None,
        blended=None if b.get("blended") is None else _yes(b.get("blended")),
        computer_ip=request.client.host if request.client else "",
        browser=request.headers.get("user-agent", ""),
    )
    if not (req.user and req.password and req.phone_login and req.campaign_id):
        raise Refused("user, pass, phone_login, phone_pass and campaign are required", 400)
    token, conf = await engine.login(req)
    response = JSONResponse(
        {"token": token, "user": req.user, "conf_exten": conf, "state": await engine.state(req.user)}
    )
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response


async def state(request: Request, engine: Engine) -> dict[str, Any]:
    """GET /agent/state."""
    user = await _agent(request, engine)
    current = await engine.state(user)
    if current is None:
        raise Refused("agent is not logged in", 401)
    return {"state": current}


async def ready(request: Request, engine: Engine) -> dict[str, Any]:
    """POST /agent/ready: RESUME (auto-dial campaigns, from PAUSED)."""
    user = await _agent(request, engine)
    epoch = engine.moment().epoch

    def gate(s: dict[str, Any]) -> str:
        return "" if s["phase"] == "PAUSED" else f"agent is not paused ({s['phase']})"

    result = await _command(engine, user, gate, external_pause=f"RESUME!{epoch}")
    if result["state"] and result["state"]["phase"] == "PAUSED":
        raise Refused("this campaign does not take calls in READY (manual dial only)")
    return result


async def pause(request: Request, engine: Engine) -> dict[str, Any]:
    """POST /agent/pause [pause_code]: now when idle, after the disposition when on a call."""
    user = await _agent(request, engine)
    b = await _body(request)
    code = str(b.get("pause_code", "") or "")[:6]
    epoch = engine.moment().epoch
    columns: dict[str, Any] = {}
    current = await engine.state(user) or {}
    if current.get("phase") != "PAUSED":
        columns["external_pause"] = f"PAUSE!{epoch}"
    if code:
        columns["external_pause_code"] = code
    if not columns:
        raise Refused("agent is already paused")
    return await _command(engine, user, lambda s: "", **columns)


async def logout(request: Request, engine: Engine) -> Response:
    """POST /agent/logout: at once when idle or dispositioning, after the disposition when on a call."""
    user = await _agent(request, engine)
    result = await _command(engine, user, lambda s: "", external_pause="LOGOUT")
    response = JSONResponse({"ok": True, "logged_out": result["state"] is None, "state": result["state"]})
    if result["state"] is None:
        response.delete_cookie(COOKIE)
    return response


async def hangup(request: Request, engine: Engine) -> dict[str, Any]:
    """POST /agent/hangup: hang up the live (or ringing, or dead) call."""
    user = await _agent(request, engine)
    return await _command(
        engine, user, lambda s: "" if s["phase"] == "INCALL" else "agent has no call", external_hangup="1"
    )


async def dispo(request: Request, engine: Engine) -> dict[str, Any]:
    """POST /agent/dispo: status[, callback_datetime, callback_type, comments]."""
    user = await _agent(request, engine)
    b = await _body(request)
    status = str(b.get("status", "")).strip()
    if not status or len(status) > 6:
        raise Refused("status (1-6 characters) is required", 400)
    value = status
    when = str(b.get("callback_datetime", "") or "")
    if len(when) > 12:
        kind = str(b.get("callback_type", "") or "")
        kind = kind if kind in ("USERONLY", "ANYONE") else "ANYONE"
        value = f"{status}!{when}!{kind}!{str(b.get('comments', '') or '')[:200]}!"
    return await _command(
        engine,
        user,
        lambda s: "" if s["phase"] in ("INCALL", "DISPO") else "agent has no call to disposition",
        external_status=value[:255],
    )


async def dial(request: Request, engine: Engine) -> dict[str, Any]:
    """POST /agent/dial: phone_number[, phone_code, lead_id, search, preview, alt_dial] or next=true."""
    user = await _agent(request, engine)
    b = await _body(request)
    epoch = engine.moment().epoch
    action = str(b.get("action", "") or "").upper()
    if action in ("SKIP", "DIALONLY", "ALTDIAL", "ADR3DIAL", "FINISH"):
        return await _command(engine, user, lambda s: "", external_dial=action)
    number = (
        "MANUALNEXT"
        if _yes(b.get("next", False))
        else "".join(ch for ch in str(b.get("phone_number", "")) if ch.isdigit())
    )
    lead_id = "".join(ch for ch in str(b.get("lead_id", "") or "") if ch.isdigit())
    if not number and not lead_id:
        raise Refused("phone_number, lead_id or next is required", 400)
    fields = [
        number,
        str(b.get("phone_code", "1") or "1"),
        "YES" if _yes(b.get("search", True)) else "NO",
        "YES" if _yes(b.get("preview", False)) else "NO",
        "YES",
        "",
        str(epoch),
        "",
        "",
        "",
        "",
        lead_id,
        str(b.get("alt_dial", "") or "").upper(),
        "",
    ]
    return await _command(
        engine,
        user,
        lambda s: "" if s["phase"] == "PAUSED" else f"agent is not paused ({s['phase']})",
        external_dial="!".join(fields)[:100],
    )


async def events(request: Request, engine: Engine) -> Response:
    """GET /agent/events: Server-Sent Events — `state` first, then every change, notice and notification."""
    from openagc.engine.runtime import agent_topic

    user = await _agent(request, engine)
    queue, unsubscribe = engine.services.bus.queue(agent_topic(user))

    async def stream():
        try:
            first = {"event": "state", "state": await engine.state(user)}
            yield _sse(first)
            while True:
                try:
                    who, event = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
                    continue
                if who != user:
                    continue
                yield _sse(event)
                if event.get("event") == "logged_out":
                    return
        finally:
            unsubscribe()

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event.get('event', 'message')}\ndata: {json.dumps(event, default=str)}\n\n"


def agent_routes(_services: Any) -> list[BaseRoute]:
    return [
        Route("/agent/login", _handler(login), methods=["POST"]),
        Route("/agent/logout", _handler(logout), methods=["POST"]),
        Route("/agent/ready", _handler(ready), methods=["POST"]),
        Route("/agent/pause", _handler(pause), methods=["POST"]),
        Route("/agent/dial", _handler(dial), methods=["POST"]),
        Route("/agent/hangup", _handler(hangup), methods=["POST"]),
        Route("/agent/dispo", _handler(dispo), methods=["POST"]),
        Route("/agent/state", _handler(state), methods=["GET"]),
        Route("/agent/events", _handler(events), methods=["GET"]),
    ]
