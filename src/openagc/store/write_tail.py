"""The rows api.php writes last in its transaction, gathered over many requests: one statement per table.

Every api.php answer ends with the same writes: a `vicidial_api_log` row for each printed line, the
`vicidial_api_urls` row of each, a queued `openagc_commands` record for each command written (carrying the id of
the request's last log row), and the record's supersession of older queued commands of its agent and column.
Written request by request that is four statements or more. A `Tail` collects them for every request of one
transaction (a group commit's batch) and writes them just before the commit, whatever the number of requests:

* one insert of the log rows, returning their ids;
* one insert of their URL rows;
* one insert of the records, returning their ids (the answers' `command_id`s);
* one update superseding what the new records supersede, each older command naming the record that superseded
  it, exactly as the records written one after another would.

Where `vicidial_live_agents` cannot roll back (a drop-in on upstream's MyISAM tables, `locks_queued`), its row lock
no longer keeps two requests' commands of one agent and one column apart until their commit. One request's
supersession could then pass over the other's new record, not committed yet, and leave two queued records of the
column; or each could lock what the other's waits for, and deadlock. Such a tail first locks the queued records of
its agents' columns (`command_records.lock_queued`), in the index's order, before it inserts any (one more
statement): whoever comes second waits for the first to commit.

The engine's transitions, committed together the same way, hand it their integrators' events instead
(`add_events`): they are appended last of all, one bump of the event log's sequence row and one insert for the
whole batch, so that row is locked for the flush's end and the commit only (`store.event_log`).

The ids come back through `Insert.returning` (MariaDB 10.5+, SQLite 3.35+) and are matched to the rows in
ascending order, which is the order of insertion whatever InnoDB's auto-increment lock mode (Galera's interleaved
mode included). A database that cannot return them gets the rows one by one. Nothing is read between the collection and
the flush: no request of api.php reads these tables in its transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store import event_log, executor
from openagc.store.command_records import QUEUED, SUPERSEDED, lock_queued, supersede_params
from openagc.store.schema import openagc_commands, vicidial_api_log, vicidial_api_urls, vicidial_live_agents

CMD = openagc_commands.c
ROWS_PER_STATEMENT = 32  # bounds the statements compiled (one per table and row count up to this)

Row = dict[str, Any]


def locks_queued(non_transactional: Collection[str]) -> bool:
    """Whether tails must lock the queued records their new ones supersede before inserting them (the module's
    docstring): when `vicidial_live_agents` is among the database's tables that cannot roll back."""
    return vicidial_live_agents.name in non_transactional


class Tail:
    """The closing rows of the requests of one transaction, written together by `flush`."""

    def __init__(self, *, lock_first: bool = False) -> None:
        self.lock_first = lock_first  # lock the queued records to supersede before inserting (`locks_queued`)
        self._empty()

    def _empty(self) -> None:
        self._logs: list[Row] = []
        self._urls: list[Row] = []  # the log rows' twins, `api_id` filled in by the flush
        self._records: list[Row] = []  # queued records, `api_log_id` filled in by the flush
        self._linked: list[int | None] = []  # each record's log row (an index into _logs), if any
        self._ids_into: list[list[int]] = []  # where each record's id goes (its request's `commands`)
        self._events: list[tuple[event_log.NewEvent, int]] = []  # with each one's time (ms since the epoch)
        self._event_ids_into: list[list[int]] = []  # where each event's id goes (its transition's)

    def __bool__(self) -> bool:
        return bool(self._logs or self._records or self._events)

    def add(self, logs: Sequence[tuple[Row, Row]], records: Sequence[Row], ids_into: list[int]) -> None:
        """One request's rows: its log rows with their URL rows, and its queued records, linked to its last log
        row. The records' ids are appended to `ids_into` at the flush, in order."""
        for log, url in logs:
            self._logs.append(log)
            self._urls.append(url)
        last = len(self._logs) - 1 if logs else None
        for record in records:
            if record["state"] != QUEUED:
                raise ValueError("a tail holds queued records only")
            self._records.append(record)
            self._linked.append(last)
            self._ids_into.append(ids_into)

    def add_events(self, events: Sequence[event_log.NewEvent], now_ms: int, ids_into: list[int]) -> None:
        """One transition's integrators' events, appended at `now_ms`; their ids are appended to `ids_into` at the
        flush, in order."""
        for event in events:
            self._events.append((event, now_ms))
            self._event_ids_into.append(ids_into)

    async def flush(self, conn: AsyncConnection) -> None:
        """Write every row gathered, in the caller's transaction (then the tail is empty); the events last."""
        log_ids = await _insert(conn, vicidial_api_log, self._logs, "api_id")
        for url, api_id in zip(self._urls, log_ids, strict=True):
            url["api_id"] = api_id
        await _insert(conn, vicidial_api_urls, self._urls, None)
        for record, linked in zip(self._records, self._linked, strict=True):
            record["api_log_id"] = None if linked is None else log_ids[linked]
        if self.lock_first and self._records:
            await lock_queued(conn, {(r["user"], r["command"]) for r in self._records})
        command_ids = await _insert(conn, openagc_commands, self._records, "command_id")
        for ids_into, command_id in zip(self._ids_into, command_ids, strict=True):
            ids_into.append(command_id)
        await _supersede(conn, self._records, command_ids)
        event_ids = await event_log.append_timed(conn, self._events)  # last: the sequence row stays locked
        for ids_into, event_id in zip(self._event_ids_into, event_ids, strict=True):
            ids_into.append(event_id)
        self._empty()


