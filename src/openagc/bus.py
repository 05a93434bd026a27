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
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
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
    """Forwards `topics` between this process's bus and every other process on the same Redis channel."""

    CHANNEL = "openagc:bus"

    def __init__(self, bus: Bus, url: str, topics: Iterable[str] = (AGENT_COMMAND,)) -> None:
        self.bus = bus
        self.url = url
        self.topics = frozenset(topics)
        self.origin = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._tasks: list[asyncio.Task] = []
        self._remove_forwarder: Callable[[], None] | None = None

    async def start(self) -> None:
        from redis import asyncio as redis

        self._redis = redis.from_url(self.url)
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self.CHANNEL)
        self._remove_forwarder = self.bus.add_forwarder(self._forward)
        self._tasks = [asyncio.create_task(self._send()), asyncio.create_task(self._receive())]

    def _forward(self, topic: str, message: Any) -> None:
        if topic in self.topics:
            self._outbox.put_nowait(json.dumps({"origin": self.origin, "topic": topic, "message": message}))

    async def _send(self) -> None:
        while True:
            payload = await self._outbox.get()
            try:
                await self._redis.publish(self.CHANNEL, payload)
            except Exception:  # a lost wake-up only delays the command until the next sweep
                log.warning("could not forward a notification through Redis", exc_info=True)

    async def _receive(self) -> None:
        async for item in self._pubsub.listen():
            try:
                note = json.loads(item["data"])
            except (TypeError, ValueError):
                continue
            if note.get("origin") != self.origin and note.get("topic") in self.topics:
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
            await self._redis.aclose()
