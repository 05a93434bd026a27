"""The agent-side JSON API under `/agent/` (what the console uses), and its event stream.

Login creates the session and answers with a token (`Authorization: Bearer <token>` or the
`openagc_agent` cookie on later calls) and the session's CSRF token (`X-CSRF-Token`, needed with the cookie on
every POST; `web/csrf.py`). Login shares the Agent API's lockout and answers every credential failure — user,
password or phone — with one message, so it tells nothing about which part was wrong.

Every other action is the same command the Agent API writes — a `vicidial_live_agents` command column —
followed by an immediate pass of the engine, so there is one code path for a click, an `api.php` call and a
plain SQL write. The answer carries the agent's state; a deferred action (pause or logout during a call)
shows as `"pending"`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections import defaultdict
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from openagc.credentials import GOOD, check_password, load_user
from openagc.engine import agent_phone, session
from openagc.engine.logs import Moment
from openagc.engine.topics import agent_topic
from openagc.openapi.describe import (
    AGENT,
    AGENT_SESSION,
    BOOLEAN,
    INTEGER,
    STRING,
    body,
    component,
    event_stream,
    header,
    json_answer,
    nullable,
    obj,
    operation,
    refusal,
)
from openagc.services import Services, load_system
from openagc.store import command_records
from openagc.store.database import Conflict
from openagc.store.schema import vicidial_live_agents, vicidial_session_data
from openagc.web.csrf import csrf_token
from openagc.web.streams import SlotStreamingResponse

COOKIE = "openagc_agent"
VLA = vicidial_live_agents.c
KEEPALIVE_SECONDS = 15.0
LOGIN_REFUSED = "login refused: wrong user, password or phone, or too many failed attempts"
ALT_DIAL = ("", "MAIN", "ALT", "ADDR3")
MAX_PHONE_CODE = 10
#: How long an `/agent/` command waits for its outcome when another engine carries the agent (engine/shards.py).
OWNER_WAIT_SECONDS = 5.0
_phone_locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)  # one login per phone at a time


class AgentEngine(Protocol):
    """What the agent API needs of the engine (`runtime.Engine`)."""

    services: Services
    phones: sa.Table
    server_ip: str

    def moment(self) -> Moment: ...

    async def state(self, user: str) -> dict[str, Any] | None: ...

    async def process(self, user: str) -> None: ...

    async def login(self, req: session.LoginRequest) -> tuple[str, str]: ...

    def owns(self, user: str) -> bool: ...


class Refused(Exception):
    def __init__(self, message: str, status: int = 409) -> None:
        super().__init__(message)
        self.status = status


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _engine(request: Request) -> AgentEngine:
    engine = request.app.state.services.extra.get("engine")
    if engine is None:
        raise Refused("the agent session engine is not running", 503)
    return engine


async def _body(request: Request) -> dict[str, Any]:
    """A JSON object or a form; JSON nested deeper than a flat object of scalars and lists is refused."""
    ctype = request.headers.get("content-type", "")
    if "json" in ctype:
        raw = await request.body()
        try:
            data = json.loads(raw) if raw else {}
        except RecursionError:
            raise Refused("JSON nested too deeply", 400) from None
        if not isinstance(data, dict):
            raise Refused("expected a JSON object", 400)
        return data
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _str(body: dict[str, Any], *names: str, default: str = "") -> str:
    """The first of `names` present, as text; a JSON object or list where text belongs is refused."""
    for name in names:
        if name in body and body[name] is not None:
            value = body[name]
            if isinstance(value, (dict, list)):
                raise Refused(f"{name} must be text", 400)
            return str(value)
    return default


def _groups(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [g for g in value.replace(",", " ").split() if g != "-"]
    if isinstance(value, list) and all(isinstance(g, str) for g in value):
        return value
    raise Refused("ingroups must be a list of in-group ids or a text", 400)


def _token(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(COOKIE, "")


async def _agent(request: Request, engine: AgentEngine) -> str:
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


async def _command(engine: AgentEngine, user: str, gate: Any, **columns: Any) -> dict[str, Any]:
    """Write command columns (if `gate(state)` allows), process the agent at once, answer its state."""
    state = await engine.state(user)
    if state is None:
        raise Refused("agent is not logged in", 401)
    message = gate(state)
    if message:
        raise Refused(message)
    # another engine's agent: its owner carries the command out; the answer waits for the outcome (bounded)
    waiter = None if engine.owns(user) else command_records.OutcomeWaiter(engine.services.bus)
    try:
        _, ids = await engine.services.db.transaction(lambda conn: command_records.write(
            conn, user=user, values=columns, function="agent", source="agent", at=engine.services.clock.now()))
        await engine.process(user)
        if waiter is not None:
            await waiter.wait(ids, OWNER_WAIT_SECONDS)
    finally:
        if waiter is not None:
            waiter.close()
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
        except Conflict:  # the database kept refusing (deadlocks): nothing was written
            return _error("database busy, try again", 503)
        return result if isinstance(result, Response) else JSONResponse(result)

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


# --- what the endpoints answer (OpenAPI, docs/agent-api.md) -------------------------------------------------------

AGENT_CALL = component("AgentCall", obj({
    "stage": {"enum": ["arriving", "dialing", "connected", "dead", "ended"]},
    "direction": {"enum": ["inbound", "outbound"]}, "number": nullable(STRING), "group": nullable(STRING),
    "talk_since": STRING, "parked": BOOLEAN, "xfer_parked": BOOLEAN, "recording": BOOLEAN,
    "transfer": nullable(STRING), "transfer_number": nullable(STRING),
}, ["stage", "direction"], description="The agent's call (`engine/runtime.py` `call_view`)."))
AGENT_STATE = component("AgentState", obj({
    "user": STRING, "status": STRING, "phase": STRING, "pending": STRING, "campaign_id": nullable(STRING),
    "conf_exten": nullable(STRING), "server_ip": nullable(STRING), "lead_id": INTEGER, "preview_lead_id": INTEGER,
    "callerid": STRING, "uniqueid": STRING, "channel": STRING, "comments": STRING, "pause_code": STRING,
    "ingroups": {"type": "array", "items": STRING}, "blended": BOOLEAN, "calls_today": INTEGER,
    "agent_log_id": INTEGER, "dead": BOOLEAN, "manual_dial_queue": INTEGER,
    "timer": nullable({"type": "object"}), "last_state_change": STRING,
    "phone": {"enum": ["connecting", "connected", "lost", "remote"]}, "recording_id": INTEGER,
    "call": nullable(AGENT_CALL),
}, ["user", "status", "phase", "pending"], description="An agent's session as the engine sees it "
   "(docs/agent-api.md, the state object)."))
ACTION_RESULT = component("AgentActionResult", obj({"ok": {"const": True}, "state": nullable(AGENT_STATE)},
                                                   ["ok", "state"], description="The state after the action."))
CSRF = header("X-CSRF-Token", "The session's CSRF token (from login or /agent/state); needed with the cookie.")
EVENTS = ("state", "logged_in", "call", "dialing", "answered", "dial_failed", "preview", "preview_skipped",
          "customer_hangup", "call_ended", "dispositioned", "pause_code_required", "ingroups_changed", "timer_set",
          "timer_fired", "update_fields", "lead_switched", "manual_dial_queue", "notification", "dtmf",
          "recording_started", "recording_stopped", "parked", "grabbed", "phone", "command", "transfer",
          "xfer_answered", "xfer_hangup", "left_3way", "command_ignored", "logged_out")
REFUSALS = {
    400: refusal("Bad input."),
    401: refusal("No session: missing, invalid or expired token, or the agent is not logged in."),
    403: refusal("Refused as a cross-site request (`Origin`, or the cookie without `X-CSRF-Token`)."),
    409: refusal("Not possible in the agent's state."),
    503: refusal("The engine is off, or the database kept refusing."),
}


def _action(summary: str, fields: dict[str, dict] | None = None, codes: tuple[int, ...] = (400, 401, 403, 409, 503),
            example: dict | None = None):
    """The operation of an action endpoint (POST, the session's token, the state after it)."""
    return operation("POST", summary=summary, tags=[AGENT_SESSION], security=AGENT, parameters=[CSRF],
                     body=body(fields, example=example) if fields else None,
                     responses={200: json_answer("Done (or pending: `state.pending`).", ACTION_RESULT),
                                **{c: REFUSALS[c] for c in codes}})


# --- endpoints --------------------------------------------------------------------------------------------


@operation("POST", summary="Log an agent in (a session in the engine)", tags=[AGENT_SESSION],
           body=body({"user": STRING, "pass": STRING, "phone_login": STRING, "phone_pass": STRING,
                      "campaign": STRING,
                      "ingroups": {"anyOf": [STRING, {"type": "array", "items": STRING}],
                                   "description": "In-group ids: a list, or a text `\"A B\"`."},
                      "blended": {"anyOf": [BOOLEAN, STRING]}},
                     ["user", "pass", "phone_login", "phone_pass", "campaign"],
                     example={"user": "1000", "pass": "1234", "phone_login": "1000", "phone_pass": "test",
                              "campaign": "TESTCAMP"}),
           responses={200: json_answer("Logged in; the token also comes as the `openagc_agent` cookie.", obj({
               "token": STRING, "csrf_token": STRING, "user": STRING, "conf_exten": STRING,
               "state": nullable(AGENT_STATE)}, ["token", "csrf_token", "user", "conf_exten", "state"])),
                      400: REFUSALS[400],
                      401: refusal("Wrong user, password or phone, or too many failed attempts (one answer)."),
                      403: REFUSALS[403], 409: refusal("Already logged in, or the phone is in use."),
                      503: REFUSALS[503]})
async def login(request: Request, engine: AgentEngine) -> Response:
    """POST /agent/login: user, pass, phone_login, phone_pass, campaign[, ingroups, blended]."""
    b = await _body(request)
    req = session.LoginRequest(
        user=_str(b, "user"),
        password=_str(b, "pass", "password"),
        phone_login=_str(b, "phone_login", "user"),
        phone_pass=_str(b, "phone_pass"),
        campaign_id=_str(b, "campaign", "campaign_id"),
        ingroups=_groups(b.get("ingroups")),
        blended=None if b.get("blended") is None else _yes(b.get("blended")),
        computer_ip=request.client.host if request.client else "",
        browser=request.headers.get("user-agent", "")[:255],
    )
    if not (req.user and req.password and req.phone_login and req.campaign_id):
        raise Refused("user, pass, phone_login, phone_pass and campaign are required", 400)
    async with _phone_locks[req.phone_login]:
        await _credentials(engine, req)
        try:
            token, conf = await engine.login(req)
        except session.LoginError as exc:
            raise Refused(LOGIN_REFUSED if exc.status == 401 else str(exc), exc.status) from None
    response = JSONResponse({"token": token, "csrf_token": csrf_token(token), "user": req.user, "conf_exten": conf,
                             "state": await engine.state(req.user)})
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                        path="/")
    return response


