"""Test support: a real server on a real socket, over a real database (SQLite or MariaDB).

`Backend` owns one database and one live uvicorn server for the whole session; `reset()` empties
every table and loads the demo data again before each test.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import json
import os
import socket
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime
from typing import Any, TypeVar

import httpx
import sqlalchemy as sa
import uvicorn

from openagc.api.app import Services
from openagc.config import Settings
from openagc.server import server_config
from openagc.service import create_app
from openagc.services import API_BATCHES
from openagc.store import schema
from openagc.store.database import Database, make_sync_engine
from openagc.store.demo import seed_demo
from openagc.store.migrate import upgrade

#: The tests' MariaDB account (scripts/test-prereqs.sh creates it: databases named openagc_* only).
MARIADB_SERVER = os.environ.get(
    "OPENAGC_TEST_MARIADB", "mysql+pymysql://openagc_test:openagc_test@127.0.0.1:3306"
)
FROZEN_AT = datetime(2026, 1, 15, 10, 30, 0)


T = TypeVar("T")

#: SQLite transactions open in this process (the tests' and the servers'): id of the connection → what opened it.
#: A hang behind "database is locked" then names the holder (`what_the_loop_does`).
SQLITE_OPEN: dict[int, str] = {}


def _sqlite_began(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running loop in this thread: a synchronous connection of the tests
            task = None
        where = repr(task.get_coro()) if task is not None else "".join(traceback.format_stack(limit=8)[:-2])
        SQLITE_OPEN[id(conn)] = f"{threading.current_thread().name}, since {time.monotonic():.1f}: {where}"


def _sqlite_ended(conn: sa.Connection) -> None:
    SQLITE_OPEN.pop(id(conn), None)


sa.event.listen(sa.engine.Engine, "begin", _sqlite_began)
sa.event.listen(sa.engine.Engine, "commit", _sqlite_ended)
sa.event.listen(sa.engine.Engine, "rollback", _sqlite_ended)


def run_on_loop(loop: asyncio.AbstractEventLoop, coro: Awaitable[T], timeout: float) -> T:
    """Run a coroutine on an event loop running in another thread and return its result; on a timeout the error
    says what every other thread and every task of that loop were doing (a hang is then diagnosable from the log)."""
    future = asyncio.run_coroutine_threadsafe(coro, loop)  # type: ignore[arg-type]
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        raise TimeoutError(f"not done within {timeout} s\n{what_the_loop_does(loop)}") from None


def what_the_loop_does(loop: asyncio.AbstractEventLoop) -> str:
    """The stacks of the other threads and of the loop's tasks."""
    lines = []
    for thread in threading.enumerate():
        frame = sys._current_frames().get(thread.ident or 0)
        if frame is not None and thread is not threading.current_thread():
            lines.append(f"thread {thread.name}:\n" + "".join(traceback.format_stack(frame)[-8:]))
    tasks: concurrent.futures.Future[str] = concurrent.futures.Future()

    def collect() -> None:
        out = []
        for task in asyncio.all_tasks(loop):
            text = io.StringIO()
            task.print_stack(limit=8, file=text)
            out.append(text.getvalue())
        tasks.set_result("\n".join(out))

    loop.call_soon_threadsafe(collect)
    try:
        lines.append(tasks.result(2))
    except concurrent.futures.TimeoutError:
        lines.append("(the event loop did not run a callback within 2 s: it is blocked)")
    if SQLITE_OPEN:
        lines.append(f"SQLite transactions open now ({time.monotonic():.1f}):\n" + "\n".join(SQLITE_OPEN.values()))
    return "\n".join(lines)


