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
