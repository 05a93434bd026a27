"""POST /console/api/lead: the agent saves the lead form — through the Agent API's `update_fields`.

The edit is the API function minus its API-user permission step (the agent edits the lead on its own screen,
as VICIdial's agent screen does): the same parameter filters (`api.params`), the same write
(`api.functions.screen.write_lead_fields`: the fields typed as their `vicidial_list` columns, the screen flagged
through `external_update_fields` so the engine pushes the change), and the same api log rows
(`api.audit.write_log`, function `update_fields`, source `console`). One difference, for a person typing: a
value the filters would change (a character the field may not hold, a date that is no date) is refused with
the names of the fields, and nothing is written.

The campaign's lead-edit policy (upstream's `vicidial_campaigns` columns, `actions.edit_policy`) is checked first:
with `disable_alter_custdata` Y no field may be saved, with `disable_alter_custphone` Y or HIDE not
`phone_number`. Such a save is refused (403) before anything is written, the api log included.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from starlette.requests import Request

from openagc.api.audit import write_log
from openagc.api.functions.screen import _as_date, write_lead_fields
from openagc.api.params import filter_params
from openagc.api.pipeline import Call, Stop
from openagc.bus import AGENT_COMMAND
from openagc.console.actions import LEAD, Agent, Refused, _act, _agent, _body, _lead, edit_policy
from openagc.credentials import ApiUser, load_user
from openagc.openapi.describe import INTEGER, component, nullable, obj
from openagc.services import load_system
from openagc.store.leads import UPDATABLE_LEAD_FIELDS
from openagc.store.schema import vicidial_campaigns

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from openagc.services import Services

MAX_FIELD_CHARS = 1000


def _texts(body: dict[str, Any]) -> dict[str, str]:
    """The posted `fields` object as text values; anything else is refused."""
    fields = body.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise Refused("fields (an object of lead fields) is required", 400)
    unknown = sorted(name for name in fields if name not in UPDATABLE_LEAD_FIELDS)
    if unknown:
        raise Refused(f"not lead fields: {', '.join(unknown)}", 400)
    texts: dict[str, str] = {}
    for name, value in fields.items():
        if isinstance(value, (dict, list, bool)):
            raise Refused(f"{name} must be text", 400)
        text = "" if value is None else str(value)
        if len(text) > MAX_FIELD_CHARS:
            raise Refused(f"{name} is too long", 400)
        texts[name] = text
    return texts


def _check(texts: dict[str, str], kept: Any) -> None:
    """Refuse values the API's filters would alter, naming the characters; and dates that are no dates."""
    problems = []
    for name, text in texts.items():
        value = kept.get(name)
        if value != text:
            dropped = "".join(dict.fromkeys(ch for ch in text if ch not in value)) or text
            problems.append(f"{name} may not hold {dropped!r}")
        elif name == "date_of_birth" and text and _as_date(text) is None:
            problems.append("date_of_birth must be a date (YYYY-MM-DD)")
    if problems:
        raise Refused("; ".join(problems), 400)


async def _check_policy(agent: Agent, services: Services, names: set[str]) -> None:
    """Refuse fields the agent's campaign does not let the agent change on screen."""
    K = vicidial_campaigns.c
    async with services.db.connect() as conn:
        campaign_id = (await agent.row(conn))["campaign_id"] or ""
        campaign = (await conn.execute(sa.select(K.disable_alter_custdata, K.disable_alter_custphone)
                                       .where(K.campaign_id == campaign_id))).mappings().first() or {}
    policy = edit_policy(campaign)
    if policy["disable_alter_custdata"] == "Y":
        raise Refused(f"campaign {campaign_id} does not let the agent change the lead (disable_alter_custdata=Y)",
                      403)
    if "phone_number" in names and policy["disable_alter_custphone"] != "N":
        raise Refused(f"campaign {campaign_id} does not let the agent change phone_number "
                      f"(disable_alter_custphone={policy['disable_alter_custphone']})", 403)


@_act("Change fields of the lead on the agent's screen (update_fields)",
      {"fields": {"type": "object", "description": "Lead field → new value (text)."}}, ("fields",),
      example={"fields": {"first_name": "Ada"}},
      answer=component("ConsoleLeadSaved", obj({"ok": {"const": True}, "lead": nullable(LEAD), "changed": INTEGER,
                                                "command_ids": {"type": "array", "items": INTEGER}},
                                               ["ok", "lead", "changed"])))
async def save_lead(request: Request, services: Services) -> dict[str, Any]:
    """POST /console/api/lead {"fields": {name: value, …}}: update_fields for the lead on the agent's screen."""
    started = time.perf_counter()
    agent = await _agent(request, services)
    texts = _texts(await _body(request))
    await _check_policy(agent, services, set(texts))
    client_ip = request.client.host if request.client else ""
    settings = services.settings
    # looked up (or inserted) before the transaction, as api.php does: each is a transaction of its own
    webserver_id = await services.ids.webserver(settings.server_name or "console", settings.hostname)
    url_id = await services.ids.url(request.url.path)

    async def write(conn: AsyncConnection) -> Call:
        system = await load_system(conn)
        raw = {"function": "update_fields", "user": agent.user, "agent_user": agent.user, "source": "console",
               **texts}
        params = filter_params(raw, non_latin=str(system.get("use_non_latin") or "0") == "1")
        _check(texts, params)
        user_row = await load_user(conn, agent.user)
        now = services.clock.now().replace(microsecond=0)
        call = Call(function="update_fields", p=params, db=conn, system=system,
                    api_user=ApiUser(agent.user, (user_row or {}).get("user_group") or "", "", ""),
                    now=now, epoch=int(now.timestamp()), settings=settings, services=services,
                    sent_names=frozenset(texts), client_ip=client_ip)
        call.agent = await call.live_agent()
        if call.agent is None:
            raise Refused("agent is not logged in", 401)
        try:
            call.emit(await write_lead_fields(call))
        except Stop:
            pass
        api_log_id = 0
        for line in call.lines:
            if line.logged:
                api_log_id = await write_log(
                    conn, user=agent.user, agent_user=line.log_agent_user or "", function="update_fields",
                    value=line.log_value or "", result=line.result, reason=line.reason, source="console",
                    data=line.data[: settings.api_log_chars], api_date=services.clock.now().replace(microsecond=0),
                    run_time=time.perf_counter() - started, webserver=webserver_id, api_url=url_id,
                    remote_ip=client_ip, url=request.url.path)
        await call.record_commands(api_log_id or None)
        return call

    call = await services.db.transaction(write)
    for user in call.woken:
        services.bus.publish(AGENT_COMMAND, user)
    line = call.lines[-1]
    if line.result != "SUCCESS":
        raise Refused(line.reason)
    async with services.db.connect() as conn:
        lead = await _lead(conn, int(call.agent["lead_id"] or 0) if call.agent is not None else 0)
    return {"ok": True, "lead": lead, "changed": int((line.fields or ("",) * 4)[3] or 0),
            "command_ids": call.commands}
