"""A drop-in on upstream's own tables, which upstream creates as MyISAM: tables that cannot roll back.

`Database.read_table_engines` finds them; where `vicidial_live_agents` is one, its row lock no longer keeps two
requests' commands of one agent apart until their commit, and the tails lock the queued records they supersede
before inserting new ones (`store.write_tail`). Without that lock two batches can leave two queued records of one
agent's column, or deadlock; with it, each supersedes what the other wrote.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
import sqlalchemy as sa

from openagc.config import Settings
from openagc.service import create_app
from openagc.services import Services
from openagc.store import command_records, schema
from openagc.store.database import Database, sync_url
from openagc.store.write_tail import Tail, locks_queued
from tests.support import Backend, scratch_database, wait_for_lock_waits

CMD = schema.openagc_commands.c
PAUSE = "external_pause"
AT = datetime(2026, 11, 30, 4, 0, 0)


@pytest.fixture
def url(backend: Backend, tmp_path):
    with scratch_database(backend, "non_transactional", tmp_path) as found:
        yield found


def _sync(url: str) -> sa.Engine:
    return sa.create_engine(sync_url(url))


def _create(url: str, *, myisam: tuple[str, ...] = ()) -> None:
    """openagc's schema, with the tables `myisam` names converted as upstream creates them."""
    engine = _sync(url)
    try:
        with engine.begin() as conn:
            schema.metadata.create_all(conn)
            for table in myisam:
                conn.exec_driver_sql(f"ALTER TABLE {table} ENGINE=MyISAM")
    finally:
        engine.dispose()


def test_the_tables_that_cannot_roll_back_are_found(url, backend: Backend):
    _create(url, myisam=("vicidial_live_agents",) if backend.kind == "mariadb" else ())

    async def go() -> frozenset[str]:
        db = Database(url)
        try:
            return await db.read_table_engines()
        finally:
            await db.dispose()

    found = asyncio.run(go())
    if backend.kind == "sqlite":
        assert found == frozenset()
    else:
        assert "vicidial_live_agents" in found and "openagc_commands" not in found
    assert locks_queued(found) == (backend.kind == "mariadb")
    assert not locks_queued({"vicidial_api_log", "vicidial_api_urls"})  # only the agent's row serializes commands


def test_the_server_learns_them_at_its_start(url, backend: Backend):
    if backend.kind != "mariadb":
        pytest.skip("SQLite has no table engines")
    _create(url, myisam=("vicidial_live_agents",))
    services = Services(settings=Settings(database=url, engine=False), db=Database(url))
    app = create_app(services.settings, services)

    async def start_and_stop() -> tuple[frozenset[str], bool]:
        async with app.router.lifespan_context(app):  # what the ASGI server runs before the first request
            return services.db.non_transactional, services.commits._tail().lock_first

    found, lock_first = asyncio.run(start_and_stop())
    assert "vicidial_live_agents" in found and lock_first


@pytest.mark.parametrize("lock_first", [False, True], ids=["without the lock", "with the lock"])
def test_two_batches_writing_one_agents_column_supersede_each_other_only_with_the_lock(url, backend: Backend,
                                                                                      lock_first: bool):
    """Batch B writes pauses of agents 1000 and 1001, batch A one of 1001; each agent has an older queued pause.
    Held back by the test's locks on the older records, B inserts its records and waits for 1000's; A inserts its
    own and waits for 1001's. Freed one after the other, A supersedes 1001's older record but passes over B's new
    one, not committed yet; B then finds A's too new to supersede. Two queued records of one agent's column stay:
    the one the column no longer holds is never carried out nor superseded. (Other interleavings deadlock
    instead: `side_by_side.py`'s `crm_mix` on upstream's tables met 25 deadlocks in 10 s.) With the lock neither
    inserts before holding the older records, in the index's order: A waits for B, or B for A, to commit."""
    if backend.kind != "mariadb":
        pytest.skip("row locks: SQLite has one writer at a time")
    _create(url, myisam=("vicidial_live_agents",))
    sync = _sync(url)
    with sync.begin() as conn:
        old = {user: command_records.record_row(user=user, command=PAUSE, value=f"OLD {user}", function=PAUSE,
                                                source="api", at=AT) for user in ("1000", "1001")}
        for row in old.values():
            conn.execute(sa.insert(schema.openagc_commands).values(**row))
        ids = dict(conn.execute(sa.select(CMD.user, CMD.command_id)).all())

    async def flush(db: Database, users: tuple[str, ...]) -> list[int]:
        got: list[int] = []
        tail = Tail(lock_first=lock_first)
        tail.add([], [command_records.record_row(user=u, command=PAUSE, value=f"NEW {u}", function=PAUSE,
                                                 source="api", at=AT) for u in users], got)
        async with db.begin() as conn:
            await tail.flush(conn)
        return got

    def hold(user: str) -> sa.Connection:
        conn = sync.connect()
        conn.begin()
        conn.execute(sa.select(CMD.command_id).where(CMD.command_id == ids[user]).with_for_update())
        return conn

    async def go() -> tuple[list[int] | BaseException, list[int] | BaseException]:
        db = Database(url)
        try:
            with sync.connect() as admin:
                admin.exec_driver_sql("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                held_1000, held_1001 = hold("1000"), hold("1001")
                b = asyncio.create_task(flush(db, ("1000", "1001")))
                await asyncio.to_thread(wait_for_lock_waits, admin, 1)
                a = asyncio.create_task(flush(db, ("1001",)))
                await asyncio.to_thread(wait_for_lock_waits, admin, 2)
                held_1001.rollback()
                held_1001.close()
                await asyncio.sleep(0.3)
                held_1000.rollback()
                held_1000.close()
                done = await asyncio.gather(a, b, return_exceptions=True)
                return done[0], done[1]
        finally:
            await db.dispose()

    a, b = asyncio.run(go())
    with sync.connect() as conn:
        rows = {r.command_id: r for r in conn.execute(sa.select(schema.openagc_commands))}
    sync.dispose()
    assert [r for r in (a, b) if isinstance(r, BaseException)] == []
    state = {i: (rows[i].state, rows[i].ended_by) for i in rows}
    [a_new], [b_1000, b_1001] = a, b
    if not lock_first:
        assert b_1000 < b_1001 < a_new  # B inserted first, then A
        assert state == {
            ids["1000"]: ("superseded", f"command {b_1000}"),
            ids["1001"]: ("superseded", f"command {a_new}"),
            b_1000: ("queued", ""),
            b_1001: ("queued", ""),  # never superseded: A passed it over, uncommitted
            a_new: ("queued", ""),
        }
        return
    assert a_new < b_1000 < b_1001  # A inserted first: B waited for it to commit
    assert state == {
        ids["1000"]: ("superseded", f"command {b_1000}"),
        ids["1001"]: ("superseded", f"command {a_new}"),
        a_new: ("superseded", f"command {b_1001}"),
        b_1000: ("queued", ""),
        b_1001: ("queued", ""),
    }
