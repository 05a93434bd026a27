"""`openagc simulate`: its numbers add up and agree with the database; every run starts on a fresh database."""

from __future__ import annotations

import asyncio
import copy
import tempfile
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner

from openagc.cli import app
from openagc.engine.simulate import Centre, log_to_file
from openagc.store.database import make_sync_engine
from openagc.store.demo import seed_demo
from openagc.store.migrate import upgrade


def _database(path: Path) -> str:
    engine = make_sync_engine(str(path))
    upgrade(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        seed_demo(conn)
    engine.dispose()
    return str(path)


#: The rows the tally must agree with: callers queued, callers abandoned, callers waiting.
COUNTED = ("select count(*) from vicidial_closer_log",
           "select count(*) from vicidial_closer_log where term_reason='ABANDON'",
           "select count(*) from vicidial_auto_calls where status='LIVE' and call_type='IN'")


def _scalar(database: str, sql: str) -> int:
    engine = make_sync_engine(database)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(sql)).scalar() or 0)
    finally:
        engine.dispose()


def test_offered_is_waiting_talking_handled_and_abandoned_and_the_database_agrees(tmp_path):
    database = _database(tmp_path / "sim.db")
    seen: list[tuple[int, int, int, int, int]] = []

    async def run() -> tuple[Centre, object, tuple[int, ...]]:
        with log_to_file(tmp_path / "sim.log") as errors:
            # 2 agents for 12 calls a minute, callers patient for 40 s: the queue overflows and callers abandon
            centre = Centre(database, agents=2, calls_per_minute=12, speed=30, seed=5, talk=(20, 40), wrap=(2, 4),
                            patience=40, recordings_dir=tmp_path / "recordings", errors=errors)
            await centre.start()
            try:
                while centre.elapsed() < 240 or not (centre.stats.calls.handled and centre.stats.calls.abandoned):
                    assert centre.elapsed() < 900, "no call was both handled and abandoned in 15 simulated minutes"
                    await asyncio.sleep(0.1)
                    t = (await centre.snapshot()).calls
                    assert t.adds_up(), t
                    seen.append((t.offered, t.waiting, t.talking, t.handled, t.abandoned))
                centre.callers.stop()  # no new callers; let the engine catch up with the switch
                # Callers already waiting may still abandon, and a sweep may hand one to an agent: the rows are
                # read between two equal tallies, each taken at a moment when the engine had nothing in flight
                # (a delivery's claim and its redirect, or a hang-up and its rows, are never split by a read).
                for _ in range(100):
                    await centre.engine.watcher.idle()
                    before = copy.deepcopy(await centre.snapshot())
                    rows = await asyncio.to_thread(lambda: tuple(_scalar(database, q) for q in COUNTED))
                    await centre.engine.watcher.idle()
                    after = await centre.snapshot()
                    if (after.calls, after.switch_errors) == (before.calls, before.switch_errors):
                        return centre, copy.deepcopy(after), rows  # what the rows were read with, not what stop does
                raise AssertionError("the calls kept changing after the callers stopped")
            finally:
                await centre.stop()

    centre, stats, (closer_rows, abandon_rows, live_inbound) = asyncio.run(run())
    t = stats.calls
    assert t.adds_up() and t.offered == t.waiting + t.talking + t.handled + t.abandoned
    assert t.handled > 0 and t.abandoned > 0 and t.offered >= 10
    # every caller was queued once (one closer-log row each); the abandoned and the waiting match the rows: a
    # caller abandoned in queue (ABANDON), or one who hung up while being handed to an agent (the switch refused
    # that redirect: counted as a switch error and logged; the rows show the agent's call that ended at once)
    assert closer_rows == t.offered
    assert abandon_rows + stats.switch_errors == t.abandoned
    assert stats.other_errors == 0
    assert (tmp_path / "sim.log").read_text().count("simulated.ChannelNotFound: ") == stats.switch_errors
    assert live_inbound == t.waiting
    assert seen[-1][0] >= seen[0][0]
    # agent time is simulated time: about 4+ simulated minutes of two agents' logged-in time, not 8 real seconds
    logged = _scalar(database, "select sum(pause_sec + wait_sec + talk_sec + dispo_sec) from vicidial_agent_log")
    assert logged >= 2 * 200


def test_each_run_gets_a_fresh_database_and_nothing_is_written_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    runs = []
    for _ in range(2):
        result = CliRunner().invoke(app, ["simulate", "--agents", "2", "--calls-per-minute", "6", "--minutes", "1",
                                          "--speed", "30"])
        assert result.exit_code == 0, result.output
        assert "offered = waiting + talking + handled + abandoned" in result.output
        assert "agent time, simulated seconds summed over all agents" in result.output
        runs.append(next(d for d in (tmp_path / "tmp").iterdir() if d not in runs))
    assert runs[0] != runs[1]
    for run in runs:
        database = str(run / "simulate.db")
        # this run's own two logins only (a reused database would hold the first run's too)
        assert _scalar(database, "select count(*) from vicidial_user_log where event='LOGIN'") == 2
        assert (run / "simulate.log").exists()
    assert list(work.iterdir()) == []
