"""Reconciliation: the database made to agree with the switch's channels.

Runs when the engine starts and whenever the switch reports `RESYNC` (an AMI reconnect, an Asterisk restart).
Anything the database says is alive but the switch no longer has ends as upstream would have logged it had the
switch reported the hangup:

* agent phones: each session's phone state is read off the switch (`agent_phone`); a phone that is gone is
  ``lost`` and the agent gets no calls until `call_agent` brings it back;
* calls in `vicidial_auto_calls` whose channel is gone: an agent's answered call ends as a customer hangup
  (dead call, the agent dispositions), an agent's unanswered dial as a failed dial, a caller waiting in queue as
  an abandon (DROP), an auto-dial still ringing as NA;
* leads left `INCALL` with no call and no agent;
* `parked_channels` rows and open `recording_log` rows whose legs are gone;
* the channel mirror (`live_channels`, `live_sip_channels`): this server's rows are written anew.

With several engines, each reconciles its own agents (their phones, calls and recordings: at start, on
`RESYNC`, and when it takes agents over); what belongs to no agent (waiting and ringing calls, orphan leads,
parked rows, the mirror) is reconciled by the engine doing its server's shared work.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa

from openagc.engine import agent_phone, events, remote, routing
from openagc.engine.agent_phone import PhoneState
from openagc.engine.context import Ctx, Host
from openagc.store.schema import (
    parked_channels,
    recording_log,
    vicidial_auto_calls,
    vicidial_list,
    vicidial_live_agents,
)
from openagc.switch.port import Channel, ChannelKind, ChannelState, EventKind, SwitchEvent

log = logging.getLogger(__name__)
VLA, VAC, RL = vicidial_live_agents.c, vicidial_auto_calls.c, recording_log.c


class ReconcileHost(Host, Protocol):
    """What reconciling needs of the engine (`runtime.Engine`) besides a transition's `Host`."""

    async def rewrite_mirror(self) -> None: ...

    def set_phone(self, user: str, state: PhoneState, channel: str | None) -> bool: ...

    async def publish_phone(self, user: str) -> None: ...

    async def customer_left(self, ctx: Ctx, call_id: str) -> None: ...

    async def dial_failed(self, ctx: Ctx, event: SwitchEvent) -> None: ...

    def owns(self, user: str) -> bool: ...

    def serves_switch(self) -> bool: ...


@dataclass
class Reconciled:
    """What one reconciliation changed (logged, and returned for tests and operators)."""

    phones_lost: list[str] = field(default_factory=list)
    phones_connected: list[str] = field(default_factory=list)
    calls_ended: list[str] = field(default_factory=list)  # call ids (vicidial_auto_calls.callerid)
    leads_released: list[int] = field(default_factory=list)
    parked_removed: list[str] = field(default_factory=list)
    recordings_closed: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(vars(self).values())


async def reconcile(engine: ReconcileHost) -> Reconciled | None:
    """Compare the switch's channels with the database and end what no longer exists. None if the switch
    could not list its channels (nothing is changed then)."""
    try:
        channels = await engine.switch.channels()
    except Exception:
        log.warning("reconciliation skipped: the switch did not list its channels", exc_info=True)
        return None
    done = Reconciled()
    agents = await _agents(engine)
    _phones(engine, agents, channels, done)
    await _calls(engine, channels, done)
    if engine.serves_switch():
        await _orphan_leads(engine, done)
        await _parked(engine, channels, done)
    await _recordings(engine, agents, channels, done)
    if engine.serves_switch():
        await engine.rewrite_mirror()
    for user in done.phones_lost + done.phones_connected:
        await engine.publish_phone(user)
    if done:
        log.warning("reconciled with the switch: %s", done)
    return done


async def _agents(engine: ReconcileHost) -> list[dict[str, Any]]:
    async with engine.services.db.connect() as conn:
        rows = await conn.execute(sa.select(vicidial_live_agents).where(VLA.server_ip == engine.server_ip))
        return [dict(r) for r in rows.mappings() if engine.owns(r["user"])]


def _phones(engine: ReconcileHost, agents: list[dict[str, Any]], channels: list[Channel], done: Reconciled) -> None:
    for agent in agents:
        if remote.is_remote(agent):
            continue
        user, conf = agent["user"], str(agent["conf_exten"] or "")
        chan = agent_phone.phone_in(agent["extension"] or "", conf, channels)
        state = agent_phone.state_from(chan, conf)
        if engine.set_phone(user, state, chan.name if chan else None):
            (done.phones_lost if state == agent_phone.PhoneState.LOST else done.phones_connected).append(user)


def _alive(channels: list[Channel]) -> tuple[set[str], set[str]]:
    return {c.call_id for c in channels if c.call_id}, {c.name for c in channels}


