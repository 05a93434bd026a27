"""The manager queue: `vicidial_manager` rows the API queues itself, carried out on the switch (spec §6.1).

Upstream's `AST_manager_send.pl` takes NEW rows for its server, sends them to Asterisk and marks them; its
listener then marks them UPDATED or DEAD. Here, per row of our `server_ip` in status NEW:

1. claim it: `UPDATE … SET status='QUEUE' WHERE man_id=? AND status='NEW'` (one process wins);
2. a Hangup/Redirect whose callerid already has a DEAD row is not sent and becomes DEAD (recording extens
   8309/8310 exempt), as upstream;
3. carry it out on the switch, then mark it SENT (done), UPDATED (a player originate: with its uniqueid and
   channel) or DEAD (the channel is gone, the action is unknown), again compare-and-set on QUEUE. An originate
   into a conference stays SENT until the switch answers it (UPDATED, with the real channel) or it fails
   (DEAD), as upstream's listener marks it.

Actions understood (what the API writes: audio_playback, call_agent, ra_call_control,
force_fronter_audio_stop): Originate into a conference (the agent's phone, a player, a number),
Originate of the player controls (`473782138521111`: CallerID 3 toggles pause, 4 restarts), Hangup,
Redirect (to a conference, the park, or any dialplan extension).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

import sqlalchemy as sa

from openagc.services import Services
from openagc.store.players import CONTROL_EXTEN, PLAY_EXTEN, player_id
from openagc.store.schema import vicidial_conferences, vicidial_live_agents, vicidial_manager
from openagc.switch.port import ChannelKind, EventKind, SwitchEvent, SwitchPort

log = logging.getLogger(__name__)
M, VLA = vicidial_manager.c, vicidial_live_agents.c
_CID_NUMBER = re.compile(r"<([^>]*)>")
LINES = ("cmd_line_b", "cmd_line_c", "cmd_line_d", "cmd_line_e", "cmd_line_f", "cmd_line_g", "cmd_line_h",
         "cmd_line_i", "cmd_line_j", "cmd_line_k")
PLAY_CHANNEL = "Local/47378216"
CONTROL_CHANNEL = "Local/473782148521111"
RECORDING_EXTENS = ("8309", "8310")


class ManagerHost(Protocol):
    """What the manager queue needs of the engine (`runtime.Engine`)."""

    services: Services
    switch: SwitchPort
    server_ip: str

    async def sync_channels(self) -> None: ...


def headers(row: dict[str, Any]) -> dict[str, str]:
    """The `Header: value` lines of a row, keys lower-cased."""
    out: dict[str, str] = {}
    for name in LINES:
        key, sep, value = (row.get(name) or "").partition(":")
        if sep:
            out.setdefault(key.strip().lower(), value.strip())
    return out


def local_target(channel: str) -> str:
    """`Local/<exten>@<context>` → `<exten>`."""
    return channel.split("/", 1)[-1].split("@", 1)[0]


async def process(engine: ManagerHost, limit: int = 200) -> int:
    """Carry out the NEW rows of this server, oldest first; returns how many were handled."""
    async with engine.services.db.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(
            sa.select(vicidial_manager).where(M.server_ip == engine.server_ip, M.status == "NEW")
            .order_by(M.man_id).limit(limit))).mappings()]
    handled = 0
    for row in rows:
        async with engine.services.db.begin() as conn:
            took = await conn.execute(sa.update(vicidial_manager).where(
                M.man_id == row["man_id"], M.status == "NEW").values(status="QUEUE"))
            if took.rowcount != 1:
                continue
            dead_twin = False
            if row["action"] in ("Hangup", "Redirect") and not _recording(row):
                dead_twin = (await conn.execute(sa.select(M.man_id).where(
                    M.callerid == row["callerid"], M.status == "DEAD", M.man_id != row["man_id"]).limit(1))
                ).first() is not None
            conferences = {str(r[0]) for r in await conn.execute(sa.select(vicidial_conferences.c.conf_exten).where(
                vicidial_conferences.c.server_ip == engine.server_ip))}
        status, values = ("DEAD", {}) if dead_twin else await _carry_out(engine, row, conferences)
        async with engine.services.db.begin() as conn:
            await conn.execute(sa.update(vicidial_manager).where(M.man_id == row["man_id"], M.status == "QUEUE")
                               .values(status=status, **values))
        handled += 1
    if handled:
        await engine.sync_channels()
    return handled


def _recording(row: dict[str, Any]) -> bool:
    return headers(row).get("exten", "") in RECORDING_EXTENS


async def _carry_out(engine: ManagerHost, row: dict[str, Any], conferences: set[str]) -> tuple[str, dict[str, Any]]:
    h = headers(row)
    action, channel, exten = row["action"] or "", h.get("channel", ""), h.get("exten", "")
    switch = engine.switch
    try:
        if action == "Hangup":
            if not channel or not any(c.name == channel for c in await switch.channels()):
                return "DEAD", {}
            await switch.hangup(channel)
            return "SENT", {}
        if action == "Redirect":
            if not any(c.name == channel for c in await switch.channels()):
                return "DEAD", {}
            if exten in conferences:
                await switch.redirect(channel, conference=exten)
            else:
                await switch.redirect(channel, exten=exten)
            return "SENT", {}
        if action == "Originate":
            return await _originate(engine, row, h, conferences)
    except Exception:
        log.exception("manager row %s (%s) failed", row["man_id"], action)
        return "DEAD", {}
    return "DEAD", {}


async def _originate(engine: ManagerHost, row: dict[str, Any], h: dict[str, str],
                     conferences: set[str]) -> tuple[str, dict[str, Any]]:
    switch, channel, exten = engine.switch, h.get("channel", ""), h.get("exten", "")
    callerid = row["callerid"] or ""
    if exten == PLAY_EXTEN and channel.startswith(PLAY_CHANNEL):
        conf = local_target(channel)[len("47378216"):]
        sound = callerid or h.get("callerid", "").strip('"').split('"')[0]
        made = await switch.play_audio(conf, sound, callerid)
        return "UPDATED", {"uniqueid": made.uniqueid[:20], "channel": made.name[:100]}
    if exten == CONTROL_EXTEN and channel.startswith(CONTROL_CHANNEL):
        wanted = local_target(channel)[len("473782148521111"):]  # the player id (store.players)
        player = next((c.name for c in await switch.channels()
                       if c.kind == ChannelKind.PLAYBACK and player_id(c.name) == wanted), None)
        if player is None:
            return "DEAD", {}
        await switch.control_audio(player, "RESTART" if h.get("callerid") == "4" else "TOGGLE")
        return "SENT", {}
    if exten in conferences:
        # The phone of the agent in that conference (call_agent's replay), even a Local one (an EXTERNAL phone);
        # any other Local channel is a number dialled into the conference, its dial string complete.
        async with engine.services.db.connect() as conn:
            phone = (await conn.execute(sa.select(VLA.extension).where(
                VLA.conf_exten == exten, VLA.server_ip == engine.server_ip).limit(1))).scalar() or ""
        agent = channel.lower() == phone.lower() or not channel.lower().startswith("local/")
        cid = _CID_NUMBER.search(h.get("callerid", ""))
        await switch.originate(number=channel if agent else local_target(channel), call_id=callerid,
                               conference=exten, caller_id=cid.group(1) if cid else "", prefix="",
                               kind=ChannelKind.AGENT if agent else ChannelKind.CUSTOMER, timeout=60.0)
        engine.__dict__.setdefault("manager_originates", {})[callerid] = row["man_id"]
        return "SENT", {}  # the switch's answer makes it UPDATED (on_switch_event)
    return "DEAD", {}


async def on_switch_event(engine: ManagerHost, event: SwitchEvent) -> None:
    """Upstream's listener for the conference originates of this queue: answered → UPDATED with the real channel
    and its uniqueid; busy, unanswered or gone first → DEAD."""
    pending: dict[str, int] = engine.__dict__.get("manager_originates", {})
    ch = event.channel
    if ch.call_id not in pending or ch.name.endswith(";2"):
        return
    if event.kind == EventKind.ANSWERED:
        status, values = "UPDATED", {"uniqueid": ch.uniqueid[:20], "channel": ch.name[:100]}
    elif event.kind in (EventKind.BUSY, EventKind.NO_ANSWER, EventKind.HANGUP):
        status, values = "DEAD", {}
    else:
        return
    man_id = pending.pop(ch.call_id)
    async with engine.services.db.begin() as conn:
        await conn.execute(sa.update(vicidial_manager).where(M.man_id == man_id, M.status == "SENT")
                           .values(status=status, **values))
