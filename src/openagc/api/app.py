"""`GET|POST /agc/api.php`: intake, the common layer, dispatch, logging, rendering.

One transaction per request, or several requests' in one (group commit, `store/group_commit.py`): a function's
writes and its api log rows commit together, and only then is it answered and are the engine's sessions woken (a
wake-up never races ahead of its data).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from openagc import API_BUILD, API_VERSION, metrics
from openagc.api import functions  # noqa: F401  (registers every function)
from openagc.api.audit import log_rows
from openagc.api.language import translator
from openagc.api.outcomes import wanted_wait_ms
from openagc.api.params import filter_params, identity_params, logging_query_string, pick
from openagc.api.pipeline import REGISTRY, Call, read_ahead, read_caller, run
from openagc.api.reply import Line, Reply, bare, verbatim
from openagc.bus import AGENT_COMMAND
from openagc.config import Settings
from openagc.credentials import BAD, ApiUser, AuthResult, authenticate, load_user, servers_active
from openagc.integrations import keys as api_keys
from openagc.integrations.ratelimit import Decision, limiter, refused_line
from openagc.openapi.describe import (
    OPERATIONS,
    USER_PASSWORD,
    generated,
    json_answer,
    operation,
    query,
    refusal,
)
from openagc.services import Services, load_system
from openagc.store import command_records
from openagc.store.database import Conflict
from openagc.store.group_commit import Refused
from openagc.store.schema import vicidial_user_groups
from openagc.store.write_tail import Tail

COFFEE = {"coffee", "start_coffee", "make_coffee", "brew_coffee"}
HEADERS = {"Cache-Control": "no-cache, must-revalidate", "Pragma": "no-cache"}
BUSY = "ERROR: database busy, try again\n"  # 503 once a request's transaction exhausted its conflict retries
KNOWN_FUNCTIONS = frozenset(REGISTRY) | COFFEE | {"version"}  # metric labels: anything else is "unknown"
CLOSE_WINDOW = {
    "en": "Close This Window",
    "es": "Cerrar esta ventana",
}


async def read_form(request: Request, max_fields: int) -> list[tuple[str, str]]:
    """The POSTed pairs (at most `max_fields`; later ones are ignored, as PHP's max_input_vars does)."""
    if request.method != "POST":
        return []
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_fields=max_fields, max_files=max_fields)
        return [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    body = await request.body()
    if not body:
        return []
    text = "&".join(body.decode("utf-8", "replace").split("&", max_fields)[:max_fields])
    return parse_qsl(text, keep_blank_values=True)


def api_page(request: Request, settings: Settings) -> tuple[str, str]:
    """(scheme://SERVER_NAME[:port]{path}, SERVER_NAME) as upstream logs them (api.php, non_agent_api.php).

    SERVER_NAME is the configured `server_name`, else the address the request arrived on — never the
    client's `Host` header, which would let anyone add `vicidial_webservers`/`vicidial_urls` rows at will.
    """
    local = request.scope.get("server") or ("", None)
    server = settings.server_name or str(local[0] or "")
    port = local[1] or (443 if request.url.scheme == "https" else 80)
    scheme = "https://" if "443" in str(port) else "http://"
    port_part = "" if port in (80, 443) else f":{port}"
    return f"{scheme}{server}{port_part}{request.url.path}", server


def _numeric_positive(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False


def _version_line(call: Call) -> Line:
    text = f"VERSION: {API_VERSION}|BUILD: {API_BUILD}|DATE: {call.now_time}|EPOCH: {call.epoch}"
    return verbatim(
        "SUCCESS",
        "",
        lambda t: text.replace("VERSION:", t("VERSION:"), 1) + "\n",
        API_VERSION,
        API_BUILD,
        call.now_time,
        call.epoch,
        data=text,
    )


def _coffee_line(call: Call) -> Line:
    text = f"Coffee: {call.function}|Error 418 I'm a teapot"
    return verbatim("ERROR", "", text, call.function, "Error 418 I'm a teapot", data=text)


def _bad_credentials(user: str, code: str) -> Line:
    """The fixed bad-credentials line: upstream's prefix, no echoed password or oracle flags."""
    return verbatim(
        "ERROR",
        "Invalid Username/Password",
        lambda t: f"{t('ERROR')}: {t('Invalid Username/Password')}: |{user}|\n",
        user,
        data=f"{user}|{code}|",
    ).ends()


async def _inert_list_restriction(call: Call, user_row: sa.RowMapping) -> bool:
    """Upstream's placeholder list restriction: only `feature_not_needed*` with api_list_restrict on."""
    if call.function not in ("feature_not_needed", "feature_not_needed2"):
        return True
    if str(user_row.get("api_list_restrict") or "0") in ("", "0"):
        return True
    G = vicidial_user_groups.c
    exists = await call.scalar(sa.select(G.user_group).where(G.user_group == call.api_user.user_group))
    if exists is None:
        call.emit(Line("ERROR", "user_group DOES NOT EXIST", (call.p.value, call.api_user.user_group)).ends())
        return False
    return True


class RateLimited(Refused):
    """Raised in a request's transaction when its key's bucket is empty: nothing is written, the answer is 429."""

    def __init__(self, decision: Decision) -> None:
        super().__init__("rate limit exceeded")
        self.decision = decision


@dataclass
class _Keyed:
    """How a request presented an API key (`Authorization: Bearer`): the live key, or None (unknown, revoked)."""

    key: api_keys.ApiKey | None
    decision: Decision | None = None  # its bucket's answer (None: the key has no limit), taken once per request


async def _admit_key(conn: AsyncConnection, keyed: _Keyed, token: str, services: Services, now: datetime) -> None:
    """Find the key and take its turn at the bucket (once, even when a conflict runs the transaction again)."""
    if keyed.key is None:
        keyed.key = await api_keys.lookup(conn, token)
        if keyed.key is None:
            return
        keyed.decision = await limiter(services).take(keyed.key.public_id, keyed.key.rate)
    if keyed.decision is not None and not keyed.decision.allowed:
        raise RateLimited(keyed.decision)
    await api_keys.touch(conn, keyed.key, now)


def _rate_limited(decision: Decision, json_format: bool) -> Response:
    """429: upstream's ERROR line (text) or the JSON answer's shape, with the rate headers and Retry-After."""
    metrics.RATE_LIMITED.labels("api.php").inc()
    headers = HEADERS | decision.headers()
    if json_format:
        details = [f"retry in {decision.retry_after} seconds"]
        body = {"result": "ERROR", "reason": "rate limit exceeded", "details": details, "notices": []}
        return JSONResponse(body, status_code=429, headers=headers)
    return Response(refused_line(decision), status_code=429, headers=headers, media_type="text/html; charset=utf-8")


async def _dispatch(call: Call, user_row: sa.RowMapping | None, reply: Reply, client_ip: str,
                    keyed: _Keyed | None = None) -> None:
    """Steps 13–17 of the common layer: version, coffee, validation, then the function.

    With an API key (`keyed`) the key stands for the password: an unknown or revoked key answers as bad
    credentials do (code BADKEY in the log's data, no lockout counted); a live one goes through every later check.
    """
    p = call.p
    if call.function == "version":
        call.emit(_version_line(call).ends())
        return
    if call.function in COFFEE:
        reply.status, reply.reason_phrase = 418, "I'm a teapot"
        call.emit(_coffee_line(call).ends())
        return
    if len(p.source.encode()) < 2:
        call.emit(Line("ERROR", "Invalid Source", (p.source,)).ends())
        return
    if keyed is not None and keyed.key is None:
        call.emit(_bad_credentials(p.user, "BADKEY"))
        return
    servers = call.services.cache
    auth = await authenticate(
        call.db,
        p.user,
        p.get("pass"),
        client_ip=client_ip,
        now=call.now,
        system=call.system,
        row=user_row,
        servers_ok=lambda: servers.get("servers_ok", lambda: servers_active(call.db)),
        rule=call.services.lockout,
        by_key=keyed is not None,
    )
    if not auth.ok or auth.user is None:
        call.emit(_bad_credentials(p.user, auth.code))
        return
    call.api_user = auth.user
    if str(call.system.get("vdc_agent_api_active") or "0") != "1":
        call.emit(bare("ERROR", "System API NOT ACTIVE").ends())
        return
    if not await _inert_list_restriction(call, user_row):
        return
    if p.format == "debug":
        reply.preamble = (
            f"<html>\n<head>\n<!-- VERSION: {API_VERSION}     BUILD: {API_BUILD}    USER: {p.user}\n"
            "<title>VICIDiaL Agent API</title>\n</head>\n"
            "<BODY BGCOLOR=white marginheight=0 marginwidth=0 leftmargin=0 topmargin=0>\n"
        )
    spec = REGISTRY.get(call.function)
    if spec is None:  # upstream prints nothing for a function it does not know; JSON says so (reply.py)
        reply.unknown_function = call.function
        return
    await run(spec, call)


async def _json(services: Services, reply: Reply, commands: list[int], waiter: command_records.OutcomeWaiter | None,
                wait_ms: int) -> str:
    """The JSON answer: upstream's line as JSON, plus `command_id` (ours) and, after a `wait`, the record."""
    extra: dict[str, Any] = {}
    if commands:
        extra["command_id"] = commands[-1]
        if len(commands) > 1:
            extra["command_ids"] = commands
        if waiter is not None:
            await waiter.wait(commands, wait_ms / 1000)
            async with services.db.connect() as conn:
                record = await command_records.get(conn, commands[-1])
            extra["command"] = command_records.public(record) if record else None
    return reply.json(extra)


def _trailer(call: Call, started: float) -> str:
    text = ""
    if _numeric_positive(call.p.close_window_link):
        label = CLOSE_WINDOW.get(call.p.language.lower(), CLOSE_WINDOW["en"])
        text += f"\n<a href=\"javascript:window.opener='x';window.close();\">{label}</a>\n"
    if call.p.format == "debug":
        text += f"\n<!-- script runtime: {int(time.perf_counter() - started)} seconds -->\n</body>\n</html>\n"
    return text


@dataclass
class _Seen:
    """What the metrics record of one api.php request."""

    function: str = "unknown"
    result: str = "NONE"


def _agent_api_operation(method: str) -> Callable[[], dict[str, Any]]:
    """The operation `openapi.agent_api` derives from the function registry (imported when the document is built)."""
    def build() -> dict[str, Any]:
        from openagc.openapi import agent_api

        return agent_api.operation(method)

    return build


@generated("GET", _agent_api_operation("GET"))
@generated("POST", _agent_api_operation("POST"))
async def api_php(request: Request) -> Response:
    """The Agent API endpoint (each request counted and timed by function and result)."""
    started = time.perf_counter()
    seen = _Seen()
    try:
        return await _api_php(request, started, seen)
    finally:
        metrics.observe_api(seen.function, seen.result, time.perf_counter() - started)


async def _api_php(request: Request, started: float, seen: _Seen) -> Response:
    services: Services = request.app.state.services
    settings, clock = services.settings, services.clock
    form_pairs = await read_form(request, settings.max_form_fields)
    raw = pick(request.query_params, dict(form_pairs))
    seen.function = raw["function"] if raw.get("function") in KNOWN_FUNCTIONS else "unknown"
    authorization = request.headers.get("authorization")
    token = api_keys.bearer(authorization) if authorization else None
    keyed = _Keyed(None) if token is not None else None
    client_ip = request.client.host if request.client else ""
    url_text = logging_query_string(request.url.query, form_pairs, settings.api_log_chars)
    page, server_name = api_page(request, settings)
    webserver_id = await services.ids.webserver(server_name, settings.hostname)
    url_id = await services.ids.url(page)
    now = clock.now().replace(microsecond=0)
    # the caller's read, which its batch may make with its neighbours' (a key's user is known only inside)
    ahead = read_ahead(identity_params(raw), client_ip) if keyed is None else None

    async def transaction(conn: AsyncConnection, tail: Tail) -> tuple[Call, Any, Reply]:
        """The request's one transaction: on a retryable conflict it runs again as a whole (never half). Its log
        rows and command records go to `tail`, written before the commit (with those of the requests beside it)."""
        reply = Reply()
        if keyed is not None:  # before anything is written: a refused request changes nothing
            await _admit_key(conn, keyed, token or "", services, now)
        system = await services.cache.get("system_settings", lambda: load_system(conn))
        p = filter_params(raw, non_latin=str(system.get("use_non_latin") or "0") == "1")
        if keyed is not None:  # the key's user, whatever `user` says (`pass` is not looked at)
            p.user = keyed.key.user if keyed.key is not None else ""
        user_row, agent_ahead = await read_caller(conn, p, client_ip, ahead)
        call = Call(
            function=p.function,
            p=p,
            db=conn,
            system=system,
            api_user=ApiUser(p.user, (user_row or {}).get("user_group") or "", "", ""),
            now=now,
            epoch=int(now.timestamp()),
            settings=settings,
            services=services,
            sent_names=frozenset(request.query_params.keys()) | frozenset(k for k, _ in form_pairs),
            client_ip=client_ip,
            agent_ahead=agent_ahead,
        )
        await _dispatch(call, user_row, reply, client_ip, keyed)
        language = (user_row or {}).get("selected_language") or ""
        t = await translator(
            conn,
            system,
            language,
            [w for line in call.lines for w in (line.result, line.reason, *line.phrases)],
        )
        logs = [
            log_rows(
                user=p.user,
                agent_user=line.log_agent_user or "",
                function=p.function,
                value=line.log_value or "",
                result=t(line.result),
                reason=t(line.reason),
                source=p.source,
                data=line.data[: settings.api_log_chars],
                api_date=clock.now().replace(microsecond=0),
                run_time=time.perf_counter() - started,
                webserver=webserver_id,
                api_url=url_id,
                remote_ip=client_ip,
                url=url_text,
            )
            for line in call.lines if line.logged
        ]
        tail.add(logs, call.command_rows(), call.commands)
        return call, t, reply

    wait_ms = wanted_wait_ms(raw, settings.command_wait_max_ms)
    waiter = command_records.OutcomeWaiter(services.bus) if wait_ms else None  # listening before the command exists
    headers = HEADERS
    try:
        try:
            spec = REGISTRY.get(raw.get("function", ""))
            call, t, reply = await services.commits.run(transaction, alone=spec is not None and spec.alone,
                                                        ahead=ahead)
        except RateLimited as refused:
            seen.result = "ERROR"
            return _rate_limited(refused.decision, raw.get("format") == "json")
        except Conflict:  # the database kept refusing (deadlocks, lock waits): nothing was written
            seen.result = "ERROR"
            rates = keyed.decision.headers() if keyed is not None and keyed.decision is not None else {}
            return Response(BUSY, status_code=503, headers=HEADERS | {"Retry-After": "1"} | rates,
                            media_type="text/plain")
        p = call.p
        seen.function = call.function if call.function in KNOWN_FUNCTIONS else "unknown"
        seen.result = call.lines[-1].result if call.lines else "NONE"
        if keyed is not None and keyed.decision is not None:
            headers = HEADERS | keyed.decision.headers()
        for user in call.woken:
            services.bus.publish(AGENT_COMMAND, user)
        reply.lines = call.lines
        reply.trailer = _trailer(call, started)
        if p.format == "json":
            return Response(await _json(services, reply, call.commands, waiter, wait_ms),
                            status_code=reply.status, media_type="application/json", headers=headers)
    finally:
        if waiter is not None:
            waiter.close()
    response = Response(
        reply.text(t), status_code=reply.status, headers=headers, media_type="text/html; charset=utf-8"
    )
    return response


@operation("GET", summary="A command's record (what became of it)", tags=[OPERATIONS], security=USER_PASSWORD,
           parameters=[query("wait", "Milliseconds to hold the answer until the command has an outcome.")],
           responses={200: json_answer("The record.", command_records.PUBLIC_SCHEMA),
                      401: refusal("Bad credentials."), 404: refusal("No such command.")})
async def command_status(request: Request) -> Response:
    """`GET /agc/commands/{id}` (ours): a command's record, for the API user that may use api.php.

    Credentials as for api.php (`user`, `pass`, same lockout; or an API key, which takes its turn at its rate
    limit); `wait` (milliseconds) holds the answer until the command has an outcome. 401 for bad credentials,
    404 for an unknown id, 429 when the key's bucket is empty.
    """
    services: Services = request.app.state.services
    params = request.query_params
    command_id = int(request.path_params["command_id"])
    client_ip = request.client.host if request.client else ""
    now = services.clock.now().replace(microsecond=0)
    headers = HEADERS | {"Cache-Control": "no-store"}
    authorization = request.headers.get("authorization")
    token = api_keys.bearer(authorization) if authorization else None
    keyed = _Keyed(None) if token is not None else None
    wait_ms = wanted_wait_ms({"format": "json", "wait": params.get("wait", "")}, services.settings.command_wait_max_ms)
    waiter = command_records.OutcomeWaiter(services.bus) if wait_ms else None
    try:
        try:
            async with services.db.begin() as conn:
                if keyed is not None:
                    await _admit_key(conn, keyed, token or "", services, now)
                system = await services.cache.get("system_settings", lambda: load_system(conn))
                user = params.get("user", "") if keyed is None else keyed.key.user if keyed.key else ""
                row = await load_user(conn, user) if user else None
                if keyed is not None and keyed.key is None:
                    auth = AuthResult(BAD, False, None)
                else:
                    auth = await authenticate(conn, user, params.get("pass", ""), client_ip=client_ip, now=now,
                                              system=system, row=row, rule=services.lockout,
                                              by_key=keyed is not None)
                record = await command_records.get(conn, command_id) if auth.ok else None
        except RateLimited as refused:
            metrics.RATE_LIMITED.labels("commands").inc()
            return JSONResponse({"error": f"rate limit exceeded - retry in {refused.decision.retry_after} seconds"},
                                status_code=429, headers=headers | refused.decision.headers())
        if keyed is not None and keyed.decision is not None:
            headers = headers | keyed.decision.headers()
        if not auth.ok:
            refusal = "invalid API key" if keyed is not None else "invalid user or password"
            return JSONResponse({"error": refusal}, status_code=401, headers=headers)
        if record is None:
            return JSONResponse({"error": "no such command"}, status_code=404, headers=headers)
        if waiter is not None and record["state"] == command_records.QUEUED:
            await waiter.wait([command_id], wait_ms / 1000)
            async with services.db.connect() as conn:
                record = await command_records.get(conn, command_id) or record
        return JSONResponse(command_records.public(record), headers=headers)
    finally:
        if waiter is not None:
            waiter.close()