async def _calls(engine: ReconcileHost, channels: list[Channel], done: Reconciled) -> None:
    call_ids, names = _alive(channels)
    async with engine.services.db.connect() as conn:
        rows = [dict(r) for r in (await conn.execute(
            sa.select(vicidial_auto_calls).where(VAC.server_ip == engine.server_ip))).mappings()]
        on_call = {r[0]: r[1] for r in await conn.execute(
            sa.select(VLA.callerid, VLA.user).where(VLA.status == "INCALL", VLA.callerid != ""))}
    for row in rows:
        callerid, channel = row["callerid"] or "", row["channel"] or ""
        if callerid in call_ids or (channel and channel in names):
            continue
        ghost = Channel(name=channel, uniqueid=row["uniqueid"] or "", call_id=callerid, kind=ChannelKind.CUSTOMER,
                        state=ChannelState.DOWN, number=row["phone_number"] or "")
        user = on_call.get(callerid)
        if not (engine.owns(user) if user is not None else engine.serves_switch()):
            continue  # another engine's agent, or a call of nobody's that the server's engine ends
        if user is not None:
            if row["uniqueid"]:
                await engine.transact(user, lambda ctx, c=callerid: engine.customer_left(ctx, c))
            else:
                event = SwitchEvent(kind=EventKind.NO_ANSWER, channel=ghost, cause="NO ANSWER")
                await engine.transact(user, lambda ctx, e=event: engine.dial_failed(ctx, e))
        else:
            at = engine.moment()
            async with engine.services.db.begin() as conn:
                if row["status"] == "LIVE":
                    await routing.abandon(conn, at, ghost)
                elif row["status"] in ("SENT", "RINGING"):
                    await routing.auto_call_result(conn, at, SwitchEvent(
                        kind=EventKind.NO_ANSWER, channel=ghost, cause="NO ANSWER"))
                await conn.execute(sa.delete(vicidial_auto_calls).where(VAC.auto_call_id == row["auto_call_id"]))
        done.calls_ended.append(callerid)


async def _orphan_leads(engine: ReconcileHost, done: Reconciled) -> None:
    """Leads `INCALL` that no call and no agent holds any more go back to NA (not called to an end)."""
    L = vicidial_list.c
    async with engine.services.db.begin() as conn:
        held = sa.union(sa.select(VAC.lead_id), sa.select(VLA.lead_id).where(VLA.lead_id > 0)).subquery()
        orphans = [r[0] for r in await conn.execute(
            sa.select(L.lead_id).where(L.status == "INCALL", L.lead_id.notin_(sa.select(held.c[0]))))]
        if orphans:
            await conn.execute(sa.update(vicidial_list).where(L.lead_id.in_(orphans)).values(status="NA"))
    done.leads_released.extend(orphans)


async def _parked(engine: ReconcileHost, channels: list[Channel], done: Reconciled) -> None:
    PC = parked_channels.c
    _, names = _alive(channels)
    async with engine.services.db.begin() as conn:
        gone = [r[0] for r in await conn.execute(sa.select(PC.channel).where(PC.server_ip == engine.server_ip))
                if r[0] not in names]
        if gone:
            await conn.execute(sa.delete(parked_channels).where(
                PC.server_ip == engine.server_ip, PC.channel.in_(gone)))
    done.parked_removed.extend(gone)


async def _recordings(engine: ReconcileHost, agents: list[dict[str, Any]], channels: list[Channel],
                      done: Reconciled) -> None:
    """Open recordings whose agent has no recording leg in the conference any more are closed (length up to
    now: the recording ended with its leg, at the latest)."""
    recording_in = {c.conference for c in channels if c.kind == ChannelKind.RECORDING and c.conference}
    at = engine.moment()
    conf_of = {a["user"]: str(a["conf_exten"] or "") for a in agents}
    async with engine.services.db.begin() as conn:
        rows = (await conn.execute(sa.select(RL.recording_id, RL.user, RL.start_epoch).where(
            RL.server_ip == engine.server_ip, RL.end_time.is_(None)))).all()
        for rec_id, user, start in rows:
            if not engine.owns(user) or conf_of.get(user) in recording_in:
                continue
            length = max(0, at.epoch - int(start or at.epoch))
            await conn.execute(sa.update(recording_log).where(RL.recording_id == rec_id).values(
                end_time=at.now, end_epoch=at.epoch, length_in_sec=length, length_in_min=round(length / 60, 2)))
            done.recordings_closed.append(int(rec_id))
        appended: list[int] = []
        if done.recordings_closed:  # the agent's screen no longer shows them recording
            await conn.execute(sa.update(vicidial_live_agents).where(
                VLA.server_ip == engine.server_ip,
                VLA.external_recording.in_([str(r) for r in done.recordings_closed]),
            ).values(external_recording=""))
            appended = await events.recordings_closed(engine, conn, done.recordings_closed)  # last
    events.published(engine, appended)

