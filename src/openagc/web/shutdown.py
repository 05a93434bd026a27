"""The server is shutting down: long-lived responses (event streams) end themselves instead of holding it up.

uvicorn's graceful shutdown stops accepting connections, asks each open one to finish (`shutdown()`), waits until
they are all closed, and only then runs the lifespan's shutdown. A stream that never ends would keep it waiting,
so the service's HTTP protocol (`server.Protocol`) calls `begin` from `shutdown()`, and streams wait on `closing`
beside their data: they say goodbye, end their response, and the client reconnects (to another process, or to
this one once it is back) from its last event id.
"""

from __future__ import annotations

import asyncio
import weakref

_EVENTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Event] = weakref.WeakKeyDictionary()


def closing() -> asyncio.Event:
    """The event set when the server on the running loop begins to shut down."""
    loop = asyncio.get_running_loop()
    event = _EVENTS.get(loop)
    if event is None:
        event = _EVENTS[loop] = asyncio.Event()
    return event


def begin(loop: asyncio.AbstractEventLoop) -> None:
    """The server on `loop` is shutting down (called from the loop's thread)."""
    event = _EVENTS.get(loop)
    if event is None:
        event = _EVENTS[loop] = asyncio.Event()
    event.set()
