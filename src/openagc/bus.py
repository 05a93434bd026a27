"""Notifications between the API, the engine and the console.

A notification carries no data that is not already committed to the database: it only says "look
at agent X now". Losing one delays a command until the engine's next sweep; it never loses it.

Within one process the `Bus` calls listeners directly. When several processes share a database (an API
process and an engine process, or several of each), `RedisBridge` forwards chosen topics through Redis
pub/sub, so a command written by one process wakes the engine in another at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

Listener = Callable[[str, Any], None]
log = logging.getLogger(__name__)

# Topic on which the API announces "agent {user} has a new command" (message: the user name).
AGENT_COMMAND = "agent.command"


class Bus:
    """In-process publish/subscribe on string topics; listeners must not block."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)
        self._forwarders: list[Listener] = []

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        self._listeners[topic].append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners[topic]:
                self._listeners[topic].remove(listener)

        return unsubscribe

    def listened(self, *topics: str) -> bool:
        """Whether a listener in this process follows any of `topics` (forwarders not counted)."""
        return any(self._listeners.get(topic) for topic in topics)

    def publish(self, topic: str, message: Any = None) -> None:
        """Deliver to this process's listeners, and to other processes when a bridge is attached."""
        self.deliver(topic, message)
        for forward in list(self._forwarders):
            forward(topic, message)

    def deliver(self, topic: str, message: Any = None) -> None:
        """Deliver to this process's listeners only (what a bridge does with a message from elsewhere)."""
        for listener in list(self._listeners.get(topic, ())):
            listener(topic, message)

    def add_forwarder(self, forward: Listener) -> Callable[[], None]:
        self._forwarders.append(forward)
        return lambda: self._forwarders.remove(forward) if forward in self._forwarders else None

    def queue(self, topic: str) -> tuple[asyncio.Queue, Callable[[], None]]:
        """A queue fed with every message on `topic` (for async consumers such as event streams)."""
        q: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def put(_topic: str, message: Any) -> None:
            loop.call_soon_threadsafe(q.put_nowait, message)

        return q, self.subscribe(topic, put)


