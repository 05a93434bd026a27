"""Wake-ups and the sweep: when the engine looks at an agent.

- The API publishes `AGENT_COMMAND` (user) on the bus after its transaction commits → that agent is
  processed at once, in-process, by the engine that owns it (the others ignore it).
- Every `settings.sweep_seconds` a sweep picks up what no notification announced: commands written by
  plain SQL, commands of other processes, timers, calls waiting in queue, auto-dial, notifications.
- Switch events are queued and handled one at a time, in order, off the switch's own dispatcher.

A wake-up for an agent already being processed only marks it dirty, so a burst of commands costs at most
one extra pass. Nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Protocol

from openagc.bus import AGENT_COMMAND
from openagc.periodic import STOP_GRACE_SECONDS, finish
from openagc.services import Services
from openagc.switch.port import SwitchEvent, SwitchPort

log = logging.getLogger(__name__)


class Woken(Protocol):
    """What the watcher wakes (`runtime.Engine`): an agent's commands, the sweep, a switch event."""

    services: Services
    switch: SwitchPort

    async def process(self, user: str) -> None: ...

    async def sweep(self) -> None: ...

    async def on_switch_event(self, event: SwitchEvent) -> None: ...

    async def sync_channels(self) -> None: ...

    def owns(self, user: str) -> bool: ...


class Watcher:
    """Schedules the engine's work: bus wake-ups, the periodic sweep and switch events."""

    def __init__(self, engine: Woken) -> None:
        self.engine = engine
        self.loop: asyncio.AbstractEventLoop | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running: set[str] = set()
        self._dirty: set[str] = set()
        self._events: asyncio.Queue[SwitchEvent] = asyncio.Queue()
        self._sweeper: asyncio.Task[None] | None = None
        self._event_task: asyncio.Task[None] | None = None
        self._work: set[asyncio.Task[Any]] = set()
        self.sweeps = 0

    async def _guarded(self, coro: Any) -> Any:
        """Run one unit of work so that stopping never cancels it half-way through a transaction."""
        task = asyncio.get_running_loop().create_task(coro)
        self._work.add(task)
        task.add_done_callback(self._work.discard)
        return await asyncio.shield(task)

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._unsubscribe.append(self.engine.services.bus.subscribe(AGENT_COMMAND, self._on_command))
        self._unsubscribe.append(self.engine.switch.subscribe(self._on_switch_event))
        self._sweeper = self.loop.create_task(self._sweep_loop())
        self._event_task = self.loop.create_task(self._event_loop())

    async def stop(self) -> None:
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        for task in (self._sweeper, self._event_task, *self._tasks):
            if task is not None:
                task.cancel()
        for task in (self._sweeper, self._event_task, *list(self._tasks)):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        # units of work in flight finish (their transactions commit or roll back); one still waiting on the switch
        # after the grace is cancelled, and its transaction rolls back
        await finish(list(self._work), STOP_GRACE_SECONDS, "engine stopping")

    # --- wake-ups -------------------------------------------------------------------------------------

    def _on_command(self, _topic: str, user: Any) -> None:
        if self.loop is not None and isinstance(user, str) and self.engine.owns(user):  # another engine's: its own
            self.loop.call_soon_threadsafe(self.wake, user)

    def wake(self, user: str) -> None:
        """Process `user` now (or once more after the pass already running)."""
        if user in self._running:
            self._dirty.add(user)
            return
        self._running.add(user)
        task = asyncio.get_running_loop().create_task(self._run(user))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, user: str) -> None:
        try:
            while True:
                self._dirty.discard(user)
                try:
                    await self._guarded(self.engine.process(user))
                except Exception:
                    log.exception("processing agent %s failed", user)
                if user not in self._dirty:
                    return
        finally:
            self._running.discard(user)

    # --- sweep -----------------------------------------------------------------------------------------

    async def _sweep_loop(self) -> None:
        period = max(0.02, float(self.engine.services.settings.sweep_seconds))
        while True:
            await asyncio.sleep(period)
            try:
                await self._guarded(self.engine.sweep())
                self.sweeps += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("engine sweep failed")

    # --- switch events ----------------------------------------------------------------------------------

    def _on_switch_event(self, event: SwitchEvent) -> None:
        self._events.put_nowait(event)

    async def _event_loop(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self._guarded(self.engine.on_switch_event(event))
                if self._events.empty():  # the channel mirror follows the switch's events, not a poll
                    await self._guarded(self.engine.sync_channels())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("switch event %s failed", event.kind.value)
            finally:
                self._events.task_done()

    async def drain(self) -> None:
        """Wait until every queued switch event has been handled (tests, simulations)."""
        await self._events.join()

    async def idle(self) -> None:
        """Wait for a moment when nothing is in flight: no switch event pending or queued, no wake-up, sweep or
        event being handled (tests, simulations: what the tables hold then matches what the switch did)."""
        while True:
            await self.engine.switch.settle()
            await self._events.join()
            busy = self._work | self._tasks
            if not busy and self._events.empty():
                return
            if busy:
                await asyncio.wait(busy)