async def _credentials(engine: AgentEngine, req: session.LoginRequest) -> None:
    """User and phone credentials under the Agent API's lockout (counted per user and source); one answer."""
    services = engine.services
    now = services.clock.now().replace(microsecond=0)
    async with services.db.begin() as conn:
        system = await load_system(conn)
        row = await load_user(conn, req.user)
        phone: sa.RowMapping | None = None

        async def phone_matches() -> bool:
            nonlocal phone
            P = engine.phones.c
            phone = (await conn.execute(sa.select(engine.phones).where(P.login == req.phone_login).limit(1))
                     ).mappings().first()
            return phone is not None and phone["active"] != "N" and hmac.compare_digest(
                str(phone["pass"] or "").encode(), req.phone_pass.encode())

        code = await check_password(conn, req.user, req.password, client_ip=req.computer_ip, now=now,
                                    system=system, row=row, rule=services.lockout, also=phone_matches)
    if code != GOOD or phone is None:
        raise Refused(LOGIN_REFUSED, 401)
    async with services.db.connect() as conn:
        holder = (await conn.execute(sa.select(VLA.user).where(
            VLA.extension == agent_phone.dial_string(phone), VLA.server_ip == (phone["server_ip"] or engine.server_ip),
            VLA.user != req.user).limit(1))).scalar()
    if holder:
        raise Refused("this phone is in use by another agent", 409)


