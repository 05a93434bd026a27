"""`GET /api/v1/events` (Server-Sent Events) and `/api/v1/events/ws` (WebSocket): the event log, live.

Both read the durable log (`store/event_log.py`), never memory: a stream starts after its resume point
(`Last-Event-ID`, else `?after=`, else the newest event: only what follows), sends every matching event after it in
id order, and sleeps until `EVENTS_TOPIC` wakes it (appended in this process, forwarded by the Redis bridge, or
seen by this process's poll of the log, `integrations/events.py`). A resume point older than what retention kept
gets a `reset` message first. Events are scoped to what the caller may see (its user group's campaigns and
viewable user groups) and filtered by `campaign`, `user_group`, `agent` and `type`. `docs/events.md` is the
reference.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from starlette.datastructures import QueryParams
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from openagc.integrations.agent_events import KINDS
from openagc.integrations.caller import Caller, Unauthorized, identify
from openagc.openapi.describe import (
    INTEGRATIONS,
    INTEGRATOR,
    answer,
    event_stream,
    header,
    operation,
    query,
    refusal,
)
from openagc.store import event_log
from openagc.store.event_log import Event, EventFilter
from openagc.store.schema import vicidial_users
from openagc.web import shutdown
from openagc.web.streams import SlotStreamingResponse

if TYPE_CHECKING:
    from openagc.services import Services

MIN_USER_LEVEL = 7  # as upstream's non_agent_api.php agent_status: user_level > 6 and view_reports
KEEPALIVE_SECONDS = 15.0
BATCH = 500
RETRY_MS = 2000  # how long an EventSource waits before it reconnects


class Refused(Exception):
    """A stream that cannot be opened: HTTP status and the reason in words."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Item:
    """What a stream sends: an event, a reset notice (events after `after` were pruned), or a keep-alive."""

    event: Event | None = None
    reset: dict[str, Any] | None = None


def _values(params: QueryParams, name: str) -> frozenset[str] | None:
    """A repeatable, comma-separated parameter (None when absent)."""
    raw = params.getlist(name)
    if not raw:
        return None
    return frozenset(v.strip() for text in raw for v in text.split(",") if v.strip())


def _scoped(asked: frozenset[str] | None, allowed: frozenset[str] | None, what: str) -> frozenset[str] | None:
    """What to ask the log for: the caller's request within its scope (asking for more is refused)."""
    if allowed is None:
        return asked
    if asked is None:
        return allowed
    outside = sorted(asked - allowed)
    if outside:
        raise Refused(403, f"{what} not in your scope: {', '.join(outside)}")
    return asked


def _resume_point(conn: HTTPConnection) -> int | None:
    raw = conn.headers.get("last-event-id") or conn.query_params.get("after")
    if raw is None or raw == "":
        return None
    if not raw.strip().isdigit():
        raise Refused(400, f"the resume point must be an event id (a whole number), not {raw!r}")
    return int(raw.strip())


async def open_stream(conn: HTTPConnection, services: Services) -> tuple[Caller, EventFilter, int]:
    """Authenticate, authorise, read the filters and the resume point (the newest id when none is given);
    `Unauthorized` or `Refused` when the stream is refused."""
    caller = await identify(conn, services)  # type: ignore[arg-type]  (an HTTPConnection: headers and client)
    U = vicidial_users.c
    async with services.db.connect() as db:
        row = (await db.execute(sa.select(U.user_level, U.view_reports).where(U.user == caller.user).limit(1))).first()
    if row is None or int(row.user_level or 0) < MIN_USER_LEVEL or (row.view_reports or "0") != "1":
        raise Refused(403, f"events need user level {MIN_USER_LEVEL} or more with view_reports")
    params = conn.query_params
    resume = _resume_point(conn)
    kinds = _values(params, "type")
    unknown = sorted(kinds - KINDS) if kinds else []
    if unknown:
        raise Refused(400, f"unknown event type {', '.join(unknown)} (known: {', '.join(sorted(KINDS))})")
    where = EventFilter(
        kinds=kinds,
        users=_values(params, "agent"),
        campaigns=_scoped(_values(params, "campaign"), caller.campaigns, "campaign"),
        user_groups=_scoped(_values(params, "user_group"), caller.viewable_groups, "user group"),
    )
    if resume is None:  # a new client: what follows this request (read before the answer starts)
        async with services.db.connect() as db:
            resume = await event_log.last_id(db)
    return caller, where, resume


