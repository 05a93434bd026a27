"""`send_notification`: queue a text alert and/or confetti for agent screens (spec part 3 §10).

It names no agent: the recipient is a user, a user group or a campaign, and delivery happens later in
the agent screens (`vicidial_agent_notifications`). Its log rows carry `recipient` in the agent_user
slot and `recipient_type` in the value slot, except the existence and access lines (upstream's).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa

from openagc.api.numbers import whole
from openagc.api.pipeline import Call, Stop, api_function
from openagc.api.reply import Line, error, success, verbatim
from openagc.store.schema import (
    vicidial_agent_notifications,
    vicidial_campaigns,
    vicidial_settings_containers,
    vicidial_user_groups,
    vicidial_users,
)

# Recipient types in inference priority order, with the table and column a recipient must exist in.
RECIPIENT_TABLES: dict[str, sa.Column] = {
    "USER": vicidial_users.c.user,
    "USER_GROUP": vicidial_user_groups.c.user_group,
    "CAMPAIGN": vicidial_campaigns.c.campaign_id,
}
CONFETTI_CONTAINER = "CONFETTI_SETTINGS"
TEXT_SIZE_MAX = 255  # text_size TINYINT UNSIGNED
_HEX_COLOR = re.compile(r"[0-9A-F]{3,6}")
_DATE = re.compile(r"([0-9]{2,4})-([0-9]{1,2})-([0-9]{1,2})\s?([0-9]{1,2}):([0-9]{1,2})(?::([0-9]{1,2}))?")
_CONTAINER_LINE = re.compile(r"\s=>\s")


@dataclass(frozen=True)
class ConfettiOption:
    """One confetti parameter: the API document's default and maximum."""

    name: str
    default: int
    maximum: int


CONFETTI_OPTIONS = (
    ConfettiOption("duration", 2, 10),
    ConfettiOption("maxParticleCount", 2350, 9999),
    ConfettiOption("particleSpeed", 60, 100),
)


def _enabled(call: Call) -> bool:
    return int(str(call.system.get("agent_notifications") or "0")) >= 1


def _disabled(call: Call) -> Line:
    setting = call.system.get("agent_notifications") or 0
    return error("Agent API Notifications are disabled on this system", setting)


def _recipient_slots(call: Call) -> tuple[str, str]:
    return call.p.recipient, call.p.recipient_type


def _fragment(result: str, reason: str, text: str, *fields: str) -> Line:
    """An unlogged, untranslated piece of output (upstream's NOTICE fragments)."""
    return replace(verbatim(result, reason, text, *fields), logged=False)


def _caller_slots(call: Call, line: Line) -> Stop:
    """End with `line`, logged like other functions' lines (agent_user and value slots)."""
    call.log_identity = None
    return call.stop(line.ends())


def _truthy(text: str) -> bool:
    """PHP truthiness of a string parameter."""
    return text not in ("", "0")


async def _exists(call: Call, kind: str, recipient: str) -> bool:
    column = RECIPIENT_TABLES[kind]
    return await call.scalar(sa.select(column).where(column == recipient).limit(1)) is not None


async def _infer_type(call: Call) -> None:
    """Step 3: a recipient with no valid type is looked up as a user, a user group, then a campaign."""
    p = call.p
    call.emit(_fragment("NOTICE", "Invalid recipient_type", f"Invalid recipient_type ({p.recipient_type}), ",
                        p.recipient_type))
    p.recipient_type = ""
    for kind in RECIPIENT_TABLES:
        if await _exists(call, kind, p.recipient):
            p.recipient_type = kind
            text = f"NOTICE: found {p.recipient} as {kind}<BR>\n"
            call.emit(_fragment("NOTICE", "found", text, p.recipient, kind))
            return
    none = error("no matching recipient found in users, user_groups, or campaigns", p.recipient)
    raise call.stop(none.ends())


def _viewable(groups: str | None, group: str) -> bool:
    text = groups or ""
    return "---ALL" in text.upper() or f" {group} " in text


