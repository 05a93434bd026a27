"""`Tail`: many requests' log rows and command records in one statement per table, with the rows, ids, links and
supersessions that writing them request by request gives.

Each test writes the same requests twice into freshly created tables (so auto-increment ids start alike): once one
by one as before (`write_log`, `open_record`), once through a `Tail`, and compares every row. On SQLite and MariaDB.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from openagc.api.audit import log_rows, write_log
from openagc.store import command_records, schema, write_tail
from openagc.store.database import Database
from openagc.store.write_tail import Tail
from tests.support import Backend, scratch_database

TABLES = [schema.vicidial_api_log, schema.vicidial_api_urls, schema.openagc_commands]
AT = datetime(2026, 11, 29, 12, 0, 0, 250_000)

Request = tuple[list[str], list[tuple[str, str, str]]]  # (log lines' values, records: user, command, value)


@pytest.fixture
def url(backend: Backend, tmp_path) -> Any:
    with scratch_database(backend, "write_tail", tmp_path) as found:
        yield found


def _log(value: str, n: int) -> dict[str, Any]:
    return dict(user="6666", agent_user="1000", function="external_pause", value=value, result="SUCCESS",
                reason="external_pause function set", source="test", data="", api_date=AT.replace(microsecond=0),
                run_time=0.001 * n, webserver=1, api_url=2, remote_ip="127.0.0.1", url=f"/agc/api.php?n={n}")


def _command(user: str, command: str, value: str, n: int) -> dict[str, Any]:
    return dict(user=user, command=command, value=value, function="external_pause", source="api",
                at=AT + timedelta(milliseconds=n))


async def _fresh(db: Database) -> None:
    async with db.begin() as conn:
        await conn.run_sync(schema.metadata.drop_all, tables=TABLES)
        await conn.run_sync(schema.metadata.create_all, tables=TABLES)
        # Already there: a queued command of 1000's pause column (superseded by the first new one) and an applied
        # one (left alone).
        for state in (command_records.QUEUED, command_records.APPLIED):
            await command_records.open_record(conn, user="1000", command="external_pause", value=f"OLD {state}",
                                              function="external_pause", source="api", at=AT - timedelta(hours=1),
                                              state=state, by="engine")


async def _one_by_one(db: Database, requests: list[Request]) -> list[list[int]]:
    ids: list[list[int]] = []
    async with db.begin() as conn:
        for n, (logs, records) in enumerate(requests):
            last = None
            for value in logs:
                last = await write_log(conn, **_log(value, n))
            ids.append([await command_records.open_record(conn, **_command(u, c, v, n), api_log_id=last)
                        for u, c, v in records])
    return ids


async def _tail(db: Database, requests: list[Request], statements: list[str], lock_first: bool
                ) -> list[list[int]]:
    ids: list[list[int]] = [[] for _ in requests]
    tail = Tail(lock_first=lock_first)
    for n, (logs, records) in enumerate(requests):
        tail.add([log_rows(**_log(value, n)) for value in logs], [command_records.record_row(**_command(u, c, v, n))
                                                          for u, c, v in records], ids[n])
    assert all(found == [] for found in ids)  # nothing before the flush
    async with db.begin() as conn:
        sa.event.listen(conn.sync_connection, "before_cursor_execute",
                        lambda _c, _cur, sql, *_: statements.append(" ".join(sql.split()[:3])))
        await tail.flush(conn)
    assert not tail
    return ids


async def _rows(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    async with db.connect() as conn:
        return {t.name: [tuple(r) for r in (await conn.execute(sa.select(t).order_by(*t.primary_key.columns)))]
                for t in TABLES}


def _compare(url: str, requests: list[Request], *, returning: bool = True, lock_first: bool = False) -> list[str]:
    """Both ways, the rows compared; the statements the tail ran."""
    statements: list[str] = []

    async def go() -> None:
        db = Database(url)
        try:
            await _fresh(db)
            expected_ids = await _one_by_one(db, requests)
            expected = await _rows(db)
            await _fresh(db)
            async with db.connect() as conn:  # the dialect, as the flush will find it
                conn.sync_connection.dialect.insert_returning = returning
            got_ids = await _tail(db, requests, statements, lock_first)
            assert got_ids == expected_ids
            assert await _rows(db) == expected
        finally:
            await db.dispose()

    asyncio.run(go())
    return statements


REQUESTS: list[Request] = [
    (["PAUSE"], [("1000", "external_pause", "PAUSE")]),  # supersedes the old queued pause
    (["a", "b"], []),  # two lines, no command
    ([], [("1000", "external_pause", "RESUME")]),  # no log row: its record links to none; supersedes PAUSE
    (["x"], [("1001", "external_pause", "PAUSE"), ("1001", "external_hangup", "1")]),  # two records, one link
    (["y"], [("1000", "external_hangup", "1")]),
]


def test_a_tail_writes_what_the_requests_one_by_one_would_in_four_statements(url):
    statements = _compare(url, REQUESTS)
    assert statements == ["INSERT INTO vicidial_api_log", "INSERT INTO vicidial_api_urls",
                          "INSERT INTO openagc_commands", "UPDATE openagc_commands SET"]


def test_a_tail_that_locks_the_queued_records_first_writes_the_same_rows(url):
    """Where `vicidial_live_agents` cannot roll back (tests/test_non_transactional.py): one statement more."""
    statements = _compare(url, REQUESTS, lock_first=True)
    assert statements == ["INSERT INTO vicidial_api_log", "INSERT INTO vicidial_api_urls",
                          "SELECT openagc_commands.command_id FROM", "INSERT INTO openagc_commands",
                          "UPDATE openagc_commands SET"]


def test_locks_past_one_statement_go_in_several(url):
    many = [([f"v{n}"], [(f"{1000 + n}", "external_pause", f"P{n}")])
            for n in range(command_records.LOCKS_PER_STATEMENT + 8)]
    statements = _compare(url, many, lock_first=True)
    assert statements.count("SELECT openagc_commands.command_id FROM") == 2


def test_rows_past_one_statement_go_in_several_and_supersede_across_them(url):
    many = [([f"v{n}"], [("1000", "external_pause", f"P{n}")]) for n in range(write_tail.ROWS_PER_STATEMENT + 8)]
    statements = _compare(url, many)
    assert len(statements) == 8  # two of each


def test_without_returning_the_rows_go_one_by_one_with_the_same_result(url):
    statements = _compare(url, REQUESTS, returning=False)
    assert statements.count("INSERT INTO vicidial_api_log") == 5  # one per log row


def test_an_empty_tail_writes_nothing(url):
    assert _compare(url, []) == []


def test_a_tail_holds_queued_records_only():
    ended = command_records.record_row(user="1000", command="external_pause", value="PAUSE", function="f",
                                       source="api", at=AT, state=command_records.APPLIED)
    with pytest.raises(ValueError):
        Tail().add([], [ended], [])
