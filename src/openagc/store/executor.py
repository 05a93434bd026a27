"""Hot statements straight on the driver connection of the caller's transaction (asyncmy or aiosqlite).

SQLAlchemy Core still builds every statement (module constants, bound parameters) and compiles it, once per
dialect and set of parameter names; executing sends that SQL and its positional parameters to the driver
connection under the caller's `AsyncConnection`, skipping SQLAlchemy's per-statement async adaptation (a greenlet
switch and the cursor wrapper) and its result machinery. Bind and result type processing are SQLAlchemy's own
(SQLite's DATETIME text <-> datetime ...), so rows read as through `conn.execute`. Errors are raised as SQLAlchemy's
`DBAPIError` classes with the driver's error in `.orig`, so `Database.transaction` retries conflicts as before; a
lost connection is invalidated; `before_cursor_execute` listeners still see each statement. Transactions stay the
caller's (`Database.begin` / `Database.transaction`).

Statements passed here must be built once (module level or a bounded cache): the compiled form is kept per
statement object. Expanding parameters (`IN` over a list) are not supported; use `conn.execute` for those.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import visitors
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import BindParameter

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class Done:
    """What a write did: rows matched (MariaDB counts matched rows, as SQLAlchemy's dialect asks it to) and the
    new row's id for an INSERT, or on MariaDB the value an UPDATE gave `last_insert_id(expr)` (None if it gave
    none)."""

    rowcount: int
    lastrowid: int | None


@dataclass(frozen=True)
class Compiled:
    """One statement compiled for one dialect and one set of parameter names."""

    sql: str
    names: tuple[str, ...]  # the parameters, in the order the SQL takes them
    binds: tuple[Processor, ...]
    fixed: Mapping[str, Any]  # values the statement itself carries (`col == "x"`), used unless given
    keys: tuple[str, ...]  # result columns
    results: tuple[Processor, ...]
    insert: bool

    def parameters(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        values = (params[n] if n in params else self.fixed[n] for n in self.names)
        return tuple(p(v) if p else v for v, p in zip(values, self.binds, strict=True))

    def row(self, values: Sequence[Any]) -> dict[str, Any]:
        return {k: p(v) if p else v for k, v, p in zip(self.keys, values, self.results, strict=True)}


_cache: dict[tuple[Any, ...], Compiled] = {}


def compiled(statement: sa.Executable, dialect: sa.Dialect, names: Sequence[str] = ()) -> Compiled:
    """`statement` compiled for `dialect` (cached). For INSERT/UPDATE, `names` are the parameters' names: as in
    SQLAlchemy's own execution, a name that is a column of the table becomes a value of the statement."""
    dml = isinstance(statement, UpdateBase)
    key = (statement, dialect.name, tuple(sorted(names)) if dml else ())
    found = _cache.get(key)
    if found is not None:
        return found
    # Literal-execute parameters (LIMIT 1) are rendered now: the statement is a constant, so are they.
    c = statement.compile(dialect=dialect, column_keys=list(key[2]) if dml else None,
                          compile_kwargs={"render_postcompile": True})
    if any(b.expanding for b in c.binds.values()):
        raise ValueError("the executor takes no expanding (IN list) parameters")
    order = tuple(c.positiontup or ())
    processors = c._bind_processors
    columns = c._result_columns
    found = Compiled(
        sql=c.string,
        names=order,
        binds=tuple(processors.get(n) for n in order),  # type: ignore[misc]
        fixed={n: b.effective_value for n, b in c.binds.items() if not b.required},
        keys=tuple(col[0] for col in columns),
        results=tuple(col[3]._cached_result_processor(dialect, None) for col in columns),
        insert=c.isinsert,
    )
    _cache[key] = found
    return found


#: What `_run` reads of a statement's result: nothing, its first row, or every row.
NOTHING, FIRST, EVERY = 0, 1, 2


def _rows(cursor: Any, fetch: int) -> Any:
    return cursor.fetchone() if fetch == FIRST else cursor.fetchall() if fetch == EVERY else None


def _sqlite_run(db: sqlite3.Connection, sql: str, params: tuple[Any, ...], fetch: int
                ) -> tuple[Any, int, int | None]:
    """In aiosqlite's thread: one statement, the rows asked for, rowcount and lastrowid, in one hop."""
    cursor = db.execute(sql, params)
    try:
        return _rows(cursor, fetch), cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


