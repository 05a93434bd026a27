"""The webhook dispatcher: a background task that POSTs the event log to each active subscription, in order.

It wakes on `EVENTS_TOPIC` (and `WAKE_TOPIC`, published when a subscription is created or enabled), when a retry
falls due, and every `Policy.poll` seconds (events appended by another process, leases that ran out). New events
wake it only while its last look found an active subscription: with none, nothing is read per event (the poll and
`WAKE_TOPIC` still find a new one). A
subscription is delivered by one dispatcher at a time, whichever process it runs in: the dispatcher first takes
the subscription's lease in the database with a compare-and-set (`lease_until_ms` in the past → its own name and
a new deadline), renews it before every attempt, and gives it back when it has caught up or failed.

Per subscription, events go out one per request, oldest first; `last_event_id` advances only after a 2xx, in the
transaction that logs the attempt, so a crash in between sends the event again (delivery is at least once; the
`webhook-id` header is the event id). A failure sets `next_attempt_ms` after an exponential back-off with jitter;
`Policy.max_failures` failures in a row disable the subscription, and enabling it resumes after its cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc import metrics
from openagc.bus import Bus
from openagc.config import Settings
from openagc.integrations.webhooks import sender, store
from openagc.integrations.webhooks.scope import NotPermitted, scope_of_owner
from openagc.integrations.webhooks.store import Subscription
from openagc.store import event_log
from openagc.store.database import Database
from openagc.store.event_log import EVENTS_TOPIC, Event
from openagc.store.leases import holder_name, now_ms
from openagc.store.schema import openagc_webhooks

log = logging.getLogger(__name__)
W = openagc_webhooks.c
WAKE_TOPIC = "webhooks.changed"  # bus message: a subscription was created or enabled
PRUNE_SECONDS = 600.0  # how often a dispatcher prunes the attempt log


@dataclass(frozen=True)
class Policy:
    """How the dispatcher delivers (`Settings.webhook_*`; tests make it fast)."""

    timeout: float = 10.0  # one attempt, connection to status line
    backoff_min: float = 1.0  # the first retry's pause
    backoff_max: float = 600.0  # the longest pause
    max_failures: int = 20  # failures in a row that disable a subscription
    concurrency: int = 8  # subscriptions delivered at once by one dispatcher
    poll: float = 1.0  # the longest sleep between two looks at the table
    batch: int = 100  # events read at once
    lease: float = 40.0  # how long a lease lasts without renewal; more than one attempt's timeout
    retention_hours: float = 72.0  # attempts older than this are pruned (the event log's retention)

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        timeout = settings.webhook_timeout
        return cls(timeout=timeout, backoff_min=settings.webhook_backoff_min,
                   backoff_max=max(settings.webhook_backoff_min, settings.webhook_backoff_max),
                   max_failures=max(1, settings.webhook_max_failures),
                   concurrency=max(1, settings.webhook_concurrency), lease=max(cls.lease, 2 * timeout + 10),
                   retention_hours=settings.event_retention_hours)

    def pause(self, failures: int, rnd: random.Random) -> float:
        """Seconds before the retry after `failures` failures in a row: `backoff_min` doubled each time up to
        `backoff_max`, a random point in its upper half (never below `backoff_min`)."""
        top = min(self.backoff_max, self.backoff_min * 2 ** min(failures - 1, 60))
        return rnd.uniform(max(self.backoff_min, top / 2), top)


class Dispatcher:
    """Delivers every active subscription it can lease; `start()` runs it, `stop()` ends it."""

    def __init__(self, db: Database, bus: Bus | None = None, policy: Policy | None = None, *,
                 name: str | None = None) -> None:
        self.db = db
        self.bus = bus
        self.policy = policy or Policy()
        self.name = (name or holder_name(""))[:64]
        self._rnd = random.Random()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._client: httpx.AsyncClient | None = None
        self._prune_due = 0.0  # time.monotonic() at which the attempt log is next pruned
        self._subscribed = True  # the last look found an active subscription (new events are then worth a look)

    async def start(self) -> Callable[[], Any]:
        """Start the loop; returns `stop` (the service's lifespan awaits it at shutdown)."""
        loop = asyncio.get_running_loop()
        self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=2 * self.policy.concurrency))

        def wake(_topic: str, _message: Any) -> None:
            loop.call_soon_threadsafe(self.poke)

        def new_events(_topic: str, _message: Any) -> None:
            loop.call_soon_threadsafe(self._new_events)

        if self.bus is not None:
            self._unsubscribe = [self.bus.subscribe(EVENTS_TOPIC, new_events), self.bus.subscribe(WAKE_TOPIC, wake)]
        self._loop_task = asyncio.create_task(self._run(), name=f"webhooks {self.name}")
        return self.stop

    def poke(self) -> None:
        """Look at the subscriptions now (new events, a new or enabled subscription)."""
        self._wake.set()

    def _new_events(self) -> None:
        """Events were appended: look now if a subscription may want them."""
        if self._subscribed:
            self._wake.set()

    async def stop(self) -> None:
        """Stop: attempts in flight may finish (an attempt is bounded by the timeout), then the leases are given
        back so another dispatcher (or this one restarted) carries on at once."""
        self._stopping = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        if self._loop_task is not None:  # it ends at its next look; cancelled only if a statement hangs
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._loop_task), self.policy.timeout + 5)
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        running = list(self._tasks.values())
        if running:
            _done, late = await asyncio.wait(running, timeout=self.policy.timeout + 5)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        try:
            async with self.db.begin() as conn:
                await conn.execute(sa.update(openagc_webhooks).where(W.lease_owner == self.name)
                                   .values(lease_owner="", lease_until_ms=0))
        except Exception:  # the database is gone: the leases run out by themselves
            log.warning("webhook dispatcher %s could not give its leases back", self.name, exc_info=True)
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                delay = await self._schedule()
            except Exception:
                log.exception("webhook dispatcher: reading the subscriptions failed")
                delay = self.policy.poll
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _schedule(self) -> float:
        """Start a delivery pass for every due subscription there is a slot for; returns how long to sleep.

        Due: active, its retry time reached, no live lease, and behind the event log's last id.
        """
        if time.monotonic() >= self._prune_due:
            await self._prune()
        now = now_ms()
        async with self.db.connect() as conn:
            newest = await event_log.last_id(conn)
            due = [row[0] for row in await conn.execute(
                sa.select(W.webhook_id).where(W.active == "Y", W.next_attempt_ms <= now, W.lease_until_ms < now,
                                              W.last_event_id < newest).order_by(W.webhook_id))]
            active, upcoming = (await conn.execute(sa.select(
                sa.func.count(), sa.func.min(sa.case((W.next_attempt_ms > now, W.next_attempt_ms)))).where(
                W.active == "Y"))).one()
        self._subscribed = bool(active)
        for webhook_id in due:
            if self._stopping:
                break
            if webhook_id in self._tasks:
                continue
            if len(self._tasks) >= self.policy.concurrency:
                break  # the next pass to end wakes the loop again
            task = asyncio.create_task(self._serve(webhook_id))
            self._tasks[webhook_id] = task
            task.add_done_callback(lambda _t, key=webhook_id: self._finished(key))
        delay = self.policy.poll
        if upcoming is not None:
            delay = min(delay, (int(upcoming) - now) / 1000)
        return max(delay, 0.001)

    async def _prune(self) -> None:
        """The attempt log keeps what the event log keeps (`event_retention_hours`). A failed prune is tried
        again at the next look (and does not hold up deliveries); a finished one after `PRUNE_SECONDS`."""
        cutoff = now_ms() - int(self.policy.retention_hours * 3_600_000)
        try:
            while not self._stopping:
                async with self.db.begin() as conn:
                    if await store.prune_attempts(conn, older_than_ms=cutoff) == 0:
                        break
        except Exception:
            log.exception("webhook dispatcher: pruning the attempt log failed; trying again")
            return
        self._prune_due = time.monotonic() + PRUNE_SECONDS

    def _finished(self, webhook_id: int) -> None:
        """A pass ended: look again (events that came meanwhile, a retry time to sleep until, a free slot). A
        subscription that caught up is not due any more, so this never spins."""
        self._tasks.pop(webhook_id, None)
        self._wake.set()

    async def _serve(self, webhook_id: int) -> None:
        """One delivery pass: lease, deliver until caught up or failed, give the lease back."""
        try:
            claimed = await self.db.transaction(lambda conn: self._claim(conn, webhook_id))
            if claimed is None:
                return
            try:
                await self._deliver(*claimed)
            finally:
                if not self._stopping:
                    await self._release(webhook_id)
        except asyncio.CancelledError:
            raise
        except Exception:  # the database went away, say: this slot waits a poll interval before the next try
            log.exception("webhook %d: delivery pass failed", webhook_id)
            await asyncio.sleep(self.policy.poll)

    async def _claim(self, conn: AsyncConnection, webhook_id: int) -> tuple[Subscription, str] | None:
        """Take the lease (compare-and-set: only a due subscription whose lease has run out)."""
        now = now_ms()
        taken = await conn.execute(sa.update(openagc_webhooks).where(
            W.webhook_id == webhook_id, W.active == "Y", W.next_attempt_ms <= now, W.lease_until_ms < now,
        ).values(lease_owner=self.name, lease_until_ms=now + int(self.policy.lease * 1000)))
        if taken.rowcount != 1:
            return None
        subscription = await store.get(conn, webhook_id)
        secret = await store.secret_of(conn, webhook_id)
        assert subscription is not None and secret is not None
        return subscription, secret

    async def _release(self, webhook_id: int) -> None:
        async with self.db.begin() as conn:
            await conn.execute(sa.update(openagc_webhooks).where(
                W.webhook_id == webhook_id, W.lease_owner == self.name).values(lease_owner="", lease_until_ms=0))

    async def _deliver(self, sub: Subscription, secret: str) -> None:
        cursor = sub.last_event_id
        while not self._stopping:
            async with self.db.connect() as conn:
                try:
                    scope = await scope_of_owner(conn, sub.owner)
                except NotPermitted as exc:
                    scope, refused = None, str(exc)
                newest = await event_log.last_id(conn)  # every event up to it is committed, hence in the read
                events = await event_log.read_after(conn, cursor, limit=self.policy.batch, where=sub.filter())
                oldest = await event_log.oldest_id(conn)
            if scope is None:
                await self._disable(sub.id, f"its owner: {refused}")
                return
            if oldest is not None and oldest > cursor + 1 and newest > cursor:
                log.warning("webhook %d: events %d to %d were pruned before this subscription reached them", sub.id,
                            cursor + 1, oldest - 1)
            for event in events:
                if self._stopping:
                    return
                if not scope.sees(event):
                    continue
                if not await self._attempt(sub, secret, event):
                    return
                cursor = event.id
            # Pass over what this subscription does not take (other kinds, events its owner may not see), up to
            # the last event read, or up to the log's end when the read was not cut short by the batch size.
            reached = events[-1].id if len(events) == self.policy.batch else max([newest, *(e.id for e in events)])
            if reached > cursor:
                if not await self._advance(sub.id, reached):
                    return
                cursor = reached
            if len(events) < self.policy.batch:
                return

    async def _advance(self, webhook_id: int, event_id: int) -> bool:
        async with self.db.begin() as conn:
            moved = await conn.execute(sa.update(openagc_webhooks).where(
                W.webhook_id == webhook_id, W.lease_owner == self.name, W.last_event_id < event_id,
            ).values(last_event_id=event_id))
        return moved.rowcount == 1

    async def _attempt(self, sub: Subscription, secret: str, event: Event) -> bool:
        """POST one event; True when it was delivered and the cursor moved past it."""

        async def renew(conn: AsyncConnection) -> int | None:
            kept = await conn.execute(sa.update(openagc_webhooks).where(
                W.webhook_id == sub.id, W.lease_owner == self.name, W.active == "Y",
            ).values(lease_until_ms=now_ms() + int(self.policy.lease * 1000)))
            if kept.rowcount != 1:
                return None
            return await store.attempts_of(conn, sub.id, event.id) + 1

        number = await self.db.transaction(renew)
        if number is None:  # removed, disabled or taken over meanwhile
            return False
        assert self._client is not None
        outcome = await sender.post(self._client, sub.url, secret, str(event.id), sender.body_of(event.public()),
                                    self.policy.timeout)
        metrics.WEBHOOK_DELIVERIES.labels(outcome.result).inc()

        async def record(conn: AsyncConnection) -> tuple[bool, int]:
            """Log the attempt and move the cursor or count the failure: (delivered, failures in a row)."""
            await store.log_attempt(conn, webhook_id=sub.id, event_id=event.id, attempt=number, at_ms=outcome.at_ms,
                                    status=outcome.status, error=outcome.error, duration_ms=outcome.duration_ms,
                                    dispatcher=self.name)
            if outcome.ok:
                moved = await conn.execute(sa.update(openagc_webhooks).where(
                    W.webhook_id == sub.id, W.lease_owner == self.name,
                ).values(last_event_id=event.id, failures=0, next_attempt_ms=0, delivered=W.delivered + 1))
                return moved.rowcount == 1, 0
            failures = (await conn.execute(sa.select(W.failures).where(
                W.webhook_id == sub.id, W.lease_owner == self.name))).scalar()
            if failures is None:
                return False, 0
            failures = int(failures) + 1
            values: dict[str, Any] = {"failures": failures, "failed": W.failed + 1,
                                      "next_attempt_ms": now_ms() + int(self.policy.pause(failures, self._rnd) * 1000)}
            if failures >= self.policy.max_failures:
                values |= {"active": "N", "disabled_ms": now_ms(),
                           "disabled_reason": f"{failures} failures in a row (last: {outcome.describe()})"[:255]}
            await conn.execute(sa.update(openagc_webhooks).where(
                W.webhook_id == sub.id, W.lease_owner == self.name).values(**values))
            return False, failures

        delivered, failures = await self.db.transaction(record)
        if failures >= self.policy.max_failures:
            log.warning("webhook %d disabled after %d failures in a row (last: %s); `openagc webhooks enable %d` "
                        "resumes with event %d", sub.id, failures, outcome.describe(), sub.id, event.id)
        return delivered

    async def _disable(self, webhook_id: int, reason: str) -> None:
        async with self.db.begin() as conn:
            await conn.execute(sa.update(openagc_webhooks).where(
                W.webhook_id == webhook_id, W.lease_owner == self.name,
            ).values(active="N", disabled_ms=now_ms(), disabled_reason=reason[:255]))
        log.warning("webhook %d disabled: %s", webhook_id, reason)


async def start(services: Any) -> Callable[[], Any]:
    """Run a dispatcher in this process (the service's lifespan; `Settings.webhooks`)."""
    dispatcher = Dispatcher(services.db, services.bus, Policy.from_settings(services.settings))
    services.extra["webhooks"] = dispatcher
    return await dispatcher.start()
