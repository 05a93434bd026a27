"""Background jobs that run every few seconds, and stop without cutting a pass in two.

Stopping sets a flag and lets the pass under way finish: its transaction commits or rolls back by itself. A pass
is cancelled only if it is still running after the grace (a statement that hangs): cancelling work inside a
transaction can leave the connection mid-statement (MariaDB then waits for that statement) or, on SQLite, leave
the file's write lock to whatever cleans the connection up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)
#: How long stopping waits for a pass under way before it cancels it.
STOP_GRACE_SECONDS = 10.0


async def finish(tasks: list[asyncio.Task[Any]], grace: float, what: str) -> None:
    """Wait for `tasks` to end by themselves; cancel those still running after `grace` seconds."""
    if not tasks:
        return
    _done, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        log.warning("%s: cancelling work still running after %g s: %r", what, grace, task.get_coro())
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Periodic:
    """Runs `job` every `period` seconds (after it, or first after one period with `wait_first`) until `stop()`.

    A failing pass is logged once, and once more when a pass works again: the database may be away for a while,
    and the next pass simply tries again.
    """

    def __init__(self, job: Callable[[], Awaitable[object]], period: float, what: str, *,
                 wait_first: bool = False, grace: float = STOP_GRACE_SECONDS) -> None:
        self.job, self.period, self.what = job, period, what
        self.wait_first, self.grace = wait_first, grace
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> Periodic:
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"periodic: {self.what}")
        return self

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            return False
        return True

    async def _run(self) -> None:
        failing = False
        if self.wait_first and await self._stopped_within(self.period):
            return
        while not self._stopping.is_set():
            try:
                await self.job()
            except Exception:
                if not failing:
                    log.warning("%s failed; trying again every %g s", self.what, self.period, exc_info=True)
                failing = True
            else:
                if failing:
                    log.warning("%s works again", self.what)
                failing = False
            if await self._stopped_within(self.period):
                return

    async def stop(self) -> None:
        """End the loop at its next wait; a pass still running after the grace is cancelled."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is None:
            return
        await finish([task], self.grace, self.what)

    def abandon(self) -> None:
        """Cancel at once, as a process that dies would stop (tests of a dead engine)."""
        if self._task is not None:
            self._task.cancel()
