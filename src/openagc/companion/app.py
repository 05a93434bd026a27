"""`GET|POST /vicidial/non_agent_api.php`: intake, login, upstream's shared steps, the function, its log row.

One transaction per request, as api.php: the answer's `vicidial_api_log` row (`api_script` `non-agent`) and the
login's failure counters commit together. `version` and the coffee requests are answered before any login;
a refused login prints one line and writes no log row (upstream logs none).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openagc.api.app import BUSY, HEADERS, api_page, read_form
from openagc.api.audit import write_log
from openagc.api.params import Params, logging_query_string, pick
from openagc.companion import agents, calls, campaigns, groups, ingroup_info  # noqa: F401  (register functions)
from openagc.companion.access import login
from openagc.companion.answer import Answer, denied, failure
from openagc.companion.params import PARAMETERS, filter_params
from openagc.companion.registry import REGISTRY, Context
from openagc.companion.system import COFFEE, coffee, version
from openagc.openapi.describe import (
    NON_AGENT_API,
    USER_PASSWORD,
    answer,
    body,
    obj,
    operation,
    query,
    text_answer,
)
from openagc.services import Services, load_system
from openagc.store.database import Conflict

PATH = "/vicidial/non_agent_api.php"
LOGIN_INCORRECT = "Login incorrect, please try again"
NO_FUNCTION = "NO FUNCTION SPECIFIED"
NOT_ALLOWED = "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION"


async def respond(conn: AsyncConnection, p: Params, *, system: dict[str, Any], now: datetime, epoch: int,
                 services: Services, client_ip: str) -> Answer:
    """Upstream's order: version and coffee, the login, the function's name, source, allowed functions,
    the function's permission, then the function itself."""
    if p.function == "version":
        return await version(conn, now, epoch)
    if p.function in COFFEE:
        return coffee(p.function)
    caller = await login(conn, p.user, p.get("pass"), client_ip=client_ip, now=now, system=system,
                         rule=services.lockout)
    if caller is None:  # one answer for every refusal: no password, code or address echoed
        return failure(LOGIN_INCORRECT, f"ERROR: {LOGIN_INCORRECT}: |{p.user}|\n", p.user, logged=False)
    spec = REGISTRY.get(p.function)
    if spec is None:
        return failure(NO_FUNCTION, f"ERROR: {NO_FUNCTION}\n", p.function)
    if len(p.source.encode()) < 2:
        return failure("Invalid Source", f"ERROR: Invalid Source - {p.source}\nERROR: Invalid Source: |{p.source}|\n",
                       p.source)
    if not caller.may_use(spec.name):
        return failure(NOT_ALLOWED, f"ERROR: {NOT_ALLOWED}: |{caller.user}|{spec.name}|\n", caller.user, spec.name)
    if not caller.has(spec.permission):
        return denied(spec.denied, caller.user)
    return await spec.handler(Context(conn=conn, p=p, caller=caller, system=system, now=now, epoch=epoch))


def _debug_footer(p: Params, result: Answer, started: float) -> str:
    """Upstream's `format=debug` footer, printed only where its script runs to the end (no function matched)."""
    if p.format != "debug" or result.reason != NO_FUNCTION:
        return ""
    return f"\n<!-- script runtime: {int(time.perf_counter() - started)} seconds -->\n</body>\n</html>\n"


NOTES = {
    "function": "The function to run.",
    "user": "The API user (level 7 or more).",
    "pass": "Its password.",
    "source": "What originated the call (2 to 20 characters).",
    "format": "`json` for a JSON answer (ours); anything else answers upstream's text.",
    "agent_user": "The agent (agent_status, agent_ingroup_info, agent_campaigns).",
    "stage": "Columns separated by `csv`, `tab` or `pipe` (the default); agent_ingroup_info: `text`, `info`, "
             "`change`.",
    "header": "`YES`: a header row first.",
    "campaign_id": "agent_campaigns: only this campaign.",
    "ignore_agentdirect": "agent_campaigns: `Y` leaves out AGENTDIRECT in-groups.",
    "user_groups": "Pipe-delimited user groups (user_group_status; a filter for logged_in_agents).",
    "in_groups": "Pipe-delimited in-groups (in_group_status).",
    "campaigns": "logged_in_agents: pipe-delimited campaigns.",
    "call_id": "callid_info: the call id (18 to 39 characters).",
    "detail": "callid_info: `YES` adds the call's log row.",
    "include_ip": "agent_status: `YES` adds the address of the agent's latest login.",
    "show_sub_status": "logged_in_agents: `YES` adds pause code and sub-status.",
    "session_id": "agent_ingroup_info: logged with an INVALID USER ID answer.",
}
FUNCTIONS = ("version", "agent_status", "logged_in_agents", "callid_info", "agent_ingroup_info", "agent_campaigns",
             "in_group_status", "user_group_status")