@operation("GET", summary="The agent's state", tags=[AGENT_SESSION], security=AGENT,
           responses={200: json_answer("The state and the session's CSRF token.",
                                       obj({"state": AGENT_STATE, "csrf_token": STRING}, ["state", "csrf_token"])),
                      400: REFUSALS[400], 401: REFUSALS[401], 503: REFUSALS[503]})
async def state(request: Request, engine: AgentEngine) -> dict[str, Any]:
    """GET /agent/state."""
    user = await _agent(request, engine)
    current = await engine.state(user)
    if current is None:
        raise Refused("agent is not logged in", 401)
    return {"state": current, "csrf_token": csrf_token(_token(request))}


@_action("Ready for calls (RESUME from PAUSED; auto-dial campaigns)")
async def ready(request: Request, engine: AgentEngine) -> dict[str, Any]:
    """POST /agent/ready: RESUME (auto-dial campaigns, from PAUSED)."""
    user = await _agent(request, engine)
    epoch = engine.moment().epoch

    def gate(s: dict[str, Any]) -> str:
        return "" if s["phase"] == "PAUSED" else f"agent is not paused ({s['phase']})"

    result = await _command(engine, user, gate, external_pause=f"RESUME!{epoch}")
    if result["state"] and result["state"]["phase"] == "PAUSED":
        raise Refused("this campaign does not take calls in READY (manual dial only)")
    return result


