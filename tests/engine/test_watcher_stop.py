"""Stopping the engine waits for its units of work in flight, but not for ever."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from openagc.engine import watcher as watcher_module
from openagc.engine.watcher import Watcher


def test_stop_lets_work_finish_and_cancels_work_that_outlives_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watcher_module, "STOP_GRACE_SECONDS", 0.2)
    finished: list[str] = []

    async def quick() -> None:
        await asyncio.sleep(0.01)
        finished.append("quick")

    async def stuck() -> None:
        await asyncio.Event().wait()  # waits on something that never comes (a switch that went quiet)

    async def scenario() -> tuple[asyncio.Task, float]:
        w = Watcher(SimpleNamespace())  # type: ignore[arg-type]
        outer = [asyncio.create_task(w._guarded(quick())), asyncio.create_task(w._guarded(stuck()))]
        await asyncio.sleep(0)
        inner_stuck = next(t for t in w._work if "stuck" in repr(t.get_coro()))
        started = asyncio.get_running_loop().time()
        await w.stop()
        took = asyncio.get_running_loop().time() - started
        await asyncio.gather(*outer, return_exceptions=True)
        return inner_stuck, took

    inner_stuck, took = asyncio.run(scenario())
    assert finished == ["quick"]  # work that could finish did
    assert inner_stuck.cancelled()  # the stuck one was cancelled after the grace …
    assert took < 5  # … so stop returned (the grace is 0.2 s; the bound is generous for a loaded machine)
