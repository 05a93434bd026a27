"""The service's Prometheus metrics: their definitions and the cheap, in-memory ways to record them.

Every series here is counted in this process's memory (or, under `openagc serve --workers N`, in prometheus-client's
multiprocess files: `PROMETHEUS_MULTIPROC_DIR`, set before this module is first imported). Labels take bounded values
only: api.php functions we serve (anything else is `unknown`), route templates (never raw paths), command columns
and record states. What is read at scrape time (agents by state, the switch, the bus) is in `web/metrics.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram, disable_created_metrics

disable_created_metrics()  # no `_created` twin for every counter: half the scrape, nothing anyone graphs here

# Latency buckets (seconds) for requests and commands: api.php answers in milliseconds, a `wait` up to seconds.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

API_REQUESTS = Counter(
    "openagc_api_requests_total",
    "Agent API (/agc/api.php) requests by function and result (the last line's SUCCESS, ERROR, NOTICE …; NONE "
    "when nothing was printed)",
    ["function", "result"],
)
API_SECONDS = Histogram(
    "openagc_api_request_duration_seconds", "Agent API (/agc/api.php) time to answer, by function", ["function"],
    buckets=BUCKETS,
)
HTTP_REQUESTS = Counter(
    "openagc_http_requests_total", "HTTP requests by route template and status", ["route", "status"])
HTTP_SECONDS = Histogram(
    "openagc_http_request_duration_seconds", "HTTP time to the response's headers, by route template", ["route"],
    buckets=BUCKETS,
)
RATE_LIMITED = Counter(
    "openagc_api_key_rate_limited_total", "Requests with an API key refused by its rate limit (HTTP 429)",
    ["endpoint"],
)
COMMAND_OUTCOMES = Counter(
    "openagc_command_outcomes_total", "Commands ended, by command column and final state", ["command", "state"])
GROUP_COMMIT = Histogram(
    "openagc_group_commit_bodies", "Requests' transaction bodies committed together in one transaction "
    "(store/group_commit.py)", buckets=(1, 2, 4, 8, 16, 32, 64),
)
ENGINE_GROUP_COMMIT = Histogram(
    "openagc_engine_group_commit_transitions", "Agents' transitions an engine committed together in one transaction "
    "(engine/runtime.py, store/group_commit.py)", buckets=(1, 2, 4, 8, 16),
)
COMMAND_SECONDS = Histogram(
    "openagc_command_duration_seconds", "Time from a command's writing to its final state, by final state",
    ["state"], buckets=BUCKETS + (60.0, 300.0, 3600.0),
)
# Webhook deliveries (the webhook sender counts each attempt's result: delivered, failed, …).
WEBHOOK_DELIVERIES = Counter("openagc_webhook_deliveries_total", "Webhook deliveries by result", ["result"])


# Labelled children by label values: `labels()` takes a lock and builds a key on every call (about 4 µs a request
# here); the values are bounded, so the children are kept.
_api: dict[tuple[str, str], tuple[Any, Any]] = {}
_http: dict[tuple[str, str], tuple[Any, Any]] = {}


def observe_api(function: str, result: str, seconds: float) -> None:
    """Count one api.php request (`function` already bounded by the caller)."""
    children = _api.get((function, result))
    if children is None:
        children = _api[(function, result)] = (API_REQUESTS.labels(function, result or "NONE"),
                                               API_SECONDS.labels(function))
    children[0].inc()
    children[1].observe(seconds)


def observe_http(route: str, status: str, seconds: float) -> None:
    """Count one HTTP request (`route` a route template or `unmatched`)."""
    children = _http.get((route, status))
    if children is None:
        children = _http[(route, status)] = (HTTP_REQUESTS.labels(route, status), HTTP_SECONDS.labels(route))
    children[0].inc()
    children[1].observe(seconds)


def observe_outcome(_topic: str, record: Any) -> None:
    """Count one command outcome (a bus message of `OUTCOME_TOPIC`: the record as `command_records.public`)."""
    if not isinstance(record, dict):
        return
    state = str(record.get("state") or "")
    COMMAND_OUTCOMES.labels(str(record.get("command") or ""), state).inc()
    milliseconds = record.get("milliseconds")
    if isinstance(milliseconds, int | float):
        COMMAND_SECONDS.labels(state).observe(max(0.0, milliseconds / 1000))


def watch_outcomes(bus: Any, topic: str) -> Callable[[], None]:
    """Count the outcomes this process publishes on `topic`; returns the function that stops counting.

    A bus forwarder sees what this process publishes and never what a Redis bridge brings from another process,
    so an outcome is counted once, by the process that ended the command (an engine, or a drop-in API process).
    """

    def forward(sent_topic: str, message: Any) -> None:
        if sent_topic == topic:
            observe_outcome(sent_topic, message)

    return bus.add_forwarder(forward)
