"""The integrators' event stream as a part of the service (`service.PARTS`): its routes, and what runs in every
process, engine on or off (`always`).

* The ticker: once a second this process looks at the event log's newest id and wakes its streams when it grew
  (events appended by another process without Redis between them); one read per process, not per stream.
* Retention: events older than `event_retention_hours` are pruned once a minute, in batches.
* The stock-VICIdial watcher (`integrations/stock_watcher.py`), in a process that runs no engine where upstream's
  agent screens act (the `command_watch` rule, `api.delivery.watching`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from openagc.api import delivery
from openagc.integrations import event_stream, stock_watcher
from openagc.periodic import Periodic
from openagc.store import event_log

if TYPE_CHECKING:
    from openagc.services import Services

TICK_SECONDS = 1.0
PRUNE_SECONDS = 60.0


def routes(services: Services) -> list[BaseRoute]:
    return event_stream.routes(services)


async def tick(services: Services, seen: int) -> int:
    """Wake this process's streams when the log's newest id is not `seen` any more; returns the newest id."""
    async with services.db.connect() as conn:
        newest = await event_log.last_id(conn)
    if newest != seen:  # (not only a higher one: a database restored from a backup starts lower)
        services.bus.deliver(event_log.EVENTS_TOPIC, newest)  # this process only (the writer published its own)
    return newest


async def prune(services: Services) -> int:
    """Delete the events older than the retention; returns how many went."""
    hours = float(services.settings.event_retention_hours)
    cutoff = int(services.clock.now().timestamp() * 1000 - hours * 3_600_000)
    gone = 0
    while True:
        async with services.db.begin() as conn:
            batch = await event_log.prune(conn, older_than_ms=cutoff)
        gone += batch
        if batch == 0:
            return gone


async def always(services: Services) -> Callable[[], Awaitable[None]]:
    """Start the ticker, the pruning and (drop-in) the stock watcher; returns the coroutine function that stops
    them."""
    seen = 0

    async def ticking() -> None:
        nonlocal seen
        seen = await tick(services, seen)

    jobs = [Periodic(ticking, TICK_SECONDS, "event log tick").start(),
            Periodic(lambda: prune(services), PRUNE_SECONDS, "event pruning").start()]
    stop_watcher = None
    if not services.settings.engine and delivery.watching(services.settings):
        stop_watcher = await stock_watcher.start(services)

    async def stop() -> None:
        if stop_watcher is not None:
            await stop_watcher()
        for job in jobs:
            await job.stop()

    return stop
