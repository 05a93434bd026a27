"""Integrators' events of the engine's transactions (`docs/events.md`).

The agent's view (`integrations/agent_events.AgentView`) is taken from its `vicidial_live_agents` row as the
transaction holds it: `ctx.vla`, read and row-locked by `context.load` and kept equal to the row by `Ctx.set` and
`Ctx.enter`, the engine's one way of writing it (a logout deletes it: no view after). `begin` takes the view
before the change; `append`, last in the transaction, takes it after, reads the log rows behind the change (a
disposition, how a call ended), derives the events with the function the stock-VICIdial watcher uses
(`agent_events.derive`), adds what only the engine knows (recordings it started or stopped, transfers, park,
command outcomes) and appends them to the event log; `publish`, after the commit, wakes the streams.

A transaction that changed nothing an event reports reads nothing more; one in which the agent had a lead reads
the status of its agent log row and the highest callback id at the start (a disposition may follow).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from openagc.integrations import agent_rows
from openagc.integrations.agent_events import (
    RECORDING_STOPPED,
    AgentView,
    derive,
    park_event,
    recording_events,
    transfer_event,
)
from openagc.integrations.command_events import outcome_events
from openagc.store import event_log
from openagc.store.event_log import NewEvent

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncConnection

    from openagc.engine.context import Ctx, Host
    from openagc.store.write_tail import Tail


@dataclass
class Journal:
    """The agent's view when the transaction began, and the ids its events got."""

    before: AgentView | None
    callbacks_after: int | None = None  # the highest callback id then (only while the agent had a lead)
    ids: list[int] = field(default_factory=list)


def _view(ctx: Ctx, log_status: str = "") -> AgentView | None:
    if any(e["event"] == "logged_out" for e in ctx.events):
        return None
    return AgentView.of(ctx.vla | {"user_group": ctx.user_group, "log_status": log_status})


async def begin(ctx: Ctx) -> None:
    """Remember the agent's view as the transaction found it."""
    before = _view(ctx)
    callbacks_after = None
    if before is not None and before.lead_id:  # a disposition may come, with a callback
        log_status, callbacks_after = await agent_rows.before_disposition(ctx.conn, before.agent_log_id)
        before = replace(before, log_status=log_status)
    ctx.journal = Journal(before, callbacks_after)


def begin_login(ctx: Ctx) -> None:
    """A login: there was no row before."""
    ctx.journal = Journal(None)


def _engine_only(events: list[dict[str, Any]], who: AgentView) -> list[NewEvent]:
    out = []
    for e in events:
        kind = e["event"]
        if kind == "transfer":
            out.append(transfer_event(who, "requested", function=e.get("function", ""), phase=e.get("phase", "")))
        elif kind in ("xfer_answered", "xfer_hangup"):
            step = "answered" if kind == "xfer_answered" else "hung_up"
            out.append(transfer_event(who, step, call_id=e.get("callerid", "")))
        elif kind == "left_3way":
            out.append(transfer_event(who, "left_3way", conf_exten=e.get("conf_exten", "")))
        elif kind in ("parked", "grabbed"):
            out.append(park_event(who, kind == "parked", leg=e.get("leg", ""), channel=e.get("channel", "")))
    return out


async def append(ctx: Ctx, tail: Tail) -> None:
    """Derive the transaction's events and hand them to `tail`, which appends them with the other transitions'
    committed together (the event log's sequence row is locked from then until the commit)."""
    journal = ctx.journal
    if journal is None:
        return
    conn = ctx.conn
    after, before = _view(ctx), journal.before
    # only a disposition given now can close a cycle with a status: the agent had a lead, and it moved on
    disposed = before is not None and before.lead_id > 0 and (
        after is None or (after.lead_id, after.agent_log_id) != (before.lead_id, before.agent_log_id))
    facts = await agent_rows.facts_of(conn, before, after, dispositions=disposed)
    if journal.callbacks_after is not None and facts.dispositions:
        facts.callbacks = await agent_rows.new_callbacks(conn, journal.callbacks_after, user=ctx.user)
    who = after or journal.before or AgentView(ctx.user, campaign_id=ctx.campaign_id, user_group=ctx.user_group)
    started = [int(e["recording_id"]) for e in ctx.events if e["event"] == "recording_started"]
    stopped = [int(e["recording_id"]) for e in ctx.events if e["event"] == "recording_stopped"]
    if started or stopped:
        rows = {int(r["recording_id"]): r for r in await agent_rows.recordings(conn, {*started, *stopped})}
        facts.recordings_started = [rows[i] for i in started if i in rows]
        facts.recordings_stopped = [rows[i] for i in stopped if i in rows]
    facts.extra = _engine_only(ctx.events, who)
    events = derive(journal.before, after, facts)
    events += await outcome_events(conn, ctx.finished, who.campaign_id, who.user_group, ctx.superseded)
    if events:
        tail.add_events(events, int(ctx.engine.services.clock.now().timestamp() * 1000), journal.ids)


def publish(ctx: Ctx) -> None:
    """After the commit: wake the event streams (the events are read from the table)."""
    if ctx.journal is not None:
        published(ctx.engine, ctx.journal.ids)


def published(engine: Host, ids: list[int]) -> None:
    if ids:
        engine.services.bus.publish(event_log.EVENTS_TOPIC, ids[-1])


async def recordings_closed(engine: Host, conn: AsyncConnection, recording_ids: list[int]) -> list[int]:
    """`recording.stopped` for recordings the engine closed outside an agent's transaction (reconciliation found
    their legs gone); call it last in the transaction."""
    views = await agent_rows.views(conn)
    events = []
    for row in await agent_rows.recordings(conn, recording_ids):
        user = row.get("user") or ""
        events += recording_events(RECORDING_STOPPED, [row], views.get(user) or AgentView(user))
    return await event_log.append(conn, events, int(engine.services.clock.now().timestamp() * 1000))
