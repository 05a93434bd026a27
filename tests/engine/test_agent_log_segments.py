"""A pause or wait segment of `vicidial_agent_log` closed by one statement (`logs.val_ready`, `logs.val_close_wait`):
the database computes what reading the row and computing in Python gave (`logs._sec`), edges included. On SQLite and
MariaDB (which evaluates a SET list left to right, each assignment seeing the ones before it).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from openagc.engine import logs
from openagc.store import schema
from openagc.store.database import Database
from tests.support import Backend, scratch_database

NOW = datetime(2027, 1, 15, 8, 0, 0, tzinfo=UTC)
E = int(NOW.timestamp())
VAL = schema.vicidial_agent_log.c


@pytest.fixture
def url(backend: Backend, tmp_path) -> Any:
    with scratch_database(backend, "segments", tmp_path) as found:
        yield found


def _expected(row: dict[str, Any], epoch_column: str, sec_column: str) -> int:
    """What the engine wrote when it read the row first."""
    return logs._sec(E - (row[epoch_column] or E) + (row[sec_column] or 0))


CASES = {  # the segment's start and its seconds so far
    "three seconds": (E - 3, 0),
    "adds to what it had": (E - 7, 5),
    "a clock that stepped back": (E + 10, 4),
    "longer than a smallint": (E - 100_000, 0),
    "no start recorded": (0, 6),
    "a null start": (None, None),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("segment", ["pause", "wait"])
def test_a_segment_closes_as_reading_the_row_first_closed_it(url, case, segment):
    start, seconds = CASES[case]
    closing, other = (logs.val_ready, "wait") if segment == "pause" else (logs.val_close_wait, "pause")
    row = {f"{segment}_epoch": start, f"{segment}_sec": seconds, f"{other}_epoch": E - 50, f"{other}_sec": 9}
    given = {column: value for column, value in row.items() if value is not None}  # else the column's default

    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        db = Database(url)
        try:
            async with db.begin() as conn:
                await conn.run_sync(schema.metadata.create_all, tables=[schema.vicidial_agent_log])
                open_id = (await conn.execute(sa.insert(schema.vicidial_agent_log).values(
                    user="1000", server_ip="10.10.10.15", event_time=NOW.replace(tzinfo=None), **given))
                ).inserted_primary_key[0]
                dispo_id = (await conn.execute(sa.insert(schema.vicidial_agent_log).values(
                    user="1000", server_ip="10.10.10.15", event_time=NOW.replace(tzinfo=None), dispo_epoch=E - 1,
                    **given))).inserted_primary_key[0]
            async with db.begin() as conn:
                for agent_log_id in (open_id, dispo_id):
                    await closing(conn, logs.Moment(NOW), agent_log_id)
            async with db.connect() as conn:
                read = [dict((await conn.execute(sa.select(schema.vicidial_agent_log).where(
                    VAL.agent_log_id == i))).one()._mapping) for i in (open_id, dispo_id)]
            return read[0], read[1]
        finally:
            await db.dispose()

    closed, after_dispo = asyncio.run(run())
    assert closed[f"{segment}_sec"] == _expected(row, f"{segment}_epoch", f"{segment}_sec")
    assert closed["wait_epoch"] == E  # the wait segment (re)starts now
    assert (closed[f"{other}_sec"], closed[f"{other}_epoch"]) == (9, E - 50 if other == "pause" else E)
    # after a dispo the row is left as it was
    assert (after_dispo[f"{segment}_sec"], after_dispo["wait_epoch"]) == (
        row[f"{segment}_sec"] if row[f"{segment}_sec"] is not None else 0,
        row["wait_epoch"])
