"""Engines that share the agents: each agent belongs to a shard, each shard to one engine at a time.

An agent's shard is a stable hash of its user (`shard_of`: CRC-32 modulo `settings.engine_shards`, the same in
every engine). Every `engine_renew_seconds` an engine, in one transaction (`store/leases.py`):

1. renews its heartbeat (`engine:<holder>`): the live engines are the heartbeats that have not run out;
2. renews the shards it still holds, and gives back those beyond its fair share (`fair_share`: the shards
   divided by the live engines, the remainder to the first by name), so an engine that joins finds free shards
   within one renewal;
3. takes free or run-out shards up to its fair share (a compare-and-set per shard: one taker wins);
4. takes or keeps `server:<server_ip>`: the work of its switch that belongs to no agent (the manager queue,
   auto-dial, the inbound queue and calls nobody has yet, notifications, the channel mirror, reconciling what
   has no agent). One engine per server does it; the others of that server stand by.

Leases last `engine_lease_seconds`. An engine counts on what it holds only until the lease it last wrote runs
out, less one renewal period (`owns` is false after that, even if the database is unreachable), so two engines
never both believe they own a shard while the clocks agree. An engine that dies stops renewing: its shards run
out and the others take them within the lease time plus one renewal. One engine alone takes every shard and
behaves as if there were none.
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.periodic import STOP_GRACE_SECONDS, Periodic, finish
from openagc.services import Services
from openagc.store import leases

log = logging.getLogger(__name__)
ENGINE, SHARD, SERVER = "engine:", "shard:", "server:"


def shard_of(user: str, count: int) -> int:
    """The agent's shard: CRC-32 of its user name modulo `count` (stable across processes and restarts)."""
    return zlib.crc32(user.encode()) % count


def fair_share(count: int, live: list[str], me: str) -> int:
    """How many of `count` shards `me` should hold among the `live` engines (sorted names): `count // n` each,
    one more for the first `count % n`, so the shares add up to `count` exactly."""
    n = max(1, len(live))
    rank = live.index(me) if me in live else n - 1
    return count // n + (1 if rank < count % n else 0)


