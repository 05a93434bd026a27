"""The engine's side of the command records (`store.command_records`): every command ends in a final state.

Within the agent's transaction (`Engine.transact`): a command found in a column with no record (written by plain
SQL) gets one (`adopt`); a queued command past its family's validity is expired and cleared from its column
(`expire`); what the handlers did — `Ctx.claim` (applied) and `Ctx.ignored` (rejected, with the reason) — is written
to the records (`flush`). After the commit the outcomes are published (`publish`): on the bus for callers waiting
on `api.php`'s `wait`, and on the agent's event stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from openagc.store import command_records as records

if TYPE_CHECKING:
    from openagc.engine.context import Ctx


def _now(ctx: Ctx) -> Any:
    return ctx.engine.services.clock.now()


async def adopt(ctx: Ctx, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Commands in the agent's columns that have no queued record get one (source `sql`); returns the queue."""
    known = {(r["command"], r["value"]) for r in pending}
    added = False
    for column in records.FAMILIES:
        value = records.command_value(column, ctx.vla.get(column))
        if value is not None and (column, value[:1000]) not in known:
            await records.open_record(ctx.conn, user=ctx.user, command=column, value=value, function="sql",
                                      source="sql", at=_now(ctx))
            added = True
    return await records.pending(ctx.conn, ctx.user) if added else pending


async def expire(ctx: Ctx, pending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Queued commands older than their validity end `expired` and leave their column; returns the rest."""
    now = _now(ctx)
    now_ms = int(now.timestamp() * 1000)
    validity = ctx.engine.command_validity
    left = []
    for record in pending:
        if now_ms - int(record["created_ms"]) <= records.validity_of(record, validity) * 1000:
            left.append(record)
            continue
        seconds = records.validity_of(record, validity)
        cleared, resting = await records.clear_column(ctx.conn, record)
        if cleared:
            ctx.vla[record["command"]] = resting
        await _end(ctx, record, records.EXPIRED, f"not carried out within {seconds} s", now)
    return left


async def flush(ctx: Ctx) -> None:
    """Write what the handlers did with each command to its record (same transaction): the outcomes, then the
    queued commands the session cleared (rejected) or took with it at logout (expired)."""
    logged_out = any(event["event"] == "logged_out" for event in ctx.events)
    touched = any(ctx.vla.get(column) != ctx.loaded.get(column) for column in records.FAMILIES)
    if not (ctx.outcomes or touched or logged_out):
        return  # no command column moved (a delivery, a call event): no record can have ended
    now = _now(ctx)
    queue = list(ctx.queue) if ctx.queue is not None else await records.pending(ctx.conn, ctx.user)
    ctx.queue = None
    for column, (value, state, reason) in ctx.outcomes.items():
        mine = [r for r in queue if r["command"] == column and r["value"] == value[:1000]]
        if mine:
            queue.remove(mine[-1])
        await _end(ctx, mine[-1] if mine else {"command": column, "value": value, "command_id": None}, state,
                   reason, now)
    ctx.outcomes.clear()
    for record in queue:
        column = record["command"]
        if column in ctx.vla and records.command_value(column, ctx.vla[column]) != record["value"]:
            # the session cleared it (a call began, a disposition ended the call) before it was carried out
            await _end(ctx, record, records.REJECTED, "cleared before it was carried out (a call began or ended)", now)
        elif logged_out:  # what still waited goes with the session
            await _end(ctx, record, records.EXPIRED, "agent logged out", now)


async def _end(ctx: Ctx, record: dict[str, Any], state: str, reason: str, now: Any) -> None:
    """End one command (the record itself when its id is known) and keep it for publishing."""
    command_id = record.get("command_id")
    done = await records.close(ctx.conn, user=ctx.user, command=record["command"], value=record["value"],
                               state=state, reason=reason, by="engine", at=now,
                               command_id=None if command_id is None else int(command_id),
                               read=None if command_id is None else record)
    if done is not None:
        ctx.finished.append(done)


def publish(ctx: Ctx) -> None:
    """After the commit: each outcome to waiting callers (bus) and to the agent's event stream."""
    for record in ctx.finished:
        shown = records.public(record)
        ctx.engine.services.bus.publish(records.OUTCOME_TOPIC, shown)
        ctx.engine.publish_event(ctx.user, {"event": "command", **shown})
    ctx.finished.clear()