async def follow(services: Services, where: EventFilter, after: int, wake: asyncio.Queue[Any],
                 closing: asyncio.Event) -> AsyncIterator[Item]:
    """Items for a stream until `closing` is set: the matching events after `after`, a reset notice first whenever
    some of the events it still had to send were pruned, and a keep-alive (an empty `Item`) after
    `KEEPALIVE_SECONDS` without a wake-up."""
    cursor = after
    while not closing.is_set():
        while not wake.empty():
            wake.get_nowait()  # the read below covers every wake-up queued so far
        async with services.db.connect() as conn:
            newest = await event_log.last_id(conn)
            oldest = await event_log.oldest_id(conn)
            raw = await event_log.read_after(conn, cursor, limit=BATCH, where=where)
        if not event_log.resumable(cursor, oldest, newest):
            resumed = newest if oldest is None else oldest - 1
            yield Item(reset={"after": cursor, "resumed_after": resumed, "oldest": oldest, "newest": newest})
            cursor = resumed
        batch = [e for e in raw if cursor < e.id <= newest]  # ids up to `newest` are all committed (the log's rule)
        for event in batch:
            yield Item(event=event)
        if len(raw) == BATCH:
            cursor = batch[-1].id if batch else cursor
            continue  # more to read at once
        cursor = max(cursor, newest)
        if not await _wait(wake, closing):
            yield Item()


