"""Notifications between the API, the engine and the console.

A notification carries no data that is not already committed to the database: it only says "look
at agent X now". Losing one delays a command until the engine's next sweep; it never loses it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

Listener = Callable[[str, Any], None]


class Bus:
    """In-process publish/subscribe on string topics; listeners must not block."""

    def __init__(self) -> None:
        self._listeners: dict[str, list[Listener]] = defaultdict(list)

    def subscribe(self, topic: str, listener: Listener) -> Callable[[], None]:
        self._listeners[topic].append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners[topic]:
                self._listeners[topic].remove(listener)

        return unsubscribe

    def publish(self, topic: str, message: Any = None) -> None:
        for listener in list(self._listeners.get(topic, ())):
            listener(topic, message)

    def queue(self, topic: str) -> tuple[asyncio.Queue, Callable[[], None]]:
        """A queue fed with every message on `topic` (for async consumers such as event streams)."""
        q: asyncio.Queue = asyncio.Queue()
        loop = asyncio.get_running_loop()

        def put(_topic: str, message: Any) -> None:
            loop.call_soon_threadsafe(q.put_nowait, message)

        return q, self.subscribe(topic, put)


# Topic on which the API announces "agent {user} has a new command" (message: the user name).
AGENT_COMMAND = "agent.command"
