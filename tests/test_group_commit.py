"""`GroupCommit`: bodies that wait together share one transaction, and each keeps `Database.transaction`'s promises.

Every test runs on SQLite and on MariaDB (a scratch database each). A batch is formed deterministically: the first
body holds its lane (it waits on an event) while the others queue behind it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from openagc.store import schema
from openagc.store.command_records import record_row
from openagc.store.database import Conflict, Database
from openagc.store.group_commit import GroupCommit, Refused
from openagc.store.write_tail import Tail
from tests.support import Backend, scratch_database

LOCKED = sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
ROWS = sa.table("gc", sa.column("n", sa.Integer))


@pytest.fixture
def url(backend: Backend, tmp_path) -> Any:
    with scratch_database(backend, "group_commit", tmp_path) as found:
        yield found


class Harness:
    """A database with table `gc`, its COMMITs and answers in the order they happened, and a lane held at will."""

    def __init__(self, url: str, *, lanes: int = 1, most: int = 16) -> None:
        self.db = Database(url)
        self.commits = GroupCommit(self.db, lanes=lanes, most=most)
        self.order: list[str] = []
        self.runs: list[int] = []  # every run of a body, by its number
        sa.event.listen(self.db.engine.sync_engine, "commit", lambda _conn: self.order.append("COMMIT"))

    async def setup(self) -> None:
        async with self.db.begin() as conn:
            await conn.execute(sa.text("CREATE TABLE gc (n INTEGER)"))
            await conn.run_sync(schema.metadata.create_all, tables=[schema.openagc_commands])
        self.order.clear()

    def body(self, n: int, then: Callable[[], Any] | None = None, record: dict[str, Any] | None = None
             ) -> Callable[[Any, Tail], Awaitable[int]]:
        """Insert row n, then (optionally) `then()`, and hand `record` (a command record) to the tail; answer how
        many rows n this transaction sees (its own: 1)."""

        async def run(conn: Any, tail: Tail) -> int:
            self.runs.append(n)
            await conn.execute(sa.insert(ROWS).values(n=n))
            if record is not None:
                tail.add([], [record], [])
            if then is not None:
                outcome = then()
                if asyncio.iscoroutine(outcome):
                    await outcome
            return (await conn.execute(sa.select(sa.func.count()).select_from(ROWS).where(ROWS.c.n == n))).scalar()

        return run

    async def answer(self, n: int, body: Callable[[Any, Tail], Awaitable[int]]) -> Any:
        try:
            result: Any = await self.commits.run(body)
        except Exception as exc:  # noqa: BLE001  (the test looks at which error each caller got)
            result = exc
        self.order.append(f"answer {n}")
        return result

    async def rows(self) -> list[int]:
        async with self.db.connect() as conn:
            return sorted((await conn.execute(sa.select(ROWS.c.n))).scalars())

    async def records(self) -> list[str]:
        async with self.db.connect() as conn:
            C = schema.openagc_commands.c
            return list((await conn.execute(sa.select(C.value).order_by(C.command_id))).scalars())

    async def batch_behind_a_held_lane(self, bodies: dict[int, Callable[[Any, Tail], Awaitable[int]]]
                                       ) -> dict[int, Any]:
        """Body 0 holds the lane until `bodies` have all queued; they then run as the next batch."""
        release = asyncio.Event()
        first = asyncio.create_task(self.answer(0, self.body(0, release.wait)))
        while self.runs != [0]:
            await asyncio.sleep(0.001)
        tasks = {n: asyncio.create_task(self.answer(n, body)) for n, body in bodies.items()}
        await asyncio.sleep(0.01)  # every caller has queued
        release.set()
        answers = {0: await first} | {n: await t for n, t in tasks.items()}
        return answers


def run(url: str, test: Callable[[Harness], Awaitable[None]], **options: Any) -> None:
    async def go() -> None:
        harness = Harness(url, **options)
        try:
            await harness.setup()
            await test(harness)
        finally:
            await harness.db.dispose()

    asyncio.run(go())


def test_bodies_that_wait_together_share_one_commit_and_each_gets_its_own_answer_after_it(url):
    async def test(h: Harness) -> None:
        answers = await h.batch_behind_a_held_lane({n: h.body(n) for n in range(1, 6)})
        assert answers == {n: 1 for n in range(6)}  # each saw its own row, once
        assert h.order == ["COMMIT", "answer 0", "COMMIT", *(f"answer {n}" for n in range(1, 6))]
        assert await h.rows() == list(range(6))
        assert h.runs == list(range(6))

    run(url, test)


def test_a_body_that_raises_gets_its_error_alone_and_leaves_nothing(url):
    def boom() -> None:
        raise ValueError("a bug in body 2")

    async def test(h: Harness) -> None:
        answers = await h.batch_behind_a_held_lane({1: h.body(1), 2: h.body(2, boom), 3: h.body(3)})
        assert isinstance(answers[2], ValueError) and answers[1] == answers[3] == 1
        assert await h.rows() == [0, 1, 3]  # body 2's row went with the rolled-back batch
        assert h.runs == [0, 1, 2, 1, 3]  # the batch ran again without it
        assert h.order[-3:] == ["COMMIT", "answer 1", "answer 3"] and "answer 2" in h.order

    run(url, test)


def _record(value: str, user: str | None = "1000") -> dict[str, Any]:
    from datetime import datetime
    return record_row(user=user, command="external_pause", value=value, function="external_pause", source="api",
                      at=datetime(2026, 11, 29, 12, 0, 0))  # type: ignore[arg-type]


def test_the_bodies_tails_are_written_together_after_the_last_body(url):
    async def test(h: Harness) -> None:
        writes: list[str] = []
        sa.event.listen(h.db.engine.sync_engine, "before_cursor_execute",
                        lambda _c, _cur, sql, *_: writes.append(" ".join(sql.split()[:3])))
        answers = await h.batch_behind_a_held_lane({n: h.body(n, record=_record(f"P{n}")) for n in range(1, 4)})
        assert answers == {n: 1 for n in range(4)}
        assert await h.records() == ["P1", "P2", "P3"]
        assert writes.count("INSERT INTO openagc_commands") == 1  # body 0 wrote no record; 1-3 share one INSERT

    run(url, test)


def test_a_tail_that_fails_to_write_is_found_to_be_one_bodys_and_the_others_commit(url):
    async def test(h: Harness) -> None:
        answers = await h.batch_behind_a_held_lane({
            1: h.body(1, record=_record("P1")),
            2: h.body(2, record=_record("P2", user=None)),  # the column is NOT NULL: the shared INSERT fails
            3: h.body(3, record=_record("P3")),
        })
        assert isinstance(answers[2], sa.exc.DBAPIError) and answers[1] == answers[3] == 1
        assert h.runs == [0, 1, 2, 3, 1, 2, 1, 3]  # shared; each tail after its body (2's fails); without 2
        assert await h.rows() == [0, 1, 3] and await h.records() == ["P1", "P3"]

    run(url, test)


def test_a_refused_body_does_not_make_the_others_run_again(url):
    async def test(h: Harness) -> None:
        async def refused(conn: Any, tail: Tail) -> int:
            h.runs.append(2)
            raise Refused("refused before writing anything")

        answers = await h.batch_behind_a_held_lane({1: h.body(1), 2: refused, 3: h.body(3)})
        assert isinstance(answers[2], Refused) and answers[1] == answers[3] == 1
        assert h.runs == [0, 1, 2, 3]  # once each
        assert await h.rows() == [0, 1, 3]

    run(url, test)


def test_a_conflict_runs_the_whole_batch_again(url):
    failed = []

    def conflict_once() -> None:
        if not failed:
            failed.append(True)
            raise LOCKED

    async def test(h: Harness) -> None:
        answers = await h.batch_behind_a_held_lane({1: h.body(1), 2: h.body(2, conflict_once), 3: h.body(3)})
        assert answers == {0: 1, 1: 1, 2: 1, 3: 1}
        assert h.runs == [0, 1, 2, 1, 2, 3]
        assert await h.rows() == [0, 1, 2, 3]  # once each
        assert h.db.retries == 1

    run(url, test)


def test_past_the_attempts_every_body_of_the_batch_gets_the_conflict(url):
    def always() -> None:
        raise LOCKED

    async def test(h: Harness) -> None:
        h.db.retry_pause = 0.001
        answers = await h.batch_behind_a_held_lane({1: h.body(1), 2: h.body(2, always)})
        assert isinstance(answers[1], Conflict) and isinstance(answers[2], Conflict)
        assert await h.rows() == [0]

    run(url, test)


def test_a_caller_that_gave_up_before_its_batch_ran_is_not_run(url):
    async def test(h: Harness) -> None:
        release = asyncio.Event()
        first = asyncio.create_task(h.answer(0, h.body(0, release.wait)))
        while h.runs != [0]:
            await asyncio.sleep(0.001)
        gone = asyncio.create_task(h.commits.run(h.body(1)))
        kept = asyncio.create_task(h.answer(2, h.body(2)))
        await asyncio.sleep(0.01)
        gone.cancel()
        await asyncio.sleep(0)
        release.set()
        assert await first == 1 and await kept == 1
        assert h.runs == [0, 2] and await h.rows() == [0, 2]

    run(url, test)


def test_a_lane_that_emptied_the_queue_is_replaced_for_the_next_caller(url):
    async def test(h: Harness) -> None:
        for n in range(3):  # one after another: each finds the lane closed and opens one
            assert await h.answer(n, h.body(n)) == 1
        assert h.order == ["COMMIT", "answer 0", "COMMIT", "answer 1", "COMMIT", "answer 2"]

    run(url, test)


def test_with_a_most_of_one_each_body_commits_alone(url):
    async def test(h: Harness) -> None:
        answers = await h.batch_behind_a_held_lane({n: h.body(n) for n in range(1, 4)})
        assert answers == {n: 1 for n in range(4)}
        assert h.order.count("COMMIT") == 4

    run(url, test, most=1)


def test_batches_take_at_most_most_bodies(url):
    async def test(h: Harness) -> None:
        answers = await h.batch_behind_a_held_lane({n: h.body(n) for n in range(1, 8)})
        assert answers == {n: 1 for n in range(8)}
        commits = [i for i, step in enumerate(h.order) if step == "COMMIT"]
        assert len(commits) == 1 + 3  # body 0, then 7 queued in batches of 3, 3 and 1
        assert await h.rows() == list(range(8))

    run(url, test, most=3)
