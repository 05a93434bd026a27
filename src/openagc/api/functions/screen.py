"""Agent screen: the webphone, calling the agent's phone, lead fields, panel reloads, timer actions.

Spec: api-functions-1.md §6–7 (webphone_url, call_agent) and api-functions-2.md §4–6
(update_fields, refresh_panel, set_timer_action).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from openagc.api.numbers import whole
from openagc.api.pipeline import VLA, Call, api_function
from openagc.api.reply import Line, Translate, error, success, verbatim
from openagc.store.leads import UPDATABLE_LEAD_FIELDS
from openagc.store.schema import vicidial_list, vicidial_manager, vicidial_session_data, vicidial_users

SD = vicidial_session_data.c
VL = vicidial_list.c

MIN_SESSION_TEXT = 6  # upstream treats a stored URL / login call of 5 bytes or fewer as empty


async def _session_text(call: Call, column: sa.Column, function: str) -> str:
    """The agent's stored `vicidial_session_data` text, or end with upstream's two error lines."""
    row = await call.first(sa.select(column).where(SD.user == call.p.agent_user).limit(1))
    if row is None:
        raise call.stop(error(f"{function} error - no session data", call.p.agent_user))
    text = row[column.name] or ""
    if len(text.encode()) < MIN_SESSION_TEXT:
        empty = "webphone url is empty" if function == "webphone_url" else "entry is empty"
        raise call.stop(error(f"{function} error - {empty}", call.p.agent_user))
    return text


# --- webphone_url ---------------------------------------------------------------------------------
LAUNCH_LINK = "click here to continue. . ."


def _launch_page(url: str) -> Callable[[Translate], str]:
    """The five-line redirect page LAUNCH prints (its link text is translatable)."""
    return lambda t: (
        f'<META HTTP-EQUIV=Refresh CONTENT="0; URL={url}">\n'
        "</HEAD>\n"
        "<BODY BGCOLOR=#FFFFFF marginheight=0 marginwidth=0 leftmargin=0 topmargin=0>\n"
        f'<a href="{url}">{t(LAUNCH_LINK)}</a>\n'
        "</BODY>\n"
    )


@api_function("webphone_url", valid=lambda c: c.p.value in ("DISPLAY", "LAUNCH") and c.identifies_agent())
async def webphone_url(call: Call) -> Line:
    """DISPLAY prints the agent's webphone URL bare (no newline); LAUNCH prints a redirect page."""
    url = await _session_text(call, SD.webphone_url, "webphone_url")
    if call.p.value == "DISPLAY":
        return verbatim("NOTICE", "webphone_url active and displayed", url, url)
    launched = verbatim("NOTICE", "webphone_url active and launched", _launch_page(url), url)
    return replace(launched, phrases=(LAUNCH_LINK,))


# --- call_agent -----------------------------------------------------------------------------------
# The login originate is stored as the 19 `vicidial_manager` columns joined by `|`, in table order.
MANAGER_COLUMNS = list(vicidial_manager.c)
_SESSION_EXTEN = re.compile(r"(?<=.)(Exten: )\d{7}(?=\|Priority.)", re.DOTALL)
_ENUMS = {"status": ("NEW", "QUEUE", "SENT", "UPDATED", "DEAD"), "response": ("Y", "N")}
_ENUM_DEFAULTS = {"status": "NEW", "response": "N"}


def _parse_datetime(text: str) -> datetime | None:
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return None


def login_replay_row(login_call: str, conf_exten: str, now: datetime) -> dict[str, Any] | None:
    """The `vicidial_manager` row that replays the login originate into the agent's current session.

    A 7-digit session exten becomes ` {conf_exten}` (upstream's double space after `Exten:`, which
    AMI ignores). Values are cut to their columns; a string that is not 19 fields gives None.
    """
    text = _SESSION_EXTEN.sub(lambda m: f"{m.group(1)} {conf_exten}", login_call, count=1)
    fields = text.split("|")
    if len(fields) != len(MANAGER_COLUMNS):
        return None
    row: dict[str, Any] = {}
    for column, value in zip(MANAGER_COLUMNS[1:], fields[1:], strict=True):  # man_id: auto-increment
        if column.name == "entry_date":
            row["entry_date"] = _parse_datetime(value) or now
        elif column.name in _ENUMS:
            row[column.name] = value if value in _ENUMS[column.name] else _ENUM_DEFAULTS[column.name]
        else:
            row[column.name] = value[: column.type.length]
    return row


