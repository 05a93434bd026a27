"""`Periodic`: a background job that stopping never cuts in two."""

from __future__ import annotations

import asyncio
import logging

import pytest

from openagc.periodic import Periodic


def test_stopping_lets_the_pass_under_way_finish() -> None:
    async def go() -> list[str]:
        steps: list[str] = []
        inside, release = asyncio.Event(), asyncio.Event()

        async def job() -> None:
            steps.append("begin")
            inside.set()
            await release.wait()  # (a transaction's statements)
            steps.append("commit")

        passes = Periodic(job, 0.01, "test job").start()
        await inside.wait()
        stopping = asyncio.create_task(passes.stop())
        await asyncio.sleep(0.05)
        assert not stopping.done()  # it waits for the pass
        release.set()
        await stopping
        assert not passes.running
        return steps

    assert asyncio.run(go()) == ["begin", "commit"]  # finished, and no pass began after the stop


def test_a_pass_that_hangs_past_the_grace_is_cancelled(caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> bool:
        inside = asyncio.Event()
        cancelled = False

        async def job() -> None:
            nonlocal cancelled
            inside.set()
            try:
                await asyncio.Event().wait()  # never set
            except asyncio.CancelledError:
                cancelled = True
                raise

        passes = Periodic(job, 0.01, "hanging job", grace=0.05).start()
        await inside.wait()
        await passes.stop()
        return cancelled

    with caplog.at_level(logging.WARNING, logger="openagc.periodic"):
        assert asyncio.run(go())
    assert "hanging job: cancelling work still running" in caplog.text


def test_wait_first_waits_a_period_and_a_stop_before_it_runs_nothing() -> None:
    async def go() -> int:
        runs = 0

        async def job() -> None:
            nonlocal runs
            runs += 1

        passes = Periodic(job, 60, "slow job", wait_first=True).start()
        await asyncio.sleep(0.02)
        await passes.stop()  # ends the wait at once, not after 60 s
        return runs

    assert asyncio.run(asyncio.wait_for(go(), 5)) == 0


def test_a_failing_job_is_tried_again_and_said_once(caplog: pytest.LogCaptureFixture) -> None:
    async def go() -> int:
        runs = 0
        done = asyncio.Event()

        async def job() -> None:
            nonlocal runs
            runs += 1
            if runs == 6:
                done.set()
            if runs <= 4:
                raise RuntimeError("database away")

        passes = Periodic(job, 0.001, "flaky job").start()
        await done.wait()
        await passes.stop()
        return runs

    with caplog.at_level(logging.WARNING, logger="openagc.periodic"):
        assert asyncio.run(go()) >= 6
    assert caplog.text.count("flaky job failed") == 1
    assert caplog.text.count("flaky job works again") == 1