def _chunks(rows: Sequence[Row]) -> list[Sequence[Row]]:
    return [rows[i:i + ROWS_PER_STATEMENT] for i in range(0, len(rows), ROWS_PER_STATEMENT)]


@cache
def _single_insert(table: sa.Table) -> sa.Insert:
    """One row of `table` (built once: the executor compiles each statement object once)."""
    return sa.insert(table)


@cache
def _insert_statement(table: sa.Table, columns: tuple[str, ...], count: int, returning: str | None) -> sa.Insert:
    """An insert of `count` rows of `columns` (parameters `<column>_<k>`), returning the id column if asked."""
    statement = sa.insert(table).values([
        {name: sa.bindparam(f"{name}_{k}", type_=table.c[name].type) for name in columns} for k in range(count)
    ])
    return statement.returning(table.c[returning]) if returning else statement


async def _insert(conn: AsyncConnection, table: sa.Table, rows: Sequence[Row], returning: str | None) -> list[int]:
    """Insert `rows` (all with the same keys); the new ids in the rows' order when `returning` names the id."""
    if not rows:
        return []
    dialect = conn.sync_connection.dialect if conn.sync_connection is not None else None
    if dialect is None or not dialect.insert_returning:
        single = _single_insert(table)
        return [int((await executor.execute(conn, single, row)).lastrowid or 0) for row in rows]
    columns = tuple(rows[0])
    ids: list[int] = []
    for chunk in _chunks(rows):
        params = {f"{name}_{k}": row[name] for k, row in enumerate(chunk) for name in columns}
        statement = _insert_statement(table, columns, len(chunk), returning)
        if returning is None:
            await executor.execute(conn, statement, params)
        else:  # one id per row; ascending ids are the rows' order of insertion
            found = sorted(int(r[returning]) for r in await executor.fetch_all(conn, statement, params))
            if len(found) != len(chunk):
                raise RuntimeError(f"{table.name}: {len(chunk)} rows inserted, {len(found)} ids returned")
            ids.extend(found)
    return ids


@cache
def _supersede_statement(count: int) -> sa.Update:
    """The supersession of `count` new records at once: an older queued command of a record's agent and column
    is ended by the first new record after it (the `case` takes the records in order of their ids)."""
    matches = [sa.and_(CMD.user == sa.bindparam(f"s_user_{k}"), CMD.command == sa.bindparam(f"s_command_{k}"),
                       CMD.command_id < sa.bindparam(f"s_id_{k}")) for k in range(count)]

    def each(name: str, column: sa.Column[Any]) -> sa.Case[Any]:
        return sa.case(*[(match, sa.bindparam(f"{name}_{k}", type_=column.type)) for k, match in enumerate(matches)])

    return (sa.update(openagc_commands).where(CMD.state == QUEUED, sa.or_(*matches))
            .values(state=SUPERSEDED, ended=each("s_ended", CMD.ended), ended_ms=each("s_ms", CMD.ended_ms),
                    ended_by=each("s_by", CMD.ended_by)))


async def _supersede(conn: AsyncConnection, records: Sequence[Mapping[str, Any]], ids: Sequence[int]) -> None:
    params = [supersede_params(r["user"], r["command"], command_id, r["created"], r["created_ms"])
              for r, command_id in zip(records, ids, strict=True)]
    for start in range(0, len(params), ROWS_PER_STATEMENT):
        chunk = params[start:start + ROWS_PER_STATEMENT]
        await executor.execute(conn, _supersede_statement(len(chunk)),
                               {f"{name}_{k}": value for k, p in enumerate(chunk) for name, value in p.items()})