class LiveServer:
    """uvicorn serving `app` in a background thread on an ephemeral port."""

    def __init__(self, app: Any, settings: Settings | None = None) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        # the service's own server configuration: its connection limits and request-head deadline
        self.server = uvicorn.Server(server_config(app, settings or Settings(), log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextlib.contextmanager
def scratch_database(backend: Backend, suffix: str, tmp_path: Any) -> Iterator[str]:
    """An empty database of `backend`'s kind for one test (an SQLite file in `tmp_path`, or MariaDB database
    `<session database>_<suffix>`, dropped afterwards); yields its URL."""
    if backend.kind == "sqlite":
        yield str(tmp_path / f"{suffix}.db")
        return
    admin = sa.create_engine(MARIADB_SERVER, isolation_level="AUTOCOMMIT")
    name = f"{backend.dbname}_{suffix}"
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        c.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
    try:
        yield f"{MARIADB_SERVER}/{name}".replace("mysql+pymysql", "mysql+asyncmy")
    finally:
        drop_database(admin, name)
        admin.dispose()


def drop_database(admin: sa.Engine, name: str) -> None:
    """DROP DATABASE that cannot hang: a connection left open in the database (a test's leak) would make MariaDB
    wait for its metadata lock for `lock_wait_timeout` (a year by default). Such connections are named and killed
    first (the test account may kill its own), and the drop waits 30 s at most."""
    with admin.connect() as c:
        c.exec_driver_sql("SET SESSION lock_wait_timeout = 30")
        left = c.exec_driver_sql(
            "SELECT ID, COMMAND, STATE, INFO FROM information_schema.PROCESSLIST"
            " WHERE DB = %s AND ID <> CONNECTION_ID()", (name,)).all()
        for row in left:
            if row.COMMAND != "Sleep":
                print(f"\nwarning: connection {row.ID} still busy in {name} at its drop ({row.STATE}: {row.INFO})")
            with contextlib.suppress(sa.exc.DBAPIError):
                c.exec_driver_sql(f"KILL {int(row.ID)}")
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")


class Backend:
    """A database of one kind, migrated, with a live server in front of it."""

    def __init__(self, kind: str, sqlite_path: str) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.url = sqlite_path
            self.admin = None
        else:
            self.dbname = f"openagc_test_{os.getpid()}"
            self.admin = sa.create_engine(MARIADB_SERVER, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as c:
                c.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.dbname}")
                c.exec_driver_sql(f"CREATE DATABASE {self.dbname} CHARACTER SET utf8mb4")
            self.url = f"{MARIADB_SERVER}/{self.dbname}".replace("mysql+pymysql", "mysql+asyncmy")
        self.sync = make_sync_engine(self.url)
        upgrade(self.sync.url.render_as_string(hide_password=False))
        self.servers: list[LiveServer] = []
        self.services = self.new_services(engine=False)
        self.server = self.start(self.services)
        self.client = httpx.Client(base_url=self.server.base_url, timeout=30)

    def new_services(self, *, engine: bool) -> Services:
        # No webhook dispatcher in the shared servers: the webhook tests run their own (tests/integrations/).
        settings = Settings(
            database=self.url, engine=engine, server_name="testserver", hostname="testhost", cache_seconds=0,
            webhooks=False,
        )
        services = Services(settings=settings, db=Database(self.url))
        services.clock.freeze(FROZEN_AT)
        return services

    def start(self, services: Services) -> LiveServer:
        server = LiveServer(create_app(services.settings, services), services.settings)
        self.servers.append(server)
        return server

    def reset(self) -> None:
        with self.sync.begin() as conn:
            if self.kind == "mariadb":
                conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
            for table in reversed(schema.metadata.sorted_tables):
                conn.execute(table.delete())
            seed_demo(conn)
        self.services.clear_caches()
        self.services.clock.freeze(FROZEN_AT)

    def close(self) -> None:
        self.client.close()
        for server in self.servers:
            server.stop()
        self.sync.dispose()
        if self.admin is not None:
            drop_database(self.admin, self.dbname)
            self.admin.dispose()


class Db:
    """Read and arrange rows directly (assertions look at the database, not at the answer alone)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @staticmethod
    def _table(name: str) -> sa.Table:
        return schema.metadata.tables[name]

    def rows(self, table: str, order_by: str | None = None, **where: Any) -> list[dict[str, Any]]:
        t = self._table(table)
        stmt = sa.select(t).where(*(t.c[k] == v for k, v in where.items()))
        if order_by:
            stmt = stmt.order_by(t.c[order_by])
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def row(self, table: str, **where: Any) -> dict[str, Any]:
        found = self.rows(table, **where)
        assert len(found) == 1, f"expected one {table} row for {where}, found {len(found)}"
        return found[0]

    def count(self, table: str, **where: Any) -> int:
        return len(self.rows(table, **where))

    def insert(self, table: str, **values: Any) -> int | None:
        with self.engine.begin() as conn:
            result = conn.execute(self._table(table).insert().values(**values))
            pk = result.inserted_primary_key
            return pk[0] if pk else None

    def update(self, table: str, where: dict[str, Any], **values: Any) -> int:
        t = self._table(table)
        with self.engine.begin() as conn:
            return conn.execute(t.update().where(*(t.c[k] == v for k, v in where.items())).values(**values)).rowcount

    def delete(self, table: str, **where: Any) -> int:
        t = self._table(table)
        with self.engine.begin() as conn:
            return conn.execute(t.delete().where(*(t.c[k] == v for k, v in where.items()))).rowcount

    def logs(self) -> list[dict[str, Any]]:
        """Every vicidial_api_log row, oldest first."""
        return self.rows("vicidial_api_log", order_by="api_id")

    def last_log(self) -> dict[str, Any]:
        logs = self.logs()
        assert logs, "no vicidial_api_log row was written"
        return logs[-1]


AUTH = {"source": "test", "user": "6666", "pass": "1234"}


class Api:
    """Calls `/agc/api.php` over HTTP, with the demo API user's credentials unless told otherwise."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, function: str | None = None, *, auth: bool = True, **params: Any) -> httpx.Response:
        query = (AUTH if auth else {}) | ({"function": function} if function else {}) | params
        return self.client.get("/agc/api.php", params={k: str(v) for k, v in query.items()})

    def __call__(self, function: str | None = None, **params: Any) -> str:
        """The response body of a GET with the demo credentials."""
        return self.get(function, **params).text

    def post(
        self, function: str | None = None, *, query: dict[str, Any] | None = None, **params: Any
    ) -> httpx.Response:
        form = AUTH | ({"function": function} if function else {}) | params
        return self.client.post("/agc/api.php", params=query or {}, data={k: str(v) for k, v in form.items()})


def live_agent_row(user: str = "1000", **overrides: Any) -> dict[str, Any]:
    """A `vicidial_live_agents` row as the engine's login writes it (API tests run with the engine off)."""
    row = {
        "user": user,
        "server_ip": "10.10.10.15",
        "conf_exten": "8600051",
        "extension": f"SIP/{user}",
        "status": "PAUSED",
        "lead_id": 0,
        "campaign_id": "TESTCAMP",
        "uniqueid": "",
        "callerid": "",
        "channel": "",
        "random_id": 12345678,
        "last_call_time": FROZEN_AT,
        "last_update_time": FROZEN_AT,
        "last_call_finish": FROZEN_AT,
        "closer_campaigns": "",
        "user_level": 1,
        "comments": "",
        "last_state_change": FROZEN_AT,
    }
    return row | overrides


# Shared by the API tests.
CLOSE = "\n<a href=\"javascript:window.opener='x';window.close();\">Close This Window</a>\n"
LOG_FIELDS = ("function", "agent_user", "value", "result", "result_reason", "data")


def log_of(row: dict[str, Any]) -> tuple:
    """(function, agent_user, value, result, result_reason, data) of one vicidial_api_log row."""
    return tuple(row[k] for k in LOG_FIELDS)


def last_log_of(db: Db) -> tuple:
    """`log_of` the newest vicidial_api_log row."""
    return log_of(db.last_log())


def restrict_api_user(db: Db, functions: str = " external_status ") -> None:
    """Limit the demo API user 6666 to `functions`."""
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=functions)


def wait_for(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition",
             step: Callable[[], None] | None = None) -> Any:
    """Poll `check` until it returns a truthy value (assertion and lookup errors count as "not yet").

    `step` runs between polls (the simulated switch lets virtual time pass there); without one this sleeps a
    little. Never an assertion by itself: it waits for a condition.
    """
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except (AssertionError, KeyError, IndexError) as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f": {last}" if last else ""))
        if step is None:
            time.sleep(0.02)
        else:
            step()