JSON_ANSWER = obj({"result": {"enum": ["SUCCESS", "ERROR"]}, "function": {"type": "string"},
                   "data": {"type": "array", "items": {"type": "object"}},
                   "reason": {"type": "string"}, "details": {"type": "array", "items": {"type": "string"}}},
                  ["result", "function"])
RESPONSES = {
    200: answer("Upstream's text (an ERROR line on a refusal), or JSON with `format=json`.", {
        "text/html; charset=utf-8": {"schema": {"type": "string"},
                                     "example": "INCALL|M4050908070000012345|12345|TESTCAMP|1|Test Agent|AGENTS|"
                                                "3|LOGIN||7275551212|123456|8600051\n"},
        "application/json": {"schema": JSON_ANSWER}}),
    418: text_answer("A coffee function (upstream's teapot).", "text/html; charset=utf-8"),
    503: text_answer("The database kept refusing; nothing was written.", "text/plain"),
}
PARAMS = [query(name, NOTES[name], {"enum": list(FUNCTIONS)} if name == "function" else None)
          for name in PARAMETERS]


@operation("GET", summary="Upstream's non-agent status functions", tags=[NON_AGENT_API], security=USER_PASSWORD,
           parameters=PARAMS, responses=RESPONSES)
@operation("POST", summary="Upstream's non-agent status functions (a form)", tags=[NON_AGENT_API],
           security=USER_PASSWORD, responses=RESPONSES,
           body=body({n: {"type": "string", "description": NOTES[n]} for n in PARAMETERS}, ["function"],
                     media=("application/x-www-form-urlencoded", "multipart/form-data")))
async def non_agent_api(request: Request) -> Response:
    """The companion status functions of upstream's `/vicidial/non_agent_api.php`, answered as upstream answers
    them (docs/companion-api.md): `version`, `agent_status`, `logged_in_agents`, `callid_info`,
    `agent_ingroup_info`, `agent_campaigns`, `in_group_status`, `user_group_status`. A parameter in the query
    string wins over the same one in a POSTed form."""
    services: Services = request.app.state.services
    settings, clock = services.settings, services.clock
    started = time.perf_counter()
    form = await read_form(request, settings.max_form_fields)
    raw = pick(request.query_params, dict(form), PARAMETERS)
    client_ip = request.client.host if request.client else ""
    url_text = logging_query_string(request.url.query, form, settings.api_log_chars)
    page, server_name = api_page(request, settings)
    webserver_id = await services.ids.webserver(server_name, settings.hostname)
    url_id = await services.ids.url(page)
    now = clock.now().replace(microsecond=0)

    async def transaction(conn: AsyncConnection) -> tuple[Params, Answer]:
        system = await services.cache.get("system_settings", lambda: load_system(conn))
        p = filter_params(raw, non_latin=str(system.get("use_non_latin") or "0") == "1")
        result = await respond(conn, p, system=system, now=now, epoch=int(now.timestamp()), services=services,
                              client_ip=client_ip)
        if result.logged:
            await write_log(conn, user=p.user, agent_user=p.agent_user, function=p.function, value="",
                            result=result.result, reason=result.reason, source=p.source,
                            data=result.data[: settings.api_log_chars], api_date=clock.now().replace(microsecond=0),
                            run_time=time.perf_counter() - started, webserver=webserver_id, api_url=url_id,
                            remote_ip=client_ip, url=url_text, script="non-agent")
        return p, result

    try:
        p, result = await services.db.transaction(transaction)
    except Conflict:  # the database kept refusing: nothing was written
        return Response(BUSY, status_code=503, headers=HEADERS | {"Retry-After": "1"}, media_type="text/plain")
    if p.format == "json":
        return Response(result.json(p.function), status_code=result.status, headers=HEADERS,
                        media_type="application/json")
    return Response(result.text + _debug_footer(p, result, started), status_code=result.status, headers=HEADERS,
                    media_type="text/html; charset=utf-8")


def routes() -> list[Route]:
    return [Route(PATH, non_agent_api, methods=["GET", "POST"])]