@_action("Pause (now, or after the disposition when on a call)", {"pause_code": STRING},
         example={"pause_code": "BREAK"})
async def pause(request: Request, engine: AgentEngine) -> dict[str, Any]:
    """POST /agent/pause [pause_code]: now when idle, after the disposition when on a call."""
    user = await _agent(request, engine)
    b = await _body(request)
    code = _str(b, "pause_code")[:6]
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


@operation("POST", summary="Log out (now, or after the disposition when on a call)", tags=[AGENT_SESSION],
           security=AGENT, parameters=[CSRF],
           responses={200: json_answer("Logged out, or pending.", obj(
               {"ok": {"const": True}, "logged_out": BOOLEAN, "state": nullable(AGENT_STATE)},
               ["ok", "logged_out", "state"])),
                      **{c: REFUSALS[c] for c in (400, 401, 403, 409, 503)}})
async def logout(request: Request, engine: AgentEngine) -> Response:
    """POST /agent/logout: at once when idle or dispositioning, after the disposition when on a call."""
    user = await _agent(request, engine)
    result = await _command(engine, user, lambda s: "", external_pause="LOGOUT")
    response = JSONResponse({"ok": True, "logged_out": result["state"] is None, "state": result["state"]})
    if result["state"] is None:
        response.delete_cookie(COOKIE)
    return response


@_action("Hang up the call")
async def hangup(request: Request, engine: AgentEngine) -> dict[str, Any]:
    """POST /agent/hangup: hang up the live (or ringing, or dead) call."""
    user = await _agent(request, engine)
    return await _command(
        engine, user, lambda s: "" if s["phase"] == "INCALL" else "agent has no call", external_hangup="1"
    )


@_action("Disposition the call", {
    "status": STRING, "callback_datetime": {**STRING, "description": "`YYYY-MM-DD HH:MM:SS`, not in the past."},
    "callback_type": {"enum": ["ANYONE", "USERONLY"]}, "comments": STRING}, example={"status": "SALE"})
