"""Webhook test support: a real HTTP receiver that records what it gets and answers as told, dispatchers running in
threads of their own (as processes would, each with its own database connections and bus), and event writers."""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import hmac
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from openagc.bus import Bus
from openagc.integrations.webhooks import store
from openagc.integrations.webhooks.dispatch import WAKE_TOPIC, Dispatcher, Policy
from openagc.store import event_log
from openagc.store.database import Database
from openagc.store.event_log import EVENTS_TOPIC, NewEvent
from tests.support import run_on_loop

T = TypeVar("T")
SECRET = "whsec_" + base64.b64encode(b"openagc webhook test key 32 byte").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"someone else's key, also 32 byte").decode()
# Fast enough for tests: retries after 10 to 50 ms, a look at the table every 50 ms; a timeout no answer of the
# receiver comes near on a loaded machine (the tests of timeouts set their own).
FAST = Policy(timeout=5.0, backoff_min=0.01, backoff_max=0.05, max_failures=20, concurrency=8, poll=0.05)
HANG, DROP = "hang", "drop"  # receiver behaviours: never answer (the sender times out) / close without an answer


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, as docs/webhooks.md shows it."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    fresh = abs(time.time() - int(headers["webhook-timestamp"])) < 300
    return fresh and any(hmac.compare_digest(expected, s) for s in headers["webhook-signature"].split())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Received:
    """One request the receiver got, and how it answered (None: it did not)."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int | None

    @property
    def id(self) -> int:
        return int(self.headers["webhook-id"])


class Receiver:
    """An HTTP server in a thread: records every POST; answers with the next planned behaviour, else `default`
    (a status code, `HANG` or `DROP`). With `hold()`, each request waits until `let_one_go()` (concurrency)."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Received] = []
        self.plan: collections.deque[Any] = collections.deque()
        self.default: Any = 200
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self.in_flight = 0  # requests arrived and not yet let through (see `hold`)
        self.most_in_flight = 0
        self.passed = 0
        self._gate: threading.Semaphore | None = None
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver._serve(self, body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def hold(self) -> None:
        self._gate = threading.Semaphore(0)

    def let_one_go(self) -> None:
        assert self._gate is not None
        self._gate.release()

    def _serve(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        with self.lock:
            behaviour = self.plan.popleft() if self.plan else self.default
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        if self._gate is not None:
            self._gate.acquire(timeout=20)
        answered = behaviour if isinstance(behaviour, int) else None
        with self.lock:  # before any answer: the sender cannot have sent its next request yet
            self.in_flight -= 1
            self.passed += 1
            self.requests.append(Received(handler.path, {k.lower(): v for k, v in handler.headers.items()}, body,
                                          answered))
        if behaviour == HANG:
            self.closing.wait(20)
        if answered is None:
            handler.close_connection = True
            return
        handler.send_response(answered)
        handler.send_header("content-length", "0")
        handler.end_headers()

    def got(self, path: str | None = None) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if path is None or r.path == path]

    def delivered_ids(self, path: str | None = None) -> list[int]:
        """The event ids answered with a 2xx, in the order they came."""
        return [r.id for r in self.got(path) if r.answered is not None and 200 <= r.answered < 300]

    def close(self) -> None:
        self.closing.set()
        if self._gate is not None:
            for _ in range(50):
                self._gate.release()
        self.server.shutdown()
        self.server.server_close()


class Loop:
    """An event loop in a thread of its own with a `Database` on it (a process of its own, for the database)."""

    def __init__(self, url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.db: Database = self.run(self._database(url))

    @staticmethod
    async def _database(url: str) -> Database:
        return Database(url)

    def run(self, coro: Awaitable[T], timeout: float = 60) -> T:
        return run_on_loop(self.loop, coro, timeout)

    def close(self) -> None:
        self.run(self.db.dispose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class DispatcherThread(Loop):
    """A `Dispatcher` with its own bus and database connections, in a thread: one server process's dispatcher."""

    def __init__(self, url: str, policy: Policy = FAST, name: str | None = None) -> None:
        super().__init__(url)
        self.bus = Bus()
        self.dispatcher = Dispatcher(self.db, self.bus, policy, name=name)
        self.stopped = False
        self.run(self.dispatcher.start())

    @property
    def name(self) -> str:
        return self.dispatcher.name

    def wake(self) -> None:
        """What a writer in this process publishes after its commit."""
        self.bus.publish(EVENTS_TOPIC, None)

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            try:
                self.run(self.dispatcher.stop())
            finally:
                self.close()


class Centre(Loop):
    """Writes as the engine does: events appended in a transaction, then `EVENTS_TOPIC` published to `wakes`."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.wakes: list[Callable[[], None]] = []

    def append(self, *events: NewEvent) -> list[int]:
        async def body() -> list[int]:
            async with self.db.begin() as conn:
                return await event_log.append(conn, list(events), now_ms=int(time.time() * 1000))

        ids = self.run(body())
        for wake in self.wakes:
            wake()
        return ids

    def subscribe(self, url: str, owner: str = "6666", secret: str = SECRET, **filters: Any) -> int:
        new = store.new_subscription(owner, {"url": url, "secret": secret, **filters})

        async def body() -> int:
            async with self.db.begin() as conn:
                return (await store.create(conn, new, int(time.time() * 1000))).id

        return self.run(body())

    def enable(self, webhook_id: int, *buses: Bus) -> None:
        async def body() -> None:
            async with self.db.begin() as conn:
                await store.enable(conn, webhook_id)

        self.run(body())
        for bus in buses:
            bus.publish(WAKE_TOPIC, webhook_id)


def state(event: str = "agent.state", user: str = "1000", campaign: str = "TESTCAMP", group: str = "AGENTS",
          **data: Any) -> NewEvent:
    return NewEvent(event, user, campaign, group, data)
