"""GET /console/api/events: the console's Server-Sent Events stream.

It carries what `/agent/events` carries — every event the engine publishes for the agent (`agent.event`
on the bus) — plus a fresh `state` after every command wake-up (`agent.command`). The second source
matters for commands the engine *defers*: a pause, a logout or a disposition sent during a call is only
written into its column until the call ends, so the engine publishes nothing, yet the screen must show
"pause after this call" at once.

Every `state` event is read fresh from the database when it is sent (not taken from the event), and an
unchanged state is not sent twice. Reads in one stream are sequential, so the page can never be shown an
older state after a newer one, however the engine's events and the wake-ups interleave.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from openagc.bus import AGENT_COMMAND
from openagc.console.actions import REFUSALS, Refused, _agent
from openagc.engine.http import EVENTS
from openagc.engine.topics import agent_topic  # one agent's (user, event dict) after each committed transition
from openagc.openapi.describe import AGENT, CONSOLE, event_stream, operation, refusal
from openagc.web.streams import SlotStreamingResponse

if TYPE_CHECKING:
    from openagc.services import Services

KEEPALIVE_SECONDS = 15.0
_COMMAND = object()  # marker: a command for this agent was committed


def _sse(event: dict[str, Any]) -> str:
    return f"event: {event.get('event', 'message')}\ndata: {json.dumps(event, default=str)}\n\n"


@operation("GET", summary="The console's event stream (Server-Sent Events)", tags=[CONSOLE], security=AGENT,
           responses={200: event_stream("The session's events, and a fresh `state` after every command wake-up.",
                                        EVENTS),
                      401: REFUSALS[401], 429: refusal("Too many event streams open.")})
async def events(request: Request, services: Services) -> Response:
    try:
        agent = await _agent(request, services)
    except Refused as exc:
        return JSONResponse({"error": str(exc)}, status_code=exc.status)
    engine = services.extra.get("engine")
    if engine is None:
        return JSONResponse({"error": "the agent session engine is not running"}, status_code=503)
    user = agent.user
    release = services.streams.take(user)
    if release is None:
        return JSONResponse({"error": "too many event streams open"}, status_code=429)
    queue: asyncio.Queue[Any] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def on_event(_topic: str, message: Any) -> None:
        loop.call_soon_threadsafe(queue.put_nowait, message[1])

    def on_command(_topic: str, who: Any) -> None:
        if who == user:
            loop.call_soon_threadsafe(queue.put_nowait, _COMMAND)

    unsubscribe = [services.bus.subscribe(agent_topic(user), on_event),
                   services.bus.subscribe(AGENT_COMMAND, on_command)]

    async def stream() -> AsyncIterator[str]:
        last: str | None = None
        try:
            async def fresh_state() -> str | None:
                nonlocal last
                state = await engine.state(user)
                if state is None:
                    return None
                text = _sse({"event": "state", "state": state})
                if text == last:
                    return ""
                last = text
                return text

            first = await fresh_state()
            if first is None:
                yield _sse({"event": "logged_out"})
                return
            yield first
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
                    continue
                if item is _COMMAND or item.get("event") == "state":
                    while not queue.empty() and (queue._queue[0] is _COMMAND  # type: ignore[attr-defined]
                                                 or queue._queue[0].get("event") == "state"):  # type: ignore[attr-defined]
                        queue.get_nowait()  # several wake-ups in a row: one fresh read serves them all
                    text = await fresh_state()
                    if text is None:
                        yield _sse({"event": "logged_out"})
                        return
                    if text:
                        yield text
                    continue
                yield _sse(item)
                if item.get("event") == "logged_out":
                    return
        finally:
            for stop in unsubscribe:
                stop()

    return SlotStreamingResponse(stream(), release, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def stream_routes(services: Services) -> list[BaseRoute]:
    @functools.wraps(events)  # its documentation too
    async def endpoint(request: Request) -> Response:
        return await events(request, services)

    return [Route("/console/api/events", endpoint, methods=["GET"])]
