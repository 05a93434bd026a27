"""The durable event log (`store/event_log.py`) on both databases: ids in commit order, no gaps, filters, pruning."""

from __future__ import annotations

import asyncio
import random

import pytest
import sqlalchemy as sa

from openagc.store import event_log
from openagc.store.database import Database
from openagc.store.event_log import EventFilter, NewEvent

# Event times near the tests' frozen clock (2026-01-15 10:30 UTC): the server the suite runs prunes events older than
# `event_retention_hours` by that clock once a minute, and would take older ones away in the middle of a test.
T0 = 1_768_473_000_000


def _run(backend, body):
    async def go():
        db = Database(backend.url)
        try:
            return await body(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_appended_events_read_back_in_order_with_their_fields(backend, db):
    async def body(database: Database):
        async with database.begin() as conn:
            ids = await event_log.append(conn, [
                NewEvent("agent.state", "1000", "TESTCAMP", "AGENTS", {"status": "READY"}),
                NewEvent("call.answered", "1001", "TESTCAMP", "ADMIN", {"lead_id": 7}),
            ], now_ms=T0 + 123)
        async with database.connect() as conn:
            return ids, await event_log.read_after(conn, 0), await event_log.last_id(conn)

    ids, events, last = _run(backend, body)
    assert ids == [1, 2] and last == 2
    assert [e.public() for e in events] == [
        {"id": 1, "type": "agent.state", "time": "2026-01-15T10:30:00.123+00:00", "agent": "1000",
         "campaign": "TESTCAMP", "user_group": "AGENTS", "data": {"status": "READY"}},
        {"id": 2, "type": "call.answered", "time": "2026-01-15T10:30:00.123+00:00", "agent": "1001",
         "campaign": "TESTCAMP", "user_group": "ADMIN", "data": {"lead_id": 7}},
    ]


@pytest.mark.parametrize("count", [1, 3, 8, 9, 20])
def test_a_batch_of_any_size_is_appended_whole_and_in_order(backend, db, count):
    batch = [NewEvent("agent.state", f"u{n}", "TESTCAMP", "AGENTS", {"n": n}) for n in range(count)]

    async def body(database: Database):
        async with database.begin() as conn:
            first = await event_log.append(conn, batch[:1], now_ms=T0)
            ids = await event_log.append(conn, batch, now_ms=T0 + 1)
        async with database.connect() as conn:
            return first, ids, await event_log.read_after(conn, first[-1])

    first, ids, events = _run(backend, body)
    assert ids == list(range(first[-1] + 1, first[-1] + 1 + count))
    assert [(e.id, e.user, e.data, e.created_ms) for e in events] == [
        (i, f"u{n}", {"n": n}, T0 + 1) for n, i in enumerate(ids)]


def test_a_rolled_back_writer_gives_its_ids_back(backend, db):
    async def body(database: Database):
        with pytest.raises(RuntimeError):
            async with database.begin() as conn:
                await event_log.append(conn, [NewEvent("agent.state", "1000")], now_ms=T0 + 1)
                raise RuntimeError("the change failed")
        async with database.begin() as conn:
            ids = await event_log.append(conn, [NewEvent("agent.state", "1001")], now_ms=T0 + 2)
        async with database.connect() as conn:
            return ids, [e.user for e in await event_log.read_after(conn, 0)]

    assert _run(backend, body) == ([1], ["1001"])


def test_filters_select_by_kind_agent_campaign_and_group(backend, db):
    async def body(database: Database):
        async with database.begin() as conn:
            await event_log.append(conn, [
                NewEvent("agent.state", "1000", "TESTCAMP", "AGENTS"),
                NewEvent("call.ended", "1000", "TESTCAMP", "AGENTS"),
                NewEvent("agent.state", "1001", "OTHER", "ADMIN"),
            ], now_ms=T0 + 5)
        async with database.connect() as conn:
            read = event_log.read_after
            return (
                [e.id for e in await read(conn, 0, where=EventFilter(kinds=frozenset({"agent.state"})))],
                [e.id for e in await read(conn, 0, where=EventFilter(campaigns=frozenset({"TESTCAMP"})))],
                [e.id for e in await read(conn, 0, where=EventFilter(user_groups=frozenset({"ADMIN"})))],
                [e.id for e in await read(conn, 1, where=EventFilter(users=frozenset({"1000"})))],
                [e.id for e in await read(conn, 0, where=EventFilter(users=frozenset()))],
            )

    assert _run(backend, body) == ([1, 3], [1, 2], [3], [2], [])


def test_pruning_bounds_retention_and_tells_a_late_reader_it_lost_events(backend, db):
    async def body(database: Database):
        for at in (T0 + 1_000, T0 + 2_000, T0 + 3_000):
            async with database.begin() as conn:
                await event_log.append(conn, [NewEvent("agent.state", "1000")], now_ms=at)
        async with database.begin() as conn:
            gone = await event_log.prune(conn, older_than_ms=T0 + 2_500)
        async with database.connect() as conn:
            return gone, await event_log.oldest_id(conn), await event_log.last_id(conn)

    gone, oldest, newest = _run(backend, body)
    assert (gone, oldest, newest) == (2, 3, 3)
    assert event_log.resumable(2, oldest, newest) is True  # it saw 1 and 2: nothing it needs is gone
    assert event_log.resumable(1, oldest, newest) is False  # event 2 was pruned before it read it
    assert event_log.resumable(3, None, 3) is True
    assert event_log.resumable(2, None, 3) is False


def test_a_reader_never_skips_an_event_while_writers_commit_out_of_order(backend, db):
    """Writers hold their transaction open for random times after appending; a reader polling `id > last` all
    along must still see every id exactly once, in order (ids become visible in the order they were given)."""
    writers, per_writer = 8, 6

    async def body(database: Database):
        seen: list[int] = []
        done = asyncio.Event()

        async def writer(n: int) -> None:
            rnd = random.Random(n)
            for i in range(per_writer):
                async def once(conn, i=i):
                    await event_log.append(conn, [NewEvent("agent.state", f"u{n}", data={"i": i})], now_ms=T0 + i)
                    await asyncio.sleep(rnd.uniform(0, 0.03))  # still inside the transaction
                await database.transaction(once)

        async def reader() -> None:
            while True:
                finished = done.is_set()
                async with database.connect() as conn:
                    seen.extend(e.id for e in await event_log.read_after(conn, seen[-1] if seen else 0))
                if finished:
                    return
                await asyncio.sleep(0.002)

        reading = asyncio.create_task(reader())
        await asyncio.gather(*(writer(n) for n in range(writers)))
        done.set()
        await reading
        return seen

    seen = _run(backend, body)
    assert seen == list(range(1, writers * per_writer + 1))


def test_the_sequence_row_answers_its_bump_with_the_new_value(backend, db):
    """The bump hands back the row's new value itself (RETURNING on SQLite, `last_insert_id(expr)` on MariaDB):
    the row, locked until the commit, is held for one statement less than a bump and a read."""
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement.lower())

    async def body(database: Database):
        async with database.begin() as conn:  # the first append makes the sequence row
            await event_log.append(conn, [NewEvent("agent.state", "1000")], now_ms=T0)
        sa.event.listen(database.engine.sync_engine, "before_cursor_execute", note)
        async with database.begin() as conn:
            ids = await event_log.append(conn, [NewEvent("agent.state", "1000"), NewEvent("agent.state", "1001")],
                                         now_ms=T0 + 1)
            more = await event_log.append(conn, [NewEvent("agent.state", "1002")], now_ms=T0 + 2)
        sa.event.remove(database.engine.sync_engine, "before_cursor_execute", note)
        async with database.connect() as conn:
            return ids, more, await event_log.last_id(conn)

    ids, more, last = _run(backend, body)
    assert (ids, more, last) == ([2, 3], [4], 4)
    assert [s.split()[0] for s in seen if "openagc_event_sequence" in s] == ["update", "update"]