@api_function("call_agent", valid=lambda c: c.p.value == "CALL" and c.identifies_agent())
async def call_agent(call: Call) -> Line:
    """Queue the agent's stored login originate again, so their phone rings into their session."""
    login_call = await _session_text(call, SD.agent_login_call, "call_agent")
    row = login_replay_row(login_call, call.agent["conf_exten"] or "", call.now)
    if row is None:
        raise call.stop(error("call_agent error - entry is empty", call.p.agent_user))
    await call.insert_manager(**row)
    return success("call_agent function sent", call.p.agent_user, data=str(call.epoch))


# --- reload triggers (update_fields, refresh_panel) ------------------------------------------------
FORM_TRIGGERS = ("formreload", "scriptreload", "script2reload", "emailreload", "chatreload")
PANEL_TRIGGERS = (*FORM_TRIGGERS, "callbacksreload")
UPDATE_FIELDS_DATA_WIDTH = 255  # vicidial_live_agents.external_update_fields_data VARCHAR(255)


def _triggers(call: Call, names: tuple[str, ...]) -> list[str]:
    """The triggers sent as parameter names (any value, any letter case), in upstream's order."""
    sent = {name.lower() for name in call.sent_names}
    return [name for name in names if name in sent]


async def _flag_screen(call: Call, fields_list: str) -> int:
    """Tell the agent's screen to refresh `fields_list`; the number of rows this actually changed."""
    data = fields_list[:UPDATE_FIELDS_DATA_WIDTH]
    flag, pending = VLA.external_update_fields.label("flag"), VLA.external_update_fields_data.label("data")
    rows = await call.all(sa.select(flag, pending).where(VLA.user == call.p.agent_user))
    changed = sum(1 for r in rows if (r["flag"], r["data"]) != ("1", data))
    await call.update_agent(external_update_fields="1", external_update_fields_data=data)
    return changed


async def _api_user_flag(call: Call, column: sa.Column) -> str:
    """One permission column of the API user's `vicidial_users` row."""
    value = await call.scalar(sa.select(column).where(vicidial_users.c.user == call.api_user.user).limit(1))
    return "" if value is None else str(value)


# --- update_fields --------------------------------------------------------------------------------
MODIFY_LEADS_ALLOWED = ("1", "2", "3", "4")
_DATE = re.compile(r"^(\d{4})-?(\d{1,2})-?(\d{1,2})$")
_NUMBER_PREFIX = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)")
RANK_MAX = 32767  # SMALLINT(5)
GMT_MAX = Decimal("99.99")  # DECIMAL(4,2)


def _as_date(text: str) -> date | None:
    """DATE as non-strict MySQL stores it; an empty or impossible date (upstream's zero date) is NULL."""
    found = _DATE.match(text)
    if not found:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def _as_decimal(text: str) -> Decimal:
    """DECIMAL(4,2) from the numeric prefix of `text` (0 when none), rounded and clipped like MySQL."""
    found = _NUMBER_PREFIX.match(text)
    number = Decimal(found.group()) if found else Decimal(0)
    number = number.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return max(-GMT_MAX, min(GMT_MAX, number))


def _column_value(name: str, text: str) -> Any:
    """The value a typed `vicidial_list` column receives for the filtered parameter `text`."""
    column = vicidial_list.c[name]
    if name == "date_of_birth":
        return _as_date(text)
    if name == "gmt_offset_now":
        return _as_decimal(text)
    if name == "rank":
        return min(whole(text), RANK_MAX)
    if name == "gender":
        return text if text in ("M", "F", "U") else "U"
    return text[: column.type.length]


