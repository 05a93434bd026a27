"""`store.executor`: hot statements straight on the driver read and write what SQLAlchemy's own execution does, in
the caller's transaction, with SQLAlchemy's errors (both databases)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from openagc.credentials import SELECT_USER
from openagc.store import command_records, executor
from openagc.store.database import Database, retryable
from openagc.store.schema import openagc_commands, vicidial_users

CMD = openagc_commands.c
AT = datetime(2026, 1, 15, 10, 30, 0)


def _run(url: str, body) -> Any:  # noqa: ANN001
    async def go() -> Any:
        database = Database(url)
        try:
            return await body(database)
        finally:
            await database.dispose()

    return asyncio.run(go())


def test_a_row_reads_as_through_sqlalchemy(backend, db):
    db.update("vicidial_users", {"user": "6666"}, last_login_date=AT, failed_login_count=3)

    async def body(database: Database) -> tuple[Any, ...]:
        async with database.begin() as conn:
            raw = await executor.fetch_one(conn, SELECT_USER, {"user": "6666"})
            through = (await conn.execute(SELECT_USER, {"user": "6666"})).mappings().first()
            missing = await executor.fetch_one(conn, SELECT_USER, {"user": "nobody"})
        return raw, dict(through), missing

    raw, through, missing = _run(backend.url, body)
    assert raw == through
    assert raw["last_login_date"] == AT and raw["failed_login_count"] == 3  # typed values, not text
    assert missing is None


def test_every_row_reads_as_through_sqlalchemy(backend, db):
    db.update("vicidial_users", {"user": "6666"}, last_login_date=AT)
    users = sa.select(vicidial_users).where(vicidial_users.c.user_level >= sa.bindparam("level")).order_by(
        vicidial_users.c.user)

    async def body(database: Database) -> tuple[Any, ...]:
        async with database.begin() as conn:
            raw = await executor.fetch_all(conn, users, {"level": 1})
            through = (await conn.execute(users, {"level": 1})).mappings().all()
            none = await executor.fetch_all(conn, users, {"level": 99})
        return raw, [dict(r) for r in through], none

    raw, through, none = _run(backend.url, body)
    assert len(raw) > 1 and raw == through
    assert [r["last_login_date"] for r in raw if r["user"] == "6666"] == [AT]
    assert none == []


def test_writes_join_the_callers_transaction(backend, db):
    async def body(database: Database) -> tuple[Any, ...]:
        async with database.begin() as conn:
            first = await command_records.open_record(conn, user="1000", command="external_pause", value="PAUSE!1",
                                                      function="external_pause", source="api", at=AT)
            second = await command_records.open_record(conn, user="1000", command="external_pause",
                                                       value="RESUME!2", function="external_pause", source="api",
                                                       at=AT)
        with pytest.raises(RuntimeError):
            async with database.begin() as conn:
                await executor.execute(conn, command_records.INSERT_RECORD, dict(
                    user="1000", command="external_status", value="A", function="x", source="api", created=AT,
                    created_ms=1, state="queued", reason=""))
                raise RuntimeError("the caller fails after the write")
        async with database.begin() as conn:
            untouched = await executor.execute(conn, command_records.SUPERSEDE, dict(
                s_user="nobody", s_command="external_pause", s_id=10**9, s_ended=AT, s_ms=0, s_by="x"))
        return first, second, untouched

    first, second, untouched = _run(backend.url, body)
    assert second > first > 0
    rows = {r["command_id"]: r for r in db.rows("openagc_commands")}
    assert set(rows) == {first, second}  # the rolled-back insert left nothing
    assert rows[first]["state"] == "superseded" and rows[first]["ended_by"] == f"command {second}"
    assert rows[second]["state"] == "queued" and rows[second]["value"] == "RESUME!2"
    assert rows[second]["created"] == AT
    assert untouched.rowcount == 0 and untouched.lastrowid is None


def test_a_driver_error_is_sqlalchemys(backend, db):
    async def body(database: Database) -> BaseException:
        async with database.begin() as conn:
            try:
                await executor.execute(conn, sa.insert(vicidial_users), {"user": "6666", "user_id": 1, "pass": "x"})
            except sa.exc.DBAPIError as exc:
                return exc
        raise AssertionError("a duplicate key went through")

    exc = _run(backend.url, body)
    assert isinstance(exc, sa.exc.IntegrityError) and exc.orig is not None
    assert not retryable(exc)


def test_a_read_on_a_plain_connection_opens_a_transaction_its_close_ends(backend, db):
    async def body(database: Database) -> bool:
        async with database.connect() as conn:
            await executor.fetch_one(conn, SELECT_USER, {"user": "6666"})
            return conn.in_transaction()

    assert _run(backend.url, body) is True


def test_expanding_parameters_are_refused(backend, db):
    async def body(database: Database) -> None:
        async with database.begin() as conn:
            await executor.fetch_one(conn, sa.select(CMD.command_id).where(CMD.command_id.in_([1, 2])))

    with pytest.raises(ValueError, match="expanding"):
        _run(backend.url, body)