class Shards:
    """This engine's leases: which shards it owns and whether it does its server's shared work."""

    def __init__(self, services: Services, server_ip: str,
                 on_change: Callable[[frozenset[int], frozenset[int]], Awaitable[None]]) -> None:
        settings = services.settings
        self.services = services
        self.count = max(1, int(settings.engine_shards))
        self.lease_s = max(0.2, float(settings.engine_lease_seconds))
        self.renew_s = min(max(0.05, float(settings.engine_renew_seconds)), self.lease_s / 2)
        self.holder = leases.holder_name(ENGINE)
        self.server_name = f"{SERVER}{server_ip}"
        self.owned: frozenset[int] = frozenset()
        self.share = self.count  # the fair share at the last renewal
        self.server = False
        self._valid_until = 0.0  # time.monotonic() after which nothing held is counted on
        self._on_change = on_change
        self.renewal: Periodic | None = None
        self._changes: set[asyncio.Task[None]] = set()
        self._change_lock = asyncio.Lock()

    # --- what this engine does ------------------------------------------------------------------------------

    def _valid(self) -> bool:
        return time.monotonic() < self._valid_until

    @property
    def everything(self) -> bool:
        """Whether this engine owns every shard (alone, or the others hold none): no filter is needed."""
        return len(self.owned) == self.count and self._valid()

    def owns(self, user: str) -> bool:
        return self._valid() and (len(self.owned) == self.count or shard_of(user, self.count) in self.owned)

    def serves_switch(self) -> bool:
        """Whether this engine does its server's work that belongs to no agent."""
        return self.server and self._valid()

    # --- the leases -------------------------------------------------------------------------------------------

    async def renew(self) -> None:
        """One renewal (see the module's docstring); calls `on_change(gained, lost)` when the shards moved."""
        started, now = time.monotonic(), leases.now_ms()
        until = now + int(self.lease_s * 1000)
        before = self.owned if self._valid() else frozenset()
        owned, server, self.share = await self.services.db.transaction(lambda conn: self._renew(conn, now, until))
        self.owned, self.server = frozenset(owned), server
        self._valid_until = started + self.lease_s - self.renew_s
        gained, lost = self.owned - before, before - self.owned
        if gained or lost:
            log.info("engine %s: %d shards (+%d −%d), server work %s", self.holder, len(self.owned), len(gained),
                     len(lost), "yes" if server else "no")
            # taking agents over (a reconciliation) may take longer than a renewal period: it must not hold the
            # renewals up, or the leases would run out meanwhile
            task = asyncio.get_running_loop().create_task(self._changed(frozenset(gained), frozenset(lost)))
            self._changes.add(task)
            task.add_done_callback(self._changes.discard)

    async def _changed(self, gained: frozenset[int], lost: frozenset[int]) -> None:
        async with self._change_lock:  # one hand-over at a time, in order
            try:
                await self._on_change(gained, lost)
            except Exception:
                log.exception("engine %s: taking over shards %s failed", self.holder, sorted(gained))

    async def _renew(self, conn: AsyncConnection, now: int, until: int) -> tuple[set[int], bool, int]:
        await leases.take(conn, ENGINE + self.holder, self.holder, until, now)
        rows = await leases.held(conn)
        live = sorted(name for name, (_, ends) in rows.items() if name.startswith(ENGINE) and ends > now)
        share = fair_share(self.count, live, ENGINE + self.holder)
        names = {f"{SHARD}{n}": n for n in range(self.count)}
        mine = {name for name in names if rows.get(name, ("", 0))[0] == self.holder}
        kept = {names[name] for name in await leases.renew(conn, self.holder, mine, until)}
        if len(kept) > share:  # the surplus goes back for an engine that has fewer
            surplus = sorted(kept)[share:]
            await leases.release(conn, self.holder, [f"{SHARD}{n}" for n in surplus])
            kept -= set(surplus)
        free = [n for name, n in names.items() if n not in kept and rows.get(name, ("", 0))[1] <= now]
        for n in free:
            if len(kept) >= share:
                break
            if await leases.take(conn, f"{SHARD}{n}", self.holder, until, now):
                kept.add(n)
        server = await leases.take(conn, self.server_name, self.holder, until, now)
        await leases.prune(conn, ENGINE, now - 60_000)
        return kept, server, share

    async def start(self) -> None:
        """Take the first leases before the engine acts — waiting, at most one lease time, for its fair share (the
        leases of a process killed a moment ago run out first, so a restarted engine reconciles its agents as it
        starts) — then renew them in the background."""
        deadline = time.monotonic() + self.lease_s + self.renew_s
        while True:
            try:
                await self.renew()
            except Exception:  # the database is not there yet: the renewal keeps trying, nothing owned meanwhile
                log.warning("engine %s could not take its leases", self.holder, exc_info=True)
                break
            if len(self.owned) >= self.share or time.monotonic() >= deadline:
                break
            await asyncio.sleep(self.renew_s)
        self.renewal = Periodic(self.renew, self.renew_s, f"engine {self.holder}'s lease renewal",
                                wait_first=True).start()

    async def stop(self) -> None:
        """Stop renewing and give every lease back (another engine takes the shards at its next renewal). A renewal
        or a hand-over under way finishes first (cancelled only after the grace, as `Periodic` does)."""
        if self.renewal is not None:
            await self.renewal.stop()
        await finish(list(self._changes), STOP_GRACE_SECONDS, f"engine {self.holder}'s hand-over")
        self._valid_until = 0.0
        self.owned, self.server = frozenset(), False
        try:
            async with self.services.db.begin() as conn:
                await leases.release(conn, self.holder)
        except Exception:  # the database is gone: the leases run out by themselves
            log.warning("engine %s could not give its leases back", self.holder, exc_info=True)