async def _update_lead(call: Call, lead_id: int, fields: dict[str, str]) -> int:
    """Write the sent fields into the lead; 1 when the row really changed (MySQL's changed rows), else 0."""
    values = {name: _column_value(name, text) for name, text in fields.items()}
    current = await call.first(sa.select(*(VL[name] for name in values)).where(VL.lead_id == lead_id))
    if current is None or all(current[name] == value for name, value in values.items()):
        return 0
    await call.db.execute(sa.update(vicidial_list).where(VL.lead_id == lead_id).values(**values))
    return 1


def _agent_user_not_valid(call: Call) -> Line:
    return error("agent_user not valid", call.p.agent_user, data=call.p.agent_user)


@api_function("update_fields", valid=lambda c: len(c.p.agent_user) >= 1, invalid=_agent_user_not_valid,
              alt_user=False)
async def update_fields(call: Call) -> Line:
    """Change the sent fields of the lead on the agent's screen and ask the screen to show them."""
    p = call.p
    if await _api_user_flag(call, vicidial_users.c.modify_leads) not in MODIFY_LEADS_ALLOWED:
        raise call.stop(error("user is not allowed to modify lead information", p.agent_user, p.user))
    return await write_lead_fields(call)


async def write_lead_fields(call: Call) -> Line:
    """update_fields after its permission check: the sent fields into the lead on the agent's screen (typed as
    its columns), the screen asked to show them. The console's lead form saves through this too."""
    p = call.p
    lead_id = int(call.agent["lead_id"] or 0) if call.agent is not None else 0
    if lead_id <= 0:
        raise call.stop(error("agent_user does not have a lead on their screen", p.agent_user))
    fields = {name: p.get(name) for name in UPDATABLE_LEAD_FIELDS if name in call.sent_names}
    names = [*fields, *_triggers(call, FORM_TRIGGERS)]
    if not names:
        raise call.stop(error("no fields have been defined", p.agent_user))
    vl_rows = await _update_lead(call, lead_id, fields) if fields else 0
    fields_list = ",".join(names)
    vla_rows = await _flag_screen(call, fields_list)
    fields_sql = ",".join(f'{name}="{text}"' for name, text in fields.items())
    details = (p.user, p.agent_user, lead_id, vl_rows, vla_rows, fields_list, fields_sql, "")
    return success("update_fields lead updated", *details, data="|".join(map(str, details)))


# --- refresh_panel --------------------------------------------------------------------------------
@api_function("refresh_panel", valid=lambda c: len(c.p.agent_user) >= 1, invalid=_agent_user_not_valid,
              alt_user=False)
async def refresh_panel(call: Call) -> Line:
    """Ask the agent's screen to reload panels (form, scripts, email, chat, callbacks); no lead needed."""
    panels = _triggers(call, PANEL_TRIGGERS)
    if not panels:
        raise call.stop(error("no panels have been defined", call.p.agent_user))
    fields_list = ",".join(panels)
    vla_rows = await _flag_screen(call, fields_list)
    details = (call.p.user, call.p.agent_user, vla_rows, fields_list, "")
    return success("refresh_panel request sent", *details, data="|".join(map(str, details)))


# --- set_timer_action -----------------------------------------------------------------------------
TIMER_SECONDS_MAX = 8388607  # MEDIUMINT(7)


def _timer_not_valid(call: Call) -> Line:
    return error("set_timer_action not valid", call.p.agent_user, call.p.value,
                 data=f"{call.p.agent_user}|{call.p.value}")


@api_function("set_timer_action", valid=lambda c: len(c.p.agent_user) >= 1 and len(c.p.value) >= 2,
              invalid=_timer_not_valid, alt_user=False)
async def set_timer_action(call: Call) -> Line:
    """Set a one-shot timer action for the agent's current call, `rank` seconds in (0 when omitted)."""
    p = call.p
    if await _api_user_flag(call, vicidial_users.c.modify_campaigns) != "1":
        raise call.stop(error("user is not allowed to modify campaign settings", p.agent_user, p.user))
    await call.update_agent(
        external_timer_action=p.value[:20],
        external_timer_action_message=p.notes[:255],
        external_timer_action_seconds=min(whole(p.rank), TIMER_SECONDS_MAX),
    )
    details = (p.user, p.agent_user, p.value, p.notes, p.rank)
    return success("set_timer_action lead updated", *details, data="|".join(details))

