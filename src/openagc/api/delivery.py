"""Command outcomes in drop-in mode (`--engine off`): upstream's agent screens carry the commands out.

No engine sees the commands, so this watcher (one per API process, every `sweep_seconds`) ends their records:
`delivered` once the column no longer holds the command (the screen cleared it, as it does when it acts), or
`expired` past the family's validity (the column is then cleared, so a screen cannot act on it late). Each
outcome is published like the engine's, for `wait` and `GET /agc/commands/{id}`, and appended to the event log
(`command.outcome`, in the same transaction).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.integrations import agent_rows
from openagc.integrations.command_events import outcome_events
from openagc.periodic import Periodic
from openagc.store import command_records as records
from openagc.store import event_log

if TYPE_CHECKING:
    from openagc.config import Settings
    from openagc.services import Services


async def settle_once(services: Services, validity: dict[str, int]) -> list[dict]:
    """One pass over the queued records; returns the records it ended.

    The pass reads the queued records and their agents' columns in two statements, whatever their number, and
    opens a write transaction only when a record is due (its column no longer holds it, or it is past its
    validity); there the due records' columns are read again and each record is ended by a compare-and-set."""
    async with services.db.connect() as conn:
        queued = [dict(r) for r in (await conn.execute(
            sa.select(records.openagc_commands).where(records.CMD.state == records.QUEUED)
            .order_by(records.CMD.command_id))).mappings()]
        held = await records.columns_of(conn, queued) if queued else {}
    now = services.clock.now()  # after the read: no record read here is newer than `now`
    now_ms = int(now.timestamp() * 1000)

    def expired(record: dict) -> bool:
        return now_ms - int(record["created_ms"]) > records.validity_of(record, validity) * 1000

    due = [r for r in queued if not records.holds(held, r) or expired(r)]
    if not due:
        return []
    ended = []
    async with services.db.begin() as conn:
        await records.lock_queued(conn, {(r["user"], r["command"]) for r in due})  # as api.php's tails lock them
        held = await records.columns_of(conn, due)
        for record in due:
            if not records.holds(held, record):
                state, reason = records.DELIVERED, "the agent's screen took it"
            elif expired(record):
                await records.clear_column(conn, record)
                state, reason = records.EXPIRED, f"not taken within {records.validity_of(record, validity)} s"
            else:
                continue
            done = await records.close(conn, user=record["user"], command=record["command"], value=record["value"],
                                       state=state, reason=reason, by="api", at=now,
                                       command_id=int(record["command_id"]))
            if done is not None:
                ended.append(done)
        appended = await _append_events(conn, ended, now_ms)  # last: the event log's sequence stays locked
    for record in ended:
        services.bus.publish(records.OUTCOME_TOPIC, records.public(record))
    if appended:
        services.bus.publish(event_log.EVENTS_TOPIC, appended[-1])
    return ended


async def _append_events(conn: AsyncConnection, ended: list[dict], now_ms: int) -> list[int]:
    """`command.outcome` events of the records ended (docs/events.md), each with its agent's campaign and group."""
    events = []
    for user in dict.fromkeys(r["user"] for r in ended):
        who = await agent_rows.view(conn, user)
        mine = [r for r in ended if r["user"] == user]
        events += await outcome_events(conn, mine, who.campaign_id if who else "", who.user_group if who else "")
    return await event_log.append(conn, events, now_ms)


def watching(settings: Settings) -> bool:
    """Whether this process (engine off) ends the records: `command_watch` on, or auto without Redis (an engine
    process in front of the same database shares Redis with its API processes)."""
    return settings.command_watch == "on" or (settings.command_watch == "auto" and not settings.redis_url)


async def start(services: Services) -> Callable[[], Awaitable[None]]:
    """Run the watcher until the returned coroutine function is awaited."""
    validity = records.parse_validity(services.settings.command_validity)
    period = max(0.05, float(services.settings.sweep_seconds))
    passes = Periodic(lambda: settle_once(services, validity), period, "command delivery pass",
                      wait_first=True).start()
    return passes.stop
