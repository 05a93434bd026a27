"""The ASGI application: the Agent API, and (when enabled) the engine and the agent-side routes."""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from openagc import health, heap, metrics
from openagc.api import delivery
from openagc.api.app import api_php, command_status
from openagc.bus import AGENT_COMMAND, RedisBridge
from openagc.companion import app as companion
from openagc.config import Settings
from openagc.integrations import discovery, ratelimit
from openagc.integrations.webhooks import dispatch as webhooks
from openagc.integrations.webhooks import http as webhooks_http
from openagc.openapi import routes as openapi
from openagc.services import Services
from openagc.store.command_records import OUTCOME_TOPIC
from openagc.store.database import Database
from openagc.store.event_log import EVENTS_TOPIC
from openagc.store.schema import metadata
from openagc.web.csrf import CsrfGuard
from openagc.web.headers import SecurityHeaders
from openagc.web.limits import BodyLimits
from openagc.web.metrics import HttpMetrics
from openagc.web.metrics import routes as metrics_routes
from openagc.web.paths import MergeSlashes

log = logging.getLogger(__name__)

# Optional parts of the service, each a module exposing `routes(services)`, `start(services)` (run when the engine
# is on) and/or `always(services)` (run in every process, engine on or off); `start` and `always` return their
# stop coroutine function. A part that is not installed yet is skipped, so the API runs on its own (drop-in mode).
PARTS = ("openagc.engine.runtime", "openagc.console.routes", "openagc.integrations.events")


def _part(name: str):
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and name.startswith(exc.name):
            return None
        raise


async def _read_table_engines(db: Database) -> None:
    """Learn which tables cannot roll back (`Database.read_table_engines`, before the first request) and say so:
    a drop-in on upstream's MyISAM tables keeps a rolled-back attempt's writes there (docs/compatibility.md)."""
    try:
        found = await db.read_table_engines()
    except (sa.exc.DBAPIError, OSError) as exc:  # the database is down: requests will say so, each in its turn
        log.warning("could not read the database's table engines: %s", exc)
        return
    ours = sorted(name for name in found if name in metadata.tables)
    if ours:
        log.warning("%d tables cannot roll back (%s%s): a request run again after a database conflict writes "
                    "its rows in them again", len(ours), ", ".join(ours[:5]), " …" if len(ours) > 5 else "")


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    """Build the app; `services` may be given (tests share the clock and bus with the app)."""
    services = services or Services(settings=settings, db=Database(settings.database))
    routes = [
        Route("/agc/api.php", api_php, methods=["GET", "POST"]),
        Route("/agc/commands/{command_id:int}", command_status, methods=["GET"]),
        *companion.routes(),
        *discovery.routes(),
        *health.routes(),
        *metrics_routes(),
        *openapi.routes(),  # /openapi.json and /docs, generated from the routes (docs/openapi.md)
        *webhooks_http.routes(services),
    ]
    parts = [m for m in (_part(n) for n in PARTS) if m is not None]
    for module in parts:
        if hasattr(module, "routes"):
            routes.extend(module.routes(services))

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await _read_table_engines(services.db)
        stoppers = []
        stop_counting = metrics.watch_outcomes(services.bus, OUTCOME_TOPIC)

        async def stop_metrics() -> None:
            stop_counting()
            await ratelimit.limiter(services).close()

        stoppers.append(stop_metrics)
        if settings.redis_url:
            bridge = RedisBridge(services.bus, settings.redis_url, topics=(AGENT_COMMAND, OUTCOME_TOPIC, EVENTS_TOPIC))
            await bridge.start()
            services.extra[health.BRIDGE] = bridge
            stoppers.append(bridge.stop)
        if settings.webhooks:  # delivery runs whether the engine is on or off (docs/webhooks.md)
            stoppers.append(await webhooks.start(services))
        for module in parts:
            if hasattr(module, "always"):
                stoppers.append(await module.always(services))
        if settings.engine:
            for module in parts:
                if hasattr(module, "start"):
                    stoppers.append(await module.start(services))
        elif delivery.watching(settings):  # drop-in: upstream's screens act; records end delivered or expired
            stoppers.append(await delivery.start(services))
        try:
            yield
        finally:
            for stop in reversed(stoppers):
                await stop()
            await services.db.dispose()

    middleware = [
        Middleware(MergeSlashes),  # first: every other layer and route sees the merged path (Apache's default)
        Middleware(HttpMetrics),  # requests by route template and status, timed to their headers
        Middleware(ratelimit.RateLimitHeaders),  # a keyed /api/ request's RateLimit-* headers
        Middleware(SecurityHeaders),
        Middleware(BodyLimits, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout),
        Middleware(CsrfGuard, allowed_origins=settings.allowed_origins.split(",")),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=middleware)
    app.state.services = services
    return app


def app_for_server(settings: Settings) -> Starlette:
    """The app `openagc serve` runs: built, then the heap it leaves settled (`heap.settle`)."""
    app = create_app(settings)
    heap.settle()
    return app


def app_from_env() -> Starlette:
    """App factory for multi-worker servers (each worker's): settings come from `OPENAGC_*` environment variables."""
    return app_for_server(Settings())
