"""`Database.transaction`: the whole body runs again on a retryable conflict, within attempts and a time budget."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
import sqlalchemy as sa

from openagc.store.database import Conflict, Database

LOCKED = sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))


def _run(db: Database, failures: int) -> tuple[object, list[int]]:
    runs: list[int] = []

    async def body(conn) -> int:  # noqa: ANN001
        await conn.execute(sa.text("INSERT INTO t (n) VALUES (:n)"), {"n": len(runs)})
        runs.append(len(runs))
        if len(runs) <= failures:
            raise LOCKED
        return (await conn.execute(sa.text("SELECT COUNT(*) FROM t"))).scalar()

    async def go() -> object:
        async with db.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE IF NOT EXISTS t (n INTEGER)"))
            await conn.execute(sa.text("DELETE FROM t"))
        try:
            return await db.transaction(body)
        except Conflict as exc:
            return exc
        finally:
            await db.dispose()

    return asyncio.run(go()), runs


def test_the_whole_body_runs_again_and_its_first_writes_are_gone(tmp_path):
    db = Database(str(tmp_path / "t.db"))
    result, runs = _run(db, failures=2)
    assert result == 1 and runs == [0, 1, 2]  # one row: the rolled-back attempts left nothing
    assert db.retries == 2


def test_past_the_attempts_a_conflict_is_raised(tmp_path):
    db = Database(str(tmp_path / "t.db"))
    result, runs = _run(db, failures=99)
    assert isinstance(result, Conflict) and len(runs) == db.attempts


def test_no_attempt_starts_past_the_time_budget(tmp_path):
    db = Database(str(tmp_path / "t.db"))
    db.retry_budget = 0.0  # as after a lock wait timeout that already waited 50 s
    result, runs = _run(db, failures=99)
    assert isinstance(result, Conflict) and len(runs) == 1


def test_other_errors_are_not_retried(tmp_path):
    db = Database(str(tmp_path / "t.db"))

    async def go() -> None:
        async def body(conn) -> None:  # noqa: ANN001
            await conn.execute(sa.text("SELECT * FROM missing"))

        try:
            await db.transaction(body)
        finally:
            await db.dispose()

    with pytest.raises(sa.exc.OperationalError, match="no such table"):
        asyncio.run(go())
    assert db.retries == 0


def test_a_commit_that_fails_is_raised_and_its_connection_goes_back(tmp_path):
    """The COMMIT of `begin` fails: the error reaches the caller, nothing is kept, and the connection is back in
    the pool with its transaction ended (SQLite's write lock is free for the next writer at once)."""
    db = Database(str(tmp_path / "t.db"))

    def refuse(_conn: sa.Connection) -> None:
        raise RuntimeError("the COMMIT failed")

    async def go() -> tuple[int, int]:
        async with db.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
        sa.event.listen(db.engine.sync_engine, "commit", refuse)
        with pytest.raises(RuntimeError, match="the COMMIT failed"):
            async with db.begin() as conn:
                await conn.execute(sa.text("INSERT INTO t (n) VALUES (1)"))
        sa.event.remove(db.engine.sync_engine, "commit", refuse)
        checked_out = db.engine.pool.checkedout()  # type: ignore[attr-defined]
        other = sqlite3.connect(str(tmp_path / "t.db"), timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the failed transaction held on
        rows = other.execute("SELECT COUNT(*) FROM t").fetchone()[0]
        other.execute("ROLLBACK")
        other.close()
        await db.dispose()
        return checked_out, rows

    assert asyncio.run(go()) == (0, 0)