async def _wait(wake: asyncio.Queue[Any], closing: asyncio.Event) -> bool:
    """Until a wake-up (True), the server's shutdown (True) or the keep-alive time (False)."""
    getting = asyncio.ensure_future(wake.get())
    stopping = asyncio.ensure_future(closing.wait())
    try:
        done, _ = await asyncio.wait({getting, stopping}, timeout=KEEPALIVE_SECONDS,
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (getting, stopping):
            task.cancel()
    return bool(done)


def _sse(item: Item) -> str:
    if item.event is not None:
        return f"id: {item.event.id}\nevent: {item.event.kind}\ndata: {json.dumps(item.event.public())}\n\n"
    if item.reset is not None:
        return f"id: {item.reset['resumed_after']}\nevent: reset\ndata: {json.dumps(item.reset)}\n\n"
    return ": keepalive\n\n"


# --- OpenAPI ------------------------------------------------------------------------------------------------------
STREAM_PARAMETERS = [
    header("Last-Event-ID", "Resume after this event id (an EventSource sends it when it reconnects)."),
    query("after", "Resume after this event id (when there is no `Last-Event-ID`); default: only what follows."),
    query("type", f"Event types, comma-separated or repeated: {', '.join(sorted(KINDS))}."),
    query("agent", "Agents' users, comma-separated or repeated."),
    query("campaign", "Campaign ids within the caller's scope, comma-separated or repeated."),
    query("user_group", "User groups within the caller's scope, comma-separated or repeated."),
]
STREAM_REFUSALS = {
    400: refusal("A resume point that is not an event id, or an unknown event type."),
    401: refusal("No or wrong credentials."),
    403: refusal("User level below 7 or no view_reports, a filter outside the caller's scope, or (WebSocket) a "
                 "foreign Origin."),
}


def _refusal(exc: Unauthorized | Refused) -> Response:
    if isinstance(exc, Unauthorized):
        return JSONResponse({"error": exc.detail}, status_code=401, headers=exc.headers)
    return JSONResponse({"error": exc.reason}, status_code=exc.status)


@operation("GET", summary="The event log, live (Server-Sent Events)", tags=[INTEGRATIONS], security=INTEGRATOR,
           parameters=STREAM_PARAMETERS,
           responses={200: event_stream("Every matching event after the resume point (`id:` is the event id), a "
                                        "`reset` when events to send were pruned, a comment every 15 s.",
                                        ["reset", *sorted(KINDS)]),
                      **STREAM_REFUSALS, 429: refusal("Too many event streams open for this user.")})
async def sse(request: Request) -> Response:
    """docs/events.md. The stream ends when the server shuts down: reconnect with `Last-Event-ID`."""
    services: Services = request.app.state.services
    try:
        caller, where, after = await open_stream(request, services)
    except (Unauthorized, Refused) as exc:
        return _refusal(exc)
    release = services.streams.take(f"api-events:{caller.user}")
    if release is None:
        return JSONResponse({"error": "too many event streams open"}, status_code=429)
    wake, unsubscribe = services.bus.queue(event_log.EVENTS_TOPIC)
    closing = shutdown.closing()

    async def body() -> AsyncIterator[str]:
        try:
            yield f"retry: {RETRY_MS}\n\n"
            async for item in follow(services, where, after, wake, closing):
                yield _sse(item)
            yield ": the server is shutting down; reconnect with Last-Event-ID\n\n"
        finally:
            unsubscribe()

    return SlotStreamingResponse(body(), release, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _origin_allowed(websocket: WebSocket, allowed: str) -> bool:
    """A browser's WebSocket carries cached Basic credentials to any site that opens one: only the service's own
    origin and `allowed_origins` may (clients that are not browsers send no Origin)."""
    origin = websocket.headers.get("origin")
    if not origin:
        return True
    if origin in [o.strip() for o in allowed.split(",") if o.strip()]:
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


@operation("GET", summary="The event log, live (WebSocket)", tags=[INTEGRATIONS], security=INTEGRATOR,
           parameters=STREAM_PARAMETERS,
           responses={101: answer("Switching to the WebSocket: one JSON text message per event, "
                                  "`{\"type\": \"reset\", …}` when events to send were pruned; closed with 1012 "
                                  "at the server's shutdown."),
                      **STREAM_REFUSALS, 429: refusal("Too many event streams open for this user.")})
async def ws(websocket: WebSocket) -> None:
    """docs/events.md. A refused handshake is answered in HTTP where the server can, else closed with 1008."""
    services: Services = websocket.app.state.services
    release = None
    try:
        if not _origin_allowed(websocket, services.settings.allowed_origins):
            raise Refused(403, "origin not allowed")
        caller, where, after = await open_stream(websocket, services)
        release = services.streams.take(f"api-events:{caller.user}")
        if release is None:
            raise Refused(429, "too many event streams open")
    except (Unauthorized, Refused) as exc:
        await _deny(websocket, _refusal(exc))
        return
    wake, unsubscribe = services.bus.queue(event_log.EVENTS_TOPIC)
    closing = asyncio.Event()
    server_closing = shutdown.closing()
    try:
        await websocket.accept()

        async def until_closed() -> None:  # a client's close (or the server's shutdown) ends the stream
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass  # what a client sends is ignored
            closing.set()

        async def until_shutdown() -> None:
            await server_closing.wait()
            closing.set()

        watchers = [asyncio.ensure_future(until_closed()), asyncio.ensure_future(until_shutdown())]
        try:
            async for item in follow(services, where, after, wake, closing):
                if item.event is not None:
                    await websocket.send_text(json.dumps(item.event.public()))
                elif item.reset is not None:
                    await websocket.send_text(json.dumps({"type": "reset", **item.reset}))
            with contextlib.suppress(Exception):  # already closed when the client left
                await websocket.close(code=1012 if server_closing.is_set() else 1000)
        finally:
            for task in watchers:
                task.cancel()
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client went away mid-send
    finally:
        unsubscribe()
        release()


async def _deny(websocket: WebSocket, response: Response) -> None:
    """Refuse the handshake with an HTTP answer where the server can send one, else close with 1008."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008)


def routes(services: Services) -> list[BaseRoute]:
    return [Route("/api/v1/events", sse, methods=["GET"]), WebSocketRoute("/api/v1/events/ws", ws)]