class Events:
    """An agent's `/agent/events` stream read in a thread (server-sent events, as JSON objects)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.items: list[dict[str, Any]] = []
        self._client = httpx.Client(base_url=base_url, timeout=None)
        self._socket: socket.socket | None = None
        self._thread = threading.Thread(target=self._run, args=(token,), daemon=True)
        self._thread.start()

    def _run(self, token: str) -> None:
        try:
            with self._client.stream("GET", "/agent/events", headers={"Authorization": f"Bearer {token}"}) as response:
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        try:
                            self.items.append(json.loads(line[5:].strip()))
                        except ValueError:
                            pass
        except (httpx.HTTPError, RuntimeError, OSError):  # closed under the reader
            pass

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in list(self.items) if e.get("event") == name]

    def close(self) -> None:
        """End the connection (a server shutting down would otherwise wait for it)."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()


@contextlib.contextmanager
def api_batch_statements(backend: Backend) -> Iterator[list[str]]:
    """The SQL of every statement api.php's group-commit batches send inside the block, in order (what the engine's
    transitions and the event log's watchers send meanwhile is left out)."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        task = asyncio.current_task()
        if task is not None and task.get_name() == API_BATCHES:
            seen.append(sql)

    engine = backend.services.db.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)


def wait_for_lock_waits(admin: sa.Connection, count: int = 1, statement: str = "", timeout: float = 10.0) -> None:
    """Until `count` transactions of `admin`'s database wait for a row lock (in a statement starting with
    `statement`, when given): a test's transactions, blocked by the locks it holds."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = admin.execute(sa.text(
            "SELECT COUNT(*) FROM information_schema.innodb_trx t"
            " JOIN information_schema.processlist p ON p.id = t.trx_mysql_thread_id"
            " WHERE t.trx_state = 'LOCK WAIT' AND p.db = DATABASE() AND t.trx_query LIKE :statement"
        ), {"statement": f"{statement}%"}).scalar()
        if waiting >= count:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{count} transactions never waited for a row lock in {statement or 'any statement'}")
        time.sleep(0.15)  # InnoDB refreshes innodb_trx only when it was not read for 0.1 s