async def _check_access(call: Call) -> None:
    """Step 6: the API user's group must reach the recipient — for every type (spec H10: USER too)."""
    p, user, user_group = call.p, call.api_user.user, call.api_user.user_group
    G = vicidial_user_groups.c
    own = await call.first(
        sa.select(G.allowed_campaigns, G.admin_viewable_groups).where(G.user_group == user_group).limit(1))
    if own is None:
        raise _caller_slots(call, error("user_group DOES NOT EXIST", p.value, user_group))
    if p.recipient_type == "CAMPAIGN":
        campaigns = own["allowed_campaigns"] or ""
        if "-ALL" not in campaigns.upper() and f" {p.recipient.upper()} " not in campaigns.upper():
            raise _caller_slots(call, error(
                f"ACCESS TO CAMPAIGN {p.recipient} NOT ALLOWED FOR USER {user} ({campaigns})",
                p.value, p.recipient))
    elif p.recipient_type == "USER_GROUP":
        if not _viewable(own["admin_viewable_groups"], p.recipient):
            raise _caller_slots(call, error(
                f"ACCESS TO USER GROUP {p.recipient} NOT ALLOWED FOR USER {user}", p.value, p.recipient))
    else:
        U = vicidial_users.c
        group = await call.scalar(sa.select(U.user_group).where(U.user == p.recipient).limit(1)) or ""
        if not _viewable(own["admin_viewable_groups"], group):
            raise _caller_slots(call, error(
                f"ACCESS TO USER {p.recipient} NOT ALLOWED FOR USER {user}", p.value, p.recipient))


def _notification_date(call: Call) -> datetime:
    """Step 8: the requested date, or now (with a NOTICE when the text is no valid date and time)."""
    given = call.p.notification_date
    if not given:
        return call.now
    match = _DATE.search(given)
    if match is not None:
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
        if len(match.group(1)) == 2:  # MySQL's two-digit years: 70–99 → 19xx, 00–69 → 20xx
            year += 1900 if year >= 70 else 2000
        try:
            if year >= 1000:
                return datetime(year, month, day, hour, minute, second)
        except ValueError:
            pass
    call.emit(_fragment("NOTICE", "Invalid notification date",
                        f"NOTICE: Invalid notification date {given}, changing to now", given))
    return call.now


async def _confetti_options(call: Call) -> str:
    """`duration,maxParticleCount,particleSpeed`: request → CONFETTI_SETTINGS → default, each capped."""
    asked = {o.name: whole(call.p.get(o.name)) for o in CONFETTI_OPTIONS}
    if not all(asked.values()):
        entry = await call.scalar(sa.select(vicidial_settings_containers.c.container_entry)
                                  .where(vicidial_settings_containers.c.container_id == CONFETTI_CONTAINER))
        for line in (entry or "").splitlines():
            if line.startswith(";") or not _CONTAINER_LINE.search(line):
                continue
            name, _, value = line.strip().partition(" => ")
            value = value.strip()
            if name in asked and not asked[name] and value.isdigit():
                asked[name] = whole(value)
    return ",".join(str(min(asked[o.name] or o.default, o.maximum)) for o in CONFETTI_OPTIONS)


def _text_columns(call: Call) -> dict[str, object]:
    """Step 7's text defaults; written only with a non-empty text (else the table's defaults apply)."""
    p = call.p
    color = p.text_color or "black"
    if _HEX_COLOR.fullmatch(color):
        color = f"#{color}"
    return {
        "notification_text": p.notification_text,
        "text_size": min(whole(p.text_size) or 12, TEXT_SIZE_MAX),
        "text_font": (p.text_font or "Arial")[:30],
        "text_weight": (p.text_weight or "bold")[:30],
        "text_color": color[:15],
    }


@api_function("send_notification", valid=_enabled, invalid=_disabled, alt_user=False, logged_in=False,
              log_identity=_recipient_slots)
async def send_notification(call: Call) -> Line:
    """Queue a notification for a user, a user group or a campaign."""
    p = call.p
    if _truthy(p.recipient) and p.recipient_type not in RECIPIENT_TABLES:
        await _infer_type(call)
    if not _truthy(p.recipient) or not p.recipient_type:
        raise call.stop(error("Missing recipient or recipient_type", p.recipient, p.recipient_type))
    if not await _exists(call, p.recipient_type, p.recipient):
        table = RECIPIENT_TABLES[p.recipient_type].table.name
        raise _caller_slots(call, error(f"{p.recipient} DOES NOT EXIST in {table}", p.value, p.recipient))
    await _check_access(call)

    row: dict[str, object] = {
        "recipient": p.recipient,
        "recipient_type": p.recipient_type,
        "notification_retry": "Y" if "Y" in p.notification_retry.upper() else "N",
        "notification_status": "QUEUED",
    }
    if p.notification_text:
        row |= _text_columns(call)
    row["notification_date"] = _notification_date(call)
    if p.show_confetti == "Y":
        row |= {"show_confetti": "Y", "confetti_options": await _confetti_options(call)}
    if not p.notification_text and p.show_confetti != "Y":
        return error("invalid request", p.recipient, p.recipient_type)
    inserted = await call.db.execute(sa.insert(vicidial_agent_notifications).values(**row))
    return success("notification queued", p.recipient, p.recipient_type, inserted.inserted_primary_key[0])