class RedisBridge:
    """Forwards `topics` between this process's bus and every other process on the same Redis channel.

    The bridge heals by itself. The subscription runs on a connection of its own, without redis-py's silent
    command retries, so every loss is seen: the bridge turns `reconnecting`, logs it once, and resubscribes with
    redis-py's `Retry` (capped, jittered exponential back-off, forever); redis-py re-sends the subscription on
    reconnect. Publishing uses a second client whose commands redis-py retries on a fresh connection. Idle
    connections are checked by redis-py's health check (a PING every `health_check_interval` seconds) and TCP
    keep-alive. While the bridge is down, wake-ups from other processes are lost and the engine's sweep picks
    their commands up instead.
    """

    CHANNEL = "openagc:bus"
    SEND_AT_ONCE = 64  # messages in one pipeline at most
    OFF, CONNECTED, RECONNECTING = "off", "connected", "reconnecting"

    def __init__(
        self,
        bus: Bus,
        url: str,
        topics: Iterable[str] = (AGENT_COMMAND,),
        *,
        health_check_interval: float = 15.0,
        backoff_base: float = 0.025,
        backoff_cap: float = 2.0,
    ) -> None:
        self.bus = bus
        self.url = url
        self.topics = frozenset(topics)
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.subscriber_name = f"openagc-sub-{self.origin}"  # CLIENT LIST shows the bridge's connections by name
        self.publisher_name = f"openagc-pub-{self.origin}"
        self.health_check_interval = health_check_interval
        self.backoff = (backoff_base, backoff_cap)
        self.state = self.OFF
        self.since = time.time()
        self.reconnects = 0
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._remove_forwarder: Callable[[], None] | None = None
        self._publish_failing = False

    def health(self) -> dict[str, Any]:
        """`{"redis": "connected"|"reconnecting"|"off", "since": ISO time, "reconnects": n}`."""
        since = datetime.fromtimestamp(self.since, UTC).isoformat(timespec="milliseconds")
        return {"redis": self.state, "since": since, "reconnects": self.reconnects}

    def _set_state(self, state: str, error: BaseException | None = None) -> None:
        if state == self.state:
            return
        was, lasted = self.state, time.time() - self.since
        self.state, self.since = state, time.time()
        if state == self.RECONNECTING:
            log.warning("Redis bridge lost (%s); wake-ups between processes wait for the engine's sweep until it "
                        "is back", error.__class__.__name__ if error else "not connected")
        elif state == self.CONNECTED and was == self.RECONNECTING:
            self.reconnects += 1
            log.warning("Redis bridge back after %.1f s", lasted)

    async def start(self) -> None:
        """Connect and subscribe; when Redis is not reachable yet, keep trying in the background."""
        from redis import asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import EqualJitterBackoff, NoBackoff
        from redis.exceptions import ConnectionError, TimeoutError

        base, cap = self.backoff
        options: dict[str, Any] = {
            "socket_connect_timeout": 5,
            "socket_keepalive": True,
            "socket_keepalive_options": _keepalive_options(),
            "health_check_interval": self.health_check_interval,
        }
        self._redis = redis.from_url(
            self.url, client_name=self.publisher_name, retry=Retry(EqualJitterBackoff(cap, base), 3),
            retry_on_error=[ConnectionError, TimeoutError], **options)
        self._subscriber = redis.from_url(
            self.url, client_name=self.subscriber_name, retry=Retry(NoBackoff(), 0), **options)
        self._pubsub = self._subscriber.pubsub(ignore_subscribe_messages=True)
        self._resubscribe = Retry(EqualJitterBackoff(cap, base), -1, supported_errors=(ConnectionError, TimeoutError,
                                                                                          OSError))
        self._lost = (ConnectionError, TimeoutError, OSError)
        try:
            await self._pubsub.subscribe(self.CHANNEL)
            self._set_state(self.CONNECTED)
        except self._lost as exc:
            self._set_state(self.RECONNECTING, exc)
        self._remove_forwarder = self.bus.add_forwarder(self._forward)
        self._tasks = [asyncio.create_task(self._send()), asyncio.create_task(self._receive())]

    def _forward(self, topic: str, message: Any) -> None:
        if topic in self.topics:
            self._outbox.put_nowait(json.dumps({"origin": self.origin, "topic": topic, "message": message}))

    async def _send(self) -> None:
        """Publish the outbox in order: one message alone, or what queued while the last send was in flight in
        one pipeline (one round trip; a burst of wake-ups no longer waits one round trip a message)."""
        while True:
            payloads = [await self._outbox.get()]
            while len(payloads) < self.SEND_AT_ONCE and not self._outbox.empty():
                payloads.append(self._outbox.get_nowait())
            try:
                if len(payloads) == 1:
                    await self._redis.publish(self.CHANNEL, payloads[0])
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for payload in payloads:
                            pipe.publish(self.CHANNEL, payload)
                        await pipe.execute()
            except Exception as exc:  # a lost wake-up only delays the command until the next sweep
                if not self._publish_failing:
                    log.warning("could not forward notifications through Redis (%s)", exc.__class__.__name__)
                self._publish_failing = True
            else:
                if self._publish_failing:
                    log.warning("forwarding notifications through Redis again")
                self._publish_failing = False

    async def _subscribe(self) -> None:
        await self._pubsub.subscribe(self.CHANNEL)  # (re)connects; redis-py re-sends known subscriptions

    async def _failed(self, error: BaseException) -> None:
        self._set_state(self.RECONNECTING, error)
        if self._pubsub.connection is not None:
            await self._pubsub.connection.disconnect()

    async def _receive(self) -> None:
        while True:
            if self.state != self.CONNECTED:
                await self._resubscribe.call_with_retry(self._subscribe, self._failed)
                self._set_state(self.CONNECTED)
            try:
                while True:
                    item = await self._pubsub.get_message(timeout=self.health_check_interval)
                    if item is not None:
                        self._deliver(item)
            except self._lost as exc:
                await self._failed(exc)

    def _deliver(self, item: dict[str, Any]) -> None:
        try:
            note = json.loads(item["data"])
        except (TypeError, ValueError, KeyError):
            return
        if isinstance(note, dict) and note.get("origin") != self.origin and note.get("topic") in self.topics:
            self.bus.deliver(note["topic"], note.get("message"))

    async def stop(self) -> None:
        if self._remove_forwarder:
            self._remove_forwarder()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        for client in (getattr(self, "_subscriber", None), getattr(self, "_redis", None)):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.aclose()
        self.state, self.since = self.OFF, time.time()


def _keepalive_options() -> dict[int, int]:
    """TCP keep-alive that notices a silently dead peer within about 25 s (where the platform allows it)."""
    wanted = {"TCP_KEEPIDLE": 10, "TCP_KEEPINTVL": 5, "TCP_KEEPCNT": 3}
    return {getattr(socket, name): value for name, value in wanted.items() if hasattr(socket, name)}