async def dispo(request: Request, engine: AgentEngine) -> dict[str, Any]:
    """POST /agent/dispo: status[, callback_datetime (not in the past), callback_type, comments]."""
    user = await _agent(request, engine)
    b = await _body(request)
    status = _str(b, "status").strip()
    if not status or len(status) > 6:
        raise Refused("status (1-6 characters) is required", 400)
    value = status
    if "!" in status:
        raise Refused("status may not hold '!'", 400)
    when = "".join(ch for ch in _str(b, "callback_datetime") if ch.isdigit() or ch in "-: ")[:19]
    if len(when) > 12:
        scheduled = _callback_time(when)
        if scheduled is None:
            raise Refused("callback_datetime must be a date and time (YYYY-MM-DD HH:MM:SS)", 400)
        if scheduled < engine.services.clock.now().replace(second=0, microsecond=0):
            raise Refused("callback_datetime is in the past", 400)
        kind = _str(b, "callback_type")
        kind = kind if kind in ("USERONLY", "ANYONE") else "ANYONE"
        comments = _str(b, "comments").replace("!", " ")[:200]
        value = f"{status}!{when}!{kind}!{comments}!"
    return await _command(
        engine,
        user,
        lambda s: "" if s["phase"] in ("INCALL", "DISPO") else "agent has no call to disposition",
        external_status=value[:255],
    )


def _callback_time(text: str) -> datetime | None:
    for form in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(text.strip(), form)
        except ValueError:
            continue
    return None


@_action("Dial manually (a number, a lead, the next lead, or a preview action)", {
    "phone_number": STRING, "phone_code": STRING, "lead_id": {"anyOf": [INTEGER, STRING]},
    "search": {"anyOf": [BOOLEAN, STRING]}, "preview": {"anyOf": [BOOLEAN, STRING]},
    "alt_dial": {"enum": list(ALT_DIAL)}, "next": {"anyOf": [BOOLEAN, STRING]},
    "action": {"enum": ["SKIP", "DIALONLY", "ALTDIAL", "ADR3DIAL", "FINISH"]}},
    example={"phone_number": "3125559999", "phone_code": "1"})
async def dial(request: Request, engine: AgentEngine) -> dict[str, Any]:
    """POST /agent/dial: phone_number[, phone_code, lead_id, search, preview, alt_dial] or next=true."""
    user = await _agent(request, engine)
    b = await _body(request)
    epoch = engine.moment().epoch
    action = _str(b, "action").upper()
    if action in ("SKIP", "DIALONLY", "ALTDIAL", "ADR3DIAL", "FINISH"):
        return await _command(engine, user, lambda s: "", external_dial=action)
    number = "MANUALNEXT" if _yes(b.get("next", False)) else "".join(
        ch for ch in _str(b, "phone_number") if ch.isdigit())
    lead_id = "".join(ch for ch in _str(b, "lead_id") if ch.isdigit())[:10]
    if not number and not lead_id:
        raise Refused("phone_number, lead_id or next is required", 400)
    # Each field is checked, never joined as given: a `!` would smuggle fields (caller id, prefix) into the command.
    phone_code = _str(b, "phone_code", default="1") or "1"
    if not phone_code.isdigit() or len(phone_code) > MAX_PHONE_CODE:
        raise Refused("phone_code must be digits", 400)
    alt_dial = _str(b, "alt_dial").upper()
    if alt_dial not in ALT_DIAL:
        raise Refused("alt_dial must be MAIN, ALT or ADDR3", 400)
    fields = [
        number[:30],
        phone_code,
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
        alt_dial,
        "",
    ]
    return await _command(
        engine,
        user,
        lambda s: "" if s["phase"] == "PAUSED" else f"agent is not paused ({s['phase']})",
        external_dial="!".join(fields)[:100],
    )


@operation("GET", summary="The session's events (Server-Sent Events)", tags=[AGENT_SESSION], security=AGENT,
           responses={200: event_stream("`state` first, then every event of the session; a comment every 15 s.",
                                        EVENTS),
                      400: REFUSALS[400], 401: REFUSALS[401], 429: refusal("Too many event streams open."),
                      503: REFUSALS[503]})
async def events(request: Request, engine: AgentEngine) -> Response:
    """GET /agent/events: Server-Sent Events — `state` first, then every change, notice and notification."""
    user = await _agent(request, engine)
    release = engine.services.streams.take(user)
    if release is None:
        raise Refused("too many event streams open", 429)
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

    return SlotStreamingResponse(
        stream(),
        release,
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
