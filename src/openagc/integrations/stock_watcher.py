"""Events from a stock VICIdial (`--engine off`, upstream's agent screens act): derived by polling its tables.

Every `period` the watcher reads every agent's view (`vicidial_live_agents` with its user group and the status of
its current `vicidial_agent_log` row) and compares it with the view it saw last; for each agent that changed it
reads the log rows behind the change (dispositions, how the call ended) and derives the events with the engine's
own function (`agent_events.derive`). New `vicidial_callbacks` and `recording_log` rows, and the end of the
recordings it saw start, are followed by id.

One watcher per database: the row `openagc_event_watch` is a lease (`LEASE_MS`) that one process holds at a time
and renews; an openagc engine serving the database holds it too (`hold_for_engine`), so no watcher derives events
the engine already appends. The views it saw and its cursors are written in the same transaction as the events
they account for, so a restart (or another process taking the lease over) continues exactly where the last
commit left off: nothing is repeated and nothing is lost, changes in between come out as one change. The first
watcher on a database, or one taking over from an engine, starts from what the tables hold then (a baseline,
without events).

Polls read first and write only when something changed (or the lease is due for renewal).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.integrations import agent_rows
from openagc.integrations.agent_events import AgentView, Facts, callback_events, derive
from openagc.periodic import Periodic
from openagc.store import event_log
from openagc.store.event_log import NewEvent
from openagc.store.leases import holder_name, now_ms
from openagc.store.schema import openagc_event_watch, openagc_event_watch_agents

if TYPE_CHECKING:
    from openagc.services import Services

log = logging.getLogger(__name__)
NAME = "stock"
LEASE_MS = 15_000  # a holder that stops renewing loses the lease after this long
RENEW_MS = 5_000  # how often a holder renews
ENGINE = "engine:"  # holders that are engines (a watcher taking over from one starts from a baseline)
W, WA = openagc_event_watch.c, openagc_event_watch_agents.c
Seen = dict[str, AgentView]  # the agents table's views: user (as that table keys it) → view


class StockWatcher:
    """Derives events from upstream's tables for one database (see the module's docstring)."""

    def __init__(self, services: Services, period: float) -> None:
        self.services = services
        self.period = period
        self.holder = holder_name("stock:")
        # The views the agents table holds, as this process last wrote them; kept while it holds the lease (no
        # other process writes the table then), so a poll compares against memory instead of reading it back.
        self._seen: Seen | None = None

    async def poll(self) -> list[int]:
        """One pass; returns the ids of the events it appended."""
        async with self.services.db.connect() as conn:
            due = await self._due(conn)
        if not due:
            return []
        self._seen = None  # until the write has committed
        ids, self._seen = await self.services.db.transaction(self._write)
        if ids:
            self.services.bus.publish(event_log.EVENTS_TOPIC, ids[-1])
        return ids

    async def _due(self, conn: AsyncConnection) -> bool:
        """Whether a write pass is needed: the lease is free or due for renewal, or the tables moved."""
        lease = (await conn.execute(sa.select(W.holder, W.lease_until_ms, W.state).where(W.name == NAME))).first()
        now = now_ms()
        if lease is None or lease.holder != self.holder:
            self._seen = None
            return lease is None or lease.lease_until_ms <= now
        if lease.lease_until_ms - now < LEASE_MS - RENEW_MS:
            return True
        state = json.loads(lease.state or "{}")
        seen = self._seen if self._seen is not None else await _read_seen(conn)
        if _as_stored(await agent_rows.views(conn)) != seen:
            return True
        if await agent_rows.highest(conn, agent_rows.RL.recording_id) > state.get("recording_id", 0):
            return True
        if await agent_rows.highest(conn, agent_rows.CB.callback_id) > state.get("callback_id", 0):
            return True
        return bool(await _ended(conn, state.get("open", [])))

    async def _write(self, conn: AsyncConnection) -> tuple[list[int], Seen | None]:
        """Under the lease row's lock: take or renew the lease, derive and append the events, save where it is;
        (the events' ids, the views saved, or None when this process does not hold the lease)."""
        now = now_ms()
        lease = (await conn.execute(sa.select(W.holder, W.lease_until_ms, W.state).where(W.name == NAME)
                                    .with_for_update())).first()
        if lease is None:
            try:
                async with conn.begin_nested():
                    await conn.execute(sa.insert(openagc_event_watch).values(
                        name=NAME, holder=self.holder, lease_until_ms=now + LEASE_MS, state="{}"))
            except IntegrityError:  # another watcher created it first: the next pass sees who holds it
                return [], None
            return await self._baseline(conn)
        if lease.holder != self.holder and lease.lease_until_ms > now:
            return [], None
        await conn.execute(sa.update(openagc_event_watch).where(W.name == NAME).values(
            holder=self.holder, lease_until_ms=now + LEASE_MS))
        state = json.loads(lease.state or "{}")
        if lease.holder.startswith(ENGINE) or not state:
            if lease.holder != self.holder:
                log.info("deriving events from upstream's tables (lease taken over from %s)", lease.holder or "nobody")
            return await self._baseline(conn)
        if lease.holder != self.holder:
            log.info("deriving events from upstream's tables (lease taken over from %s)", lease.holder)
        return await self._derive(conn, state)

    async def _baseline(self, conn: AsyncConnection) -> tuple[list[int], Seen]:
        """Start from what the tables hold now, without events."""
        current = await agent_rows.views(conn)
        await conn.execute(sa.delete(openagc_event_watch_agents))
        await _save_seen(conn, current, current)
        state = {"recording_id": await agent_rows.highest(conn, agent_rows.RL.recording_id),
                 "callback_id": await agent_rows.highest(conn, agent_rows.CB.callback_id), "open": []}
        await conn.execute(sa.update(openagc_event_watch).where(W.name == NAME).values(state=json.dumps(state)))
        return [], _as_stored(current)

    async def _derive(self, conn: AsyncConnection, state: dict[str, Any]) -> tuple[list[int], Seen]:
        seen = await _read_seen(conn)
        current = await agent_rows.views(conn)
        changed = sorted(u for u in seen.keys() | current.keys() if seen.get(u) != current.get(u))
        facts = {user: await agent_rows.facts_of(conn, seen.get(user), current.get(user)) for user in changed}

        def facts_for(user: str) -> Facts:
            return facts.setdefault(user, Facts())

        orphans: list[NewEvent] = []  # callbacks for nobody the watcher follows
        callbacks = await agent_rows.new_callbacks(conn, int(state.get("callback_id", 0)))
        for row in callbacks:
            user = row.get("user") or ""
            if user in seen or user in current:
                facts_for(user).callbacks.append(row)
            else:
                orphans.extend(callback_events([row]))
        started = await agent_rows.new_recordings(conn, int(state.get("recording_id", 0)))
        still_open = [int(i) for i in state.get("open", [])]
        stopped = await _ended(conn, still_open)
        for row in started:
            facts_for(row.get("user") or "").recordings_started.append(row)
            if row.get("end_time") is not None:
                stopped.append(row)
        for row in stopped:
            facts_for(row.get("user") or "").recordings_stopped.append(row)
        events: list[NewEvent] = []
        for user in sorted(facts):
            before, after = seen.get(user), current.get(user)
            if before is None and after is None and (facts[user].recordings_started or facts[user].recordings_stopped):
                before = AgentView(user)  # recordings of somebody not logged in: their events name only the user
                after = before
            events.extend(derive(before, after, facts[user]))
        events.extend(orphans)
        ended = {int(r["recording_id"]) for r in stopped}
        state = {
            "recording_id": int(started[-1]["recording_id"]) if started else int(state.get("recording_id", 0)),
            "callback_id": int(callbacks[-1]["callback_id"]) if callbacks else int(state.get("callback_id", 0)),
            "open": sorted({*still_open, *(int(r["recording_id"]) for r in started)} - ended),
        }
        await _save_seen(conn, current, changed)
        await conn.execute(sa.update(openagc_event_watch).where(W.name == NAME).values(state=json.dumps(state)))
        now_ms = int(self.services.clock.now().timestamp() * 1000)
        # last: the sequence row stays locked until commit
        return await event_log.append(conn, events, now_ms), _as_stored(current)

    async def release(self) -> None:
        """Give the lease up at once (another process may take over without waiting for it to lapse)."""
        async with self.services.db.begin() as conn:
            await conn.execute(sa.update(openagc_event_watch).where(W.name == NAME, W.holder == self.holder)
                               .values(lease_until_ms=0))


async def _ended(conn: AsyncConnection, ids: list[int]) -> list[dict[str, Any]]:
    """The recordings among `ids` that have ended (their `end_time` is set)."""
    if not ids:
        return []
    return [r for r in await agent_rows.recordings(conn, ids) if r.get("end_time") is not None]


async def _read_seen(conn: AsyncConnection) -> Seen:
    """The views the agents table holds (what the last write saw)."""
    return {row.user: AgentView.of(json.loads(row.seen)) for row in await conn.execute(sa.select(WA.user, WA.seen))}


def _as_stored(views: dict[str, AgentView]) -> Seen:
    """`views` keyed as the agents table keys them (its user column holds 20 characters)."""
    return {user[:20]: view for user, view in views.items()}


async def _save_seen(conn: AsyncConnection, current: dict[str, AgentView], users: Iterable[str]) -> None:
    """Store the views of `users` as they are now (an agent no longer logged in loses its row)."""
    users = sorted(users)
    if not users:
        return
    await conn.execute(sa.delete(openagc_event_watch_agents).where(WA.user.in_(users)))
    rows = [{"user": u[:20], "seen": json.dumps(current[u].stored())} for u in users if u in current]
    if rows:
        await conn.execute(sa.insert(openagc_event_watch_agents), rows)


async def start(services: Services) -> Callable[[], Awaitable[None]]:
    """Run a watcher in this process until the returned coroutine function is awaited."""
    watcher = StockWatcher(services, max(0.05, float(services.settings.sweep_seconds)))
    passes = Periodic(watcher.poll, watcher.period, "stock event watcher pass").start()

    async def stop() -> None:
        await passes.stop()
        with contextlib.suppress(Exception):
            await watcher.release()

    services.extra["stock_watcher"] = (watcher, asyncio.get_running_loop(), stop)  # what runs it, for tests
    return stop


async def hold_for_engine(services: Services) -> Callable[[], Awaitable[None]]:
    """An engine serving the database holds the lease (and renews it) so that no watcher derives its events."""
    holder = holder_name(ENGINE)

    async def claim() -> None:
        async with services.db.begin() as conn:
            until = now_ms() + LEASE_MS
            took = await conn.execute(sa.update(openagc_event_watch).where(W.name == NAME).values(
                holder=holder, lease_until_ms=until))
            if took.rowcount == 0:
                try:
                    async with conn.begin_nested():
                        await conn.execute(sa.insert(openagc_event_watch).values(
                            name=NAME, holder=holder, lease_until_ms=until, state="{}"))
                except IntegrityError:  # a watcher created it meanwhile: the engine takes it
                    await conn.execute(sa.update(openagc_event_watch).where(W.name == NAME).values(
                        holder=holder, lease_until_ms=until))

    try:
        await claim()
    except Exception:  # no schema yet, or the database is down: the renewal keeps trying
        log.warning("could not take the engine's event lease", exc_info=True)
    renewal = Periodic(claim, RENEW_MS / 1000, "the engine's event lease renewal", wait_first=True).start()

    async def stop() -> None:
        await renewal.stop()
        with contextlib.suppress(Exception):
            async with services.db.begin() as conn:
                await conn.execute(sa.update(openagc_event_watch).where(W.name == NAME, W.holder == holder)
                                   .values(lease_until_ms=0))

    return stop