async def _run(conn: AsyncConnection, statement: sa.Executable, params: Mapping[str, Any], fetch: int
               ) -> tuple[Compiled, Any, Done]:
    sync = conn.sync_connection
    assert sync is not None, "the connection has not started"
    if not sync.in_transaction():  # as SQLAlchemy's autobegin: its close or commit then ends what we do here
        await conn.begin()
    dialect = sync.dialect
    c = compiled(statement, dialect, tuple(params))
    args = c.parameters(params)
    fairy = sync.connection
    driver = fairy.driver_connection
    try:
        if sync._has_events or sync.engine._has_events:  # listeners see the statement as SQLAlchemy would show it
            sync.dispatch.before_cursor_execute(sync, None, c.sql, args, None, False)
        if dialect.name == "sqlite":
            # aiosqlite runs each call on its connection's thread; one call does the statement and its reads.
            row, count, last = await driver._execute(_sqlite_run, driver._conn, c.sql, args, fetch)
        else:
            async with driver.cursor() as cursor:
                await cursor.execute(c.sql, args)
                row = (await cursor.fetchone() if fetch == FIRST else await cursor.fetchall() if fetch == EVERY
                       else None)
                count, last = cursor.rowcount, cursor.lastrowid
    except Exception as exc:
        dbapi = dialect.loaded_dbapi
        if not isinstance(exc, dbapi.Error):
            raise
        lost = dialect.is_disconnect(exc, fairy.dbapi_connection, None)
        if lost:
            await conn.invalidate(exc)
        raise sa.exc.DBAPIError.instance(c.sql, args, exc, dbapi.Error, connection_invalidated=lost,
                                         dialect=dialect) from exc
    return c, row, Done(count, last if c.insert or (last and dialect.name != "sqlite") else None)


async def fetch_one(conn: AsyncConnection, statement: sa.Executable, params: Mapping[str, Any] | None = None
                    ) -> dict[str, Any] | None:
    """The first row of a SELECT as {column key: value}, or None."""
    c, row, _ = await _run(conn, statement, params or {}, FIRST)
    return None if row is None else c.row(row)


async def fetch_all(conn: AsyncConnection, statement: sa.Executable, params: Mapping[str, Any] | None = None
                    ) -> list[dict[str, Any]]:
    """Every row of a SELECT as {column key: value} (for results of a bounded size: they are read at once)."""
    c, rows, _ = await _run(conn, statement, params or {}, EVERY)
    return [c.row(row) for row in rows]


async def execute(conn: AsyncConnection, statement: sa.Executable, params: Mapping[str, Any] | None = None) -> Done:
    """An INSERT, UPDATE or DELETE: rows matched and, for an INSERT, the new row's id (`Done`)."""
    _, _, done = await _run(conn, statement, params or {}, NOTHING)
    return done


MEMBER = "executor_member"  # the column that tells which copy of a statement a row of `fetch_first_each` is from


def _numbered(statement: sa.Select, i: int) -> sa.Select:
    """`statement` with each of its parameters renamed `{name}__{i}` (its carried values, LIMIT's, kept)."""
    def rename(element: Any) -> Any:
        if isinstance(element, BindParameter) and element.required:
            return sa.bindparam(f"{element.key}__{i}", type_=element.type, required=True)
        return None
    return visitors.replacement_traverse(statement, {}, rename)


@functools.cache
def first_of_each(statement: sa.Select, copies: int, dialect: str) -> sa.Executable:
    """One statement for `copies` executions of `statement` (a SELECT of at most one row): a UNION ALL of its
    copies, each with its parameters numbered and a `MEMBER` column. MariaDB takes each copy parenthesised with its
    LIMIT; SQLite, which refuses that, reads each from a subquery."""
    if dialect == "sqlite":
        parts = [sa.select(sa.literal(i).label(MEMBER), *_numbered(statement, i).subquery().c) for i in range(copies)]
    else:
        parts = [_numbered(statement, i).add_columns(sa.literal(i).label(MEMBER)) for i in range(copies)]
    return sa.union_all(*parts)


async def fetch_first_each(conn: AsyncConnection, statement: sa.Select, each: Sequence[Mapping[str, Any]]
                           ) -> list[dict[str, Any] | None]:
    """What `fetch_one(conn, statement, params)` gives for each of `each`, in one round trip (`first_of_each`)."""
    if len(each) == 1:
        return [await fetch_one(conn, statement, each[0])]
    sync = conn.sync_connection
    assert sync is not None, "the connection has not started"
    union = first_of_each(statement, len(each), sync.dialect.name)
    numbered = {f"{name}__{i}": value for i, params in enumerate(each) for name, value in params.items()}
    found: list[dict[str, Any] | None] = [None] * len(each)
    for row in await fetch_all(conn, union, numbered):
        member = int(row.pop(MEMBER))
        if found[member] is None:
            found[member] = row
    return found
