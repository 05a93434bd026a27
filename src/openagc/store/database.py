"""Database URLs and the async engine the service runs on (SQLite or MariaDB, one code path)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

T = TypeVar("T")
log = logging.getLogger(__name__)

# MariaDB/MySQL errors after which the server has rolled the transaction (or its statement) back and the same
# work may simply run again: deadlock, lock wait timeout, and "record has changed since last read" (MariaDB's
# snapshot isolation, a serialization failure).
RETRYABLE_MYSQL = {1213: "deadlock", 1205: "lock wait timeout", 1020: "serialization failure"}
SQLITE_BUSY, SQLITE_LOCKED = 5, 6


class Conflict(Exception):
    """A transaction kept meeting retryable conflicts until its attempts ran out (the API answers 503)."""


def retryable(exc: BaseException) -> bool:
    """True for a conflict that rolled the work back and that a re-run of the whole transaction may pass.

    MariaDB deadlock (1213), lock wait timeout (1205), serialization failure (1020, SQLSTATE 40001); SQLite
    busy or locked ("database is locked"). A lost connection is never retried: a COMMIT may have landed.
    """
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return False
    orig = getattr(exc, "orig", None) or exc
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in RETRYABLE_MYSQL:
        return True
    if getattr(orig, "sqlstate", None) == "40001":
        return True
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF in (SQLITE_BUSY, SQLITE_LOCKED)
    text = str(orig).lower()
    return type(orig).__name__ == "OperationalError" and (
        "database is locked" in text or "database table is locked" in text
    )


def _normalise(url: str) -> sa.URL:
    """A bare path means an SQLite file; `mysql://` and `mariadb://` mean MariaDB."""
    if "://" not in url:
        return sa.URL.create("sqlite", database=str(Path(url)))
    return make_url(url)


def is_sqlite(url: str) -> bool:
    return _normalise(url).get_backend_name() == "sqlite"


def async_url(url: str) -> sa.URL:
    """The URL with an async driver: aiosqlite for SQLite, asyncmy for MariaDB/MySQL."""
    u = _normalise(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite+aiosqlite")
    return u.set(drivername="mysql+asyncmy")


def sync_url(url: str) -> sa.URL:
    """The URL with a sync driver (migrations, seeding, tests): sqlite3 or PyMySQL."""
    u = _normalise(url)
    if u.get_backend_name() == "sqlite":
        return u.set(drivername="sqlite")
    return u.set(drivername="mysql+pymysql")


SQLITE_BUSY_SECONDS = 30  # how long an SQLite connection waits for another's write lock (the driver's `timeout`)
READ_ONLY = "openagc_read_only"  # execution option of `Database.connect()`'s connections (SQLite: deferred BEGIN)


def _sqlite_setup(engine: sa.Engine) -> None:
    """WAL and immediate transactions so concurrent writers queue instead of deadlocking (the busy timeout is the
    driver's `timeout` parameter, `SQLITE_BUSY_SECONDS`).

    A connection marked `READ_ONLY` begins DEFERRED instead: in WAL mode its reads take no lock at all, so a
    read never waits for a writer, never makes one wait, and a reader that is slow to finish (or is cancelled
    while its connection is being closed) cannot hold the write lock.
    """

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            conn.exec_driver_sql("BEGIN")
        else:
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sync_engine(url: str, **kwargs) -> sa.Engine:
    u = sync_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database:
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(u, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **kwargs)
        _sqlite_setup(engine)
        return engine
    return sa.create_engine(u, pool_pre_ping=True, pool_recycle=3600, **kwargs)


# The tables of the connection's database whose engine cannot roll back (MariaDB's MyISAM, MEMORY …).
_TABLES = sa.table("tables", sa.column("table_name"), sa.column("table_schema"), sa.column("engine"),
                   schema="information_schema")
_ENGINES = sa.table("engines", sa.column("engine"), sa.column("transactions"), schema="information_schema")
NON_TRANSACTIONAL = (sa.select(_TABLES.c.table_name)
                     .join(_ENGINES, _ENGINES.c.engine == _TABLES.c.engine)
                     .where(_TABLES.c.table_schema == sa.func.database(), _ENGINES.c.transactions == "NO"))


class Database:
    """The async engine plus the one way to open a transaction."""

    # A transaction meeting a retryable conflict runs again, at most `attempts` times in all and never starting
    # later than `retry_budget` seconds after the first try (a lock wait timeout already waited its 50 s), after a
    # jittered pause of half to all of `retry_pause` × 2^(attempt−1) seconds.
    attempts = 5
    retry_pause = 0.01
    retry_budget = 10.0

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.retries = 0  # transactions run again after a conflict (for tests and health)
        self.non_transactional: frozenset[str] = frozenset()  # tables that cannot roll back (`read_table_engines`)
        u = async_url(url)
        self.sqlite = u.get_backend_name() == "sqlite"
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self.sqlite else None
        if self.sqlite:
            if u.database:
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(u, connect_args={"timeout": SQLITE_BUSY_SECONDS})
            _sqlite_setup(self.engine.sync_engine)
        else:
            # Every use opens a transaction (begin) that ends in COMMIT or ROLLBACK, or a plain connect()
            # whose close rolls back; the pool's own reset would be a second, useless round trip.
            self.engine = create_async_engine(
                u,
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_recycle=3600,
                pool_pre_ping=False,
                pool_reset_on_return=None,
                # Every command is a compare-and-set in one statement, so nothing needs REPEATABLE READ's
                # snapshot; READ COMMITTED also avoids its gap locks, which deadlocked concurrent logins.
                isolation_level="READ COMMITTED",
            )

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A transaction: committed when the block ends, rolled back if it raises.

        SQLite has one writer at a time; in-process writers queue on a lock (first come, first served)
        instead of polling the file lock with SQLite's busy handler, whose back-off sleeps made the tail
        latency of concurrent requests reach a second.
        """
        if self._write_lock is None:
            async with self._begin() as conn:
                yield conn
            return
        async with self._write_lock, self._begin() as conn:
            yield conn

    @asynccontextmanager
    async def _begin(self) -> AsyncIterator[AsyncConnection]:
        """`AsyncEngine.begin()` with one switch into SQLAlchemy's sync layer each way (check-out and BEGIN
        together, COMMIT or ROLLBACK and check-in together) instead of four: about 0.1 ms of CPU a transaction."""
        sync = await greenlet_spawn(_connect_and_begin, self.engine.sync_engine)
        try:
            yield AsyncConnection(self.engine, sync)
        except BaseException:
            await greenlet_spawn(_end, sync, False)
            raise
        await greenlet_spawn(_end, sync, True)

    async def transaction(self, body: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run `body` in one transaction (`begin`); on a retryable conflict roll back and run it all again.

        The whole body is the unit, so it must do nothing outside the transaction that a second run would repeat
        (switch operations and notifications belong after the commit, on what this returns). When the attempts or
        the time budget run out the last conflict is raised as `Conflict`; any other error is raised at once.
        """
        deadline = time.monotonic() + self.retry_budget
        for attempt in range(1, self.attempts + 1):
            try:
                async with self.begin() as conn:
                    return await body(conn)
            except Exception as exc:
                if not retryable(exc):
                    raise
                pause = random.uniform(0.5, 1.0) * self.retry_pause * 2 ** (attempt - 1)
                if attempt == self.attempts or time.monotonic() + pause > deadline:
                    log.warning("transaction gave up after %d conflicts (%s)", attempt, _reason(exc))
                    raise Conflict(f"database conflict persisted after {attempt} attempts") from exc
                self.retries += 1
                log.info("transaction conflict (%s), running it again", _reason(exc))
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that need no transaction of their own (never for writes: on SQLite it does not
        take the write lock, so a write through it could fail at once instead of queueing)."""
        async with self.engine.connect() as conn:
            if self.sqlite:
                await conn.execution_options(**{READ_ONLY: True})
            yield conn

    async def read_table_engines(self) -> frozenset[str]:
        """Which of the database's tables cannot roll back, kept in `non_transactional`: on MariaDB, those of an
        engine without transactions, such as the MyISAM in which upstream creates its own tables; none on SQLite.
        A transaction's writes to them stay when it rolls back."""
        if not self.sqlite:
            async with self.connect() as conn:
                self.non_transactional = frozenset((await conn.execute(NON_TRANSACTIONAL)).scalars())
        return self.non_transactional

    async def dispose(self) -> None:
        await self.engine.dispose()


def _connect_and_begin(engine: sa.Engine) -> sa.Connection:
    conn = engine.connect()
    try:
        conn.begin()
    except BaseException:
        conn.close()
        raise
    return conn


def _end(conn: sa.Connection, commit: bool) -> None:
    """COMMIT, or ROLLBACK (also after a COMMIT that failed), and give the connection back to the pool. A ROLLBACK
    that fails (the connection is gone) is not raised: the error that caused it is the one that matters."""
    try:
        if commit:
            try:
                conn.commit()
                return
            except BaseException:
                _roll_back(conn)
                raise
        _roll_back(conn)
    finally:
        conn.close()


def _roll_back(conn: sa.Connection) -> None:
    try:
        conn.rollback()
    except Exception:
        log.debug("rollback failed; the connection is discarded", exc_info=True)
        conn.invalidate()


def _reason(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int) and args[0] in RETRYABLE_MYSQL:
        return f"{args[0]} {RETRYABLE_MYSQL[args[0]]}"
    return str(orig)[:80]
