"""`GET /metrics` (Prometheus text format) and the middleware that times every HTTP request (ours).

Who may scrape: clients in `metrics_allowed_ips` (default loopback only: 127.0.0.0/8 and ::1), or anyone sending
`Authorization: Bearer <metrics_token>` when that setting is not empty. Anyone else gets 403 (401 with a
`WWW-Authenticate: Bearer` challenge when a token is configured). Behind a proxy, the client address is the one
uvicorn takes from `X-Forwarded-For` of a proxy in `forwarded_allow_ips`.

What a scrape reads besides the counters kept in memory (`openagc.metrics`): the agents in `vicidial_live_agents`
by status (one grouped count), this process's engine sessions, switch and Redis bridge (`health.report`). Under
`--workers N` the counters of every worker are summed from `PROMETHEUS_MULTIPROC_DIR`; what is read at scrape time
is the answering worker's view (the database's counts are the same for all).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openagc import health
from openagc.metrics import observe_http
from openagc.openapi.describe import METRICS, OPERATIONS, operation, text_answer
from openagc.store.schema import VLA_STATUSES, vicidial_live_agents

if TYPE_CHECKING:
    from openagc.services import Services

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # what generate_latest writes, on every client version
UNMATCHED = "unmatched"  # the route label of requests no route answered (404s; 408/413 refused before routing)
VLA = vicidial_live_agents.c


@functools.lru_cache(maxsize=8)
def _networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def allowed(request: Request, services: Services) -> bool:
    """Whether `request` may read the metrics (a listed client network, or the metrics token)."""
    settings = services.settings
    token = settings.metrics_token
    if token:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), token.encode()):
            return True
    client = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(client)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _networks(settings.metrics_allowed_ips))


class _Snapshot:
    """A collector of values gathered just before the scrape (prometheus-client collects synchronously)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


async def _agents(services: Services) -> dict[str, int] | None:
    """Logged-in agents by `vicidial_live_agents.status` (None when the database does not answer)."""
    try:
        async with services.db.connect() as conn:
            rows = await conn.execute(sa.select(VLA.status, sa.func.count()).group_by(VLA.status))
            return {str(status or ""): int(n) for status, n in rows}
    except Exception:  # reported as openagc_database_up 0; the request that needs the database logs why
        return None


async def snapshot(services: Services) -> list[Metric]:
    """The scrape-time families: agents by status, database, engine, switch and Redis bridge."""
    families: list[Metric] = []
    counts = await _agents(services)
    database = GaugeMetricFamily("openagc_database_up", "1 when the database answered this scrape's count")
    database.add_metric([], 0 if counts is None else 1)
    families.append(database)
    if counts is not None:
        agents = GaugeMetricFamily("openagc_agents", "Logged-in agents by vicidial_live_agents.status",
                                   labels=["status"])
        for status in sorted(set(VLA_STATUSES) | set(counts)):
            agents.add_metric([status], counts.get(status, 0))
        families.append(agents)
    report = health.report(services, {"status": "ok"})
    engine = services.extra.get("engine")
    running = GaugeMetricFamily("openagc_engine_running", "1 when this process runs the agent session engine")
    running.add_metric([], 1 if engine is not None else 0)
    families.append(running)
    if engine is not None:
        sessions = GaugeMetricFamily("openagc_engine_sessions", "Agent sessions this process's engine holds")
        sessions.add_metric([], len(getattr(engine, "sessions", ())))
        families.append(sessions)
    if report["switch"] != "off":
        switch = GaugeMetricFamily("openagc_switch_connected",
                                   "1 when the engine's switch is connected (the simulated switch always is)",
                                   labels=["switch"])
        kind = "simulated" if report["switch"] == "simulated" else "asterisk"
        switch.add_metric([kind], 0 if report["switch"] == "disconnected" else 1)
        families.append(switch)
    bus = report["bus"]
    if bus["redis"] != "off":
        bridge = GaugeMetricFamily("openagc_redis_bridge_connected", "1 while the Redis bridge is subscribed")
        bridge.add_metric([], 1 if bus["redis"] == "connected" else 0)
        reconnects = CounterMetricFamily("openagc_redis_bridge_reconnects", "Times the Redis bridge came back")
        reconnects.add_metric([], bus["reconnects"])
        families += [bridge, reconnects]
    return families


def prepare_multiprocess(workers: int) -> Callable[[], None]:
    """Before `--workers N` (N > 1) start: prometheus-client's multiprocess mode, so a scrape sums every worker.

    The workers inherit `PROMETHEUS_MULTIPROC_DIR`: the one given (its value files of an earlier run are removed,
    as prometheus-client requires), else a new temporary directory. Returns what to do when the server stops
    (remove the temporary directory).
    """
    if workers <= 1:
        return lambda: None
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for kind in ("counter", "gauge", "histogram", "summary"):
            for stale in directory.glob(f"{kind}_*.db"):
                stale.unlink(missing_ok=True)
        return lambda: None
    made = tempfile.mkdtemp(prefix="openagc-metrics-")
    os.environ[MULTIPROC_ENV] = made
    return lambda: shutil.rmtree(made, ignore_errors=True)


def exposition(families: list[Metric]) -> bytes:
    """The counters (this process's, or every worker's in multiprocess mode) and the scrape-time families."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        counted = generate_latest(registry)
    else:
        counted = generate_latest(REGISTRY)
    extra = CollectorRegistry()
    extra.register(_Snapshot(families))
    return counted + generate_latest(extra)


@operation("GET", summary="Prometheus metrics", tags=[OPERATIONS], security=METRICS,
           responses={200: text_answer("The counters and the scrape-time gauges (Prometheus text format 0.0.4).",
                                       CONTENT_TYPE),
                      401: text_answer("A metrics token is set and was not sent.",
                                       headers={"WWW-Authenticate": {"schema": {"type": "string"}}}),
                      403: text_answer("The client is not in `metrics_allowed_ips` (and no token is set).")})
async def metrics(request: Request) -> Response:
    """docs/metrics.md. Clients in `metrics_allowed_ips` (default: loopback), or `Authorization: Bearer` with the
    `metrics_token` setting."""
    services: Services = request.app.state.services
    if not allowed(request, services):
        if services.settings.metrics_token:
            return PlainTextResponse("authentication required\n", status_code=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        return PlainTextResponse("forbidden\n", status_code=403)
    body = exposition(await snapshot(services))
    return Response(body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def routes() -> list[Route]:
    return [Route("/metrics", metrics, methods=["GET"])]


class HttpMetrics:
    """ASGI middleware: each HTTP request counted by route template and status, timed to its response's headers
    (an event stream's headers come at once, so its hours-long body does not swamp the histogram)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._paths: dict[Any, str] | None = None  # a matched endpoint → its route's path template

    def _label(self, scope: Scope) -> str:
        """The matched route's template (the router leaves its endpoint in the scope), else `unmatched`."""
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return UNMATCHED
        if self._paths is None:
            paths: dict[Any, str] = {}
            for route in getattr(scope.get("app"), "routes", ()):
                target = route.endpoint if isinstance(route, Route) else getattr(route, "app", None)
                if target is not None:
                    paths.setdefault(target, route.path)
            self._paths = paths
        return self._paths.get(endpoint, UNMATCHED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 0, "seconds": None}

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["seconds"] = message["status"], time.perf_counter() - started
            await send(message)

        try:
            await self.app(scope, receive, timed)
        finally:
            label = self._label(scope)
            seconds = state["seconds"] if state["seconds"] is not None else time.perf_counter() - started
            observe_http(label, str(state["status"] or 500), seconds)
