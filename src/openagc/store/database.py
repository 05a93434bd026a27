"""Database URLs and the async engine the service runs on (SQLite or MariaDB, one code path)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine


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


def _sqlite_setup(engine: sa.Engine) -> None:
    """WAL, a busy timeout, and BEGIN IMMEDIATE so concurrent writers queue instead of deadlocking."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # noqa: ANN001
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sync_engine(url: str, **kwargs) -> sa.Engine:
    u = sync_url(url)
    if u.get_backend_name() == "sqlite":
        if u.database:
            Path(u.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(u, connect_args={"timeout": 30}, **kwargs)
        _sqlite_setup(engine)
        return engine
    return sa.create_engine(u, pool_pre_ping=True, pool_recycle=3600, **kwargs)


class Database:
    """The async engine plus the one way to open a transaction."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        u = async_url(url)
        self.sqlite = u.get_backend_name() == "sqlite"
        self._write_lock: asyncio.Lock | None = asyncio.Lock() if self.sqlite else None
        if self.sqlite:
            if u.database:
                Path(u.database).parent.mkdir(parents=True, exist_ok=True)
            self.engine: AsyncEngine = create_async_engine(u, connect_args={"timeout": 30})
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
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.begin() as conn:
            yield conn

    @asynccontextmanager
    async def connect(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that need no transaction of their own."""
        async with self.engine.connect() as conn:
            yield conn

    async def dispose(self) -> None:
        await self.engine.dispose()
