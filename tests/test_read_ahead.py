"""Reads ahead: a batch reads its bodies' first rows in one statement, and gives each body only a row that no body
before it in the batch may have written (`store.group_commit.ReadAhead`, `executor.fetch_first_each`).

On SQLite and on MariaDB (a scratch database each). Each body reads its owner's row, then adds one to it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa

from openagc.store import executor
from openagc.store.group_commit import ReadAhead, note_written
from openagc.store.write_tail import Tail
from tests.test_group_commit import Harness, run, url  # noqa: F401  (url: the scratch database fixture)

OWNED = sa.table("owned", sa.column("owner", sa.String), sa.column("n", sa.Integer))
READ = sa.select(OWNED.c.n).where(OWNED.c.owner == sa.bindparam("owner")).limit(1)
START = {"a": 10, "b": 20, "c": 30, "d": 40}


class Reads:
    """The table `owned` and the reads of it the database was sent (each one's SQL)."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.sent: list[str] = []
        sa.event.listen(h.db.engine.sync_engine, "before_cursor_execute", self._note)

    def _note(self, _conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        if sql.lstrip().startswith(("SELECT", "(SELECT")) and "owned" in sql:
            self.sent.append(sql)

    async def setup(self, rows: dict[str, int]) -> None:
        async with self.h.db.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE owned (owner VARCHAR(20), n INTEGER)"))
            for owner, n in rows.items():
                await conn.execute(sa.insert(OWNED).values(owner=owner, n=n))
        self.sent.clear()

    @property
    def shared(self) -> int:
        """Reads that served several bodies."""
        return sum("UNION ALL" in sql for sql in self.sent)

    @property
    def alone(self) -> int:
        """Reads of one body's row."""
        return sum("UNION ALL" not in sql for sql in self.sent)


def body(ahead: ReadAhead, owner: str | None = None, also: str | None = None, noted: str | None = None
         ) -> Callable[[Any, Tail], Awaitable[int | None]]:
    """Take `ahead`'s read (or, `owner` given, a read of that owner instead), add one to the row read (and to
    `also`'s, noting the write as `noted`'s), answer the value read."""
    read_owner = owner or next(iter(ahead.reads))

    async def go(conn: Any, _tail: Tail) -> int | None:
        row = await ahead.take(conn, READ, {"owner": read_owner})
        if noted is not None:
            note_written(noted)
        for who in (read_owner, also):
            if who is not None:
                await conn.execute(sa.update(OWNED).where(OWNED.c.owner == who).values(n=OWNED.c.n + 1))
        return None if row is None else row["n"]

    return go


def ahead_of(owner: str, confined: bool = True) -> ReadAhead:
    return ReadAhead(READ, {"owner": owner}, reads=frozenset({owner}), writes=frozenset({owner}), confined=confined)


async def batch(h: Harness, bodies: list[Callable[[Any, Tail], Awaitable[Any]]], aheads: list[ReadAhead]
                ) -> list[Any]:
    """Run `bodies` as one batch (behind a held lane), each with its `ahead`; their answers in order."""
    release = asyncio.Event()
    first = asyncio.create_task(h.answer(0, h.body(0, release.wait)))
    while h.runs != [0]:
        await asyncio.sleep(0.001)
    tasks = [asyncio.create_task(h.commits.run(b, ahead=a)) for b, a in zip(bodies, aheads, strict=True)]
    await asyncio.sleep(0.01)  # every caller has queued
    release.set()
    await first
    return [await t for t in tasks]


def test_a_batch_reads_its_bodies_rows_in_one_statement(url):  # noqa: F811
    async def test(h: Harness) -> None:
        reads = Reads(h)
        await reads.setup(START)
        aheads = [ahead_of(owner) for owner in ("a", "b", "c", "d", "nobody")]
        assert await batch(h, [body(a) for a in aheads], aheads) == [10, 20, 30, 40, None]
        assert (reads.shared, reads.alone) == (1, 0)

    run(url, test)


def test_a_body_after_another_of_the_same_owner_reads_what_that_one_wrote(url):  # noqa: F811
    async def test(h: Harness) -> None:
        reads = Reads(h)
        await reads.setup(START)
        aheads = [ahead_of("a"), ahead_of("b"), ahead_of("a"), ahead_of("c")]
        assert await batch(h, [body(a) for a in aheads], aheads) == [10, 20, 11, 30]
        # a, b and c read together; the second a after the first, which wrote it (c, whose row no body before it
        # wrote, is read ahead all the same)
        assert (reads.shared, reads.alone) == (1, 1)

    run(url, test)


def test_after_a_body_that_is_not_confined_the_others_read_for_themselves(url):  # noqa: F811
    async def test(h: Harness) -> None:
        reads = Reads(h)
        await reads.setup(START)
        aheads = [ahead_of("a", confined=False), ahead_of("b"), ahead_of("c")]
        bodies = [body(aheads[0], also="b"), body(aheads[1]), body(aheads[2])]
        assert await batch(h, bodies, aheads) == [10, 21, 30]
        assert (reads.shared, reads.alone) == (0, 3)

    run(url, test)


def test_a_body_after_one_that_noted_a_write_of_its_rows_reads_them_itself(url):  # noqa: F811
    async def test(h: Harness) -> None:
        reads = Reads(h)
        await reads.setup(START)
        aheads = [ahead_of("a"), ahead_of("b"), ahead_of("c")]
        bodies = [body(aheads[0], also="b", noted="B"), body(aheads[1]), body(aheads[2])]  # owners without case
        assert await batch(h, bodies, aheads) == [10, 21, 30]
        assert (reads.shared, reads.alone) == (1, 1)  # c's row, which nobody wrote, as read ahead

    run(url, test)


def test_after_a_body_that_strays_from_its_read_the_others_read_for_themselves(url):  # noqa: F811
    async def test(h: Harness) -> None:
        reads = Reads(h)
        await reads.setup(START)
        aheads = [ahead_of("a"), ahead_of("b"), ahead_of("c")]
        bodies = [body(aheads[0], owner="b"), body(aheads[1]), body(aheads[2])]  # the first reads and writes b
        assert await batch(h, bodies, aheads) == [20, 21, 30]
        assert (reads.shared, reads.alone) == (1, 3)  # read ahead, then each read again for itself

    run(url, test)


def test_fetch_first_each_gives_what_fetch_one_gives_for_each(url):  # noqa: F811
    async def test(h: Harness) -> None:
        reads = Reads(h)
        await reads.setup(START)
        async with h.db.begin() as conn:
            await conn.execute(sa.insert(OWNED).values(owner="a", n=99))  # a second row of a: the first is read
            each = [{"owner": o} for o in ("b", "a", "missing", "b", "d")]
            one_by_one = [await executor.fetch_one(conn, READ, params) for params in each]
            together = await executor.fetch_first_each(conn, READ, each)
        assert one_by_one == [{"n": 20}, {"n": 10}, None, {"n": 20}, {"n": 40}]
        assert together == one_by_one
        assert (reads.shared, reads.alone) == (1, 5)

    run(url, test)
