"""SQLite: `Database.connect()` reads take no lock, so a reader left open never holds up a writer."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from openagc.store.database import Database


def test_a_write_commits_while_a_read_connection_is_open_in_its_transaction(tmp_path):
    async def go() -> tuple[int, int, int]:
        db = Database(str(tmp_path / "reads.db"))
        try:
            async with db.begin() as conn:
                await conn.execute(sa.text("CREATE TABLE t (n INTEGER)"))
                await conn.execute(sa.text("INSERT INTO t (n) VALUES (1)"))

            async def write(conn) -> None:  # noqa: ANN001
                await conn.execute(sa.text("INSERT INTO t (n) VALUES (2)"))

            async with db.connect() as reader:
                before = (await reader.execute(sa.text("SELECT COUNT(*) FROM t"))).scalar_one()
                # the reader's transaction is open; with BEGIN IMMEDIATE it held the write lock and this waited
                # for SQLite's busy timeout (30 s) and failed. The bound only keeps a regression from hanging.
                await asyncio.wait_for(db.transaction(write), timeout=20)
                snapshot = (await reader.execute(sa.text("SELECT COUNT(*) FROM t"))).scalar_one()
            async with db.connect() as conn:
                after = (await conn.execute(sa.text("SELECT COUNT(*) FROM t"))).scalar_one()
            return before, snapshot, after
        finally:
            await db.dispose()

    before, snapshot, after = asyncio.run(go())
    assert (before, snapshot, after) == (1, 1, 2)  # the open reader keeps its snapshot; the write is committed


def test_every_sqlite_connection_has_wal_a_30_s_busy_timeout_and_normal_sync(tmp_path):
    """The busy timeout comes from the driver's `timeout` parameter, on the service's and the tools' engines."""
    from openagc.store.database import make_sync_engine

    settings = "PRAGMA journal_mode", "PRAGMA busy_timeout", "PRAGMA synchronous"
    expected = ["wal", 30000, 1]  # synchronous NORMAL is 1

    async def service() -> list:
        db = Database(str(tmp_path / "pragmas.db"))
        try:
            async with db.connect() as conn:
                return [(await conn.execute(sa.text(q))).scalar() for q in settings]
        finally:
            await db.dispose()

    assert asyncio.run(service()) == expected
    engine = make_sync_engine(str(tmp_path / "pragmas.db"))
    try:
        with engine.connect() as conn:
            assert [conn.execute(sa.text(q)).scalar() for q in settings] == expected
    finally:
        engine.dispose()
