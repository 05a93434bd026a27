"""The agent's phone: the dial string upstream uses for it, and whether it is in the agent's conference.

A logged-in agent's phone is a channel the engine originates into the agent's conference at login (and again on
`call_agent`). Its state, per agent, is in memory and rebuilt from the switch's channels whenever the engine
reconciles (start, switch reconnect):

* ``connecting`` — dialled, not answered yet (just after login or `call_agent`);
* ``connected`` — the phone's channel is up in the conference;
* ``lost`` — the phone's channel went away (hung up, the switch restarted) or never answered. No call is
  routed to the agent (`routing.free_agent`, auto-dial counts) until `call_agent` brings the phone back.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store.schema import phones
from openagc.switch.port import Channel, ChannelKind, ChannelState

#: `phones.protocol` values dialled as `<protocol>/<extension>`; EXTERNAL is a dialplan number instead.
EXTERNAL = "EXTERNAL"
_CHANNEL_SUFFIX = re.compile(r"-[0-9A-Za-z]+(;[12])?$")


class PhoneState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    LOST = "lost"


def dial_string(phone: Mapping[str, Any]) -> str:
    """How upstream dials a `phones` row: `SIP/1000`, `PJSIP/1000`, `IAX2/1000`, …; an EXTERNAL phone is
    `Local/<dialplan_number>@<ext_context>` (a number the dialplan knows how to reach)."""
    protocol = phone.get("protocol") or "SIP"
    if protocol == EXTERNAL:
        number = phone.get("dialplan_number") or phone.get("extension") or ""
        return f"Local/{number}@{phone.get('ext_context') or 'default'}"
    return f"{protocol}/{phone['extension']}"


async def row_for(conn: AsyncConnection, extension: str, server_ip: str) -> dict[str, Any]:
    """The `phones` row a session's dial string (`vicidial_live_agents.extension`) was made from."""
    P = phones.c
    if extension.startswith("Local/"):
        number, _, context = extension[len("Local/"):].partition("@")
        where = [P.protocol == EXTERNAL, P.dialplan_number == number, P.ext_context == (context or "default")]
    else:
        protocol, _, ext = extension.partition("/")
        where = [P.extension == ext]
    row = (await conn.execute(sa.select(phones).where(*where, P.server_ip == server_ip).limit(1))).mappings().first()
    return dict(row) if row else {}


def extension_of(channel: str) -> str:
    """The dial string a live channel was made from: `SIP/1000-0000000a` → `SIP/1000`,
    `Local/8300@default-0000000b;1` → `Local/8300@default`."""
    return _CHANNEL_SUFFIX.sub("", channel)


def is_phone_of(extension: str, channel: Channel) -> bool:
    """Whether `channel` is the phone dialled as `extension` (never a `;2` half or a customer leg)."""
    if not extension or channel.name.endswith(";2"):
        return False
    if channel.kind not in (ChannelKind.AGENT, ChannelKind.CUSTOMER):
        return False
    return channel.name == extension or extension_of(channel.name) == extension


def phone_in(extension: str, conference: str, channels: Iterable[Channel]) -> Channel | None:
    """The agent's phone channel among `channels`, preferring one that is up in its conference."""
    found = [c for c in channels if is_phone_of(extension, c)]
    found.sort(key=lambda c: (c.conference != conference, c.state != ChannelState.UP))
    return found[0] if found else None


def state_from(channel: Channel | None, conference: str) -> PhoneState:
    """The phone state a reconciliation reads off the switch."""
    if channel is None:
        return PhoneState.LOST
    if channel.state == ChannelState.UP and channel.conference == conference:
        return PhoneState.CONNECTED
    return PhoneState.CONNECTING
