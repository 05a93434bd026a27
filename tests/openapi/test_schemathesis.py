"""schemathesis against a live server, from its own `/openapi.json`: every operation, its documented examples and a
few generated requests (fixed seed), every answer checked against the document — status code, content type, body
schema, headers — and never a 5xx.

The server is the engine's (`eng`: simulated switch, virtual time, a fresh throwaway database per test), so
`/agent/*` does not answer 503 for an engine that is off. Agent API requests carry the demo API user's credentials
(the security schemes `apiUser`/`apiPass`), so the functions run past authentication. Event streams are not
requested (their answer lasts as long as the session); schemathesis leaves out the operation its schema came from
(`GET /openapi.json`, which `test_served.py` checks). schemathesis' pytest plugin does not run under pytest 9
(it sets `Item._nodeid`), so the operations are driven here through its Python API: `as_strategy` and
`validate_response` per operation, Hypothesis without shrinking (a failure is reported as found).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from openagc.openapi.describe import SECURITY_SCHEMES as SCHEMES
from tests.engine.conftest import LOGIN, EngineEnv
from tests.support import AUTH

SEED = 20260115
MAX_EXAMPLES = 6  # generated requests per operation, besides the document's examples
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]
STREAMS = {"text/event-stream"}


def _is_stream(operation: Any) -> bool:
    definition = operation.definition.raw
    media = {m for r in definition.get("responses", {}).values() for m in r.get("content", {})}
    return bool(media & STREAMS) or bool(definition.get("x-websocket"))


class Run:
    """Sends cases of one operation and checks their answers; counts what it sent."""

    def __init__(self, base_url: str, secrets: dict[str, str]) -> None:
        self.base_url = base_url
        self.secrets = secrets
        self.session = requests.Session()
        self.sent = 0
        self.failures: list[str] = []
        self.statuses: Counter[str] = Counter()

    def check(self, case: Any) -> None:
        query, headers, auth = self.credentials(case.operation.definition.raw.get("security", []))
        if query:
            case.query = {**(case.query or {}), **query}
        self.sent += 1
        response = case.call(base_url=self.base_url, session=self.session, headers=headers, auth=auth, timeout=20)
        self.statuses[f"{case.method} {case.path} {response.status_code}"] += 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    def credentials(self, security: list[dict]) -> tuple[dict[str, str], dict[str, str], tuple[str, str] | None]:
        """What the first requirement the run has secrets for asks: query parameters, headers, HTTP Basic."""
        for requirement in security:
            if requirement and set(requirement) <= set(self.secrets):
                query: dict[str, str] = {}
                headers: dict[str, str] = {}
                auth = None
                for name in requirement:
                    scheme = SCHEMES[name]
                    if scheme["type"] == "apiKey" and scheme["in"] == "query":
                        query[scheme["name"]] = self.secrets[name]
                    elif scheme["type"] == "http" and scheme["scheme"] == "basic":
                        auth = (AUTH["user"], AUTH["pass"])
                    elif scheme["type"] == "http" and scheme["scheme"] == "bearer":
                        headers["Authorization"] = f"Bearer {self.secrets[name]}"
                return query, headers, auth
        return {}, {}, None

    def drive(self, label: str, strategy: Any, count: int) -> None:
        """`count` cases of `strategy`; the first failure of the operation is recorded, not raised."""
        test: Callable[[], None] = seed(SEED)(settings(
            max_examples=count, deadline=None, database=None, derandomize=False,
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
            suppress_health_check=list(HealthCheck))(given(case=strategy)(self.check)))
        try:
            test()
        except (Exception, BaseExceptionGroup) as exc:  # a check's failures (a group) or the request's error
            self.failures.append(f"{label}: {exc}")


def _with_function(case: Any, function: str) -> Any:
    if case.method == "GET":
        case.query = {**(case.query or {}), "function": function}
    elif isinstance(case.body, dict):
        case.body = {**case.body, "function": function}
    return case


def test_every_answer_is_the_documented_one(eng: EngineEnv) -> None:
    started = time.perf_counter()
    config = schemathesis.config.SchemathesisConfig.from_dict({"seed": SEED})
    schema = schemathesis.openapi.from_url(f"{eng.server.base_url}/openapi.json", config=config)
    session = eng.client.post("/agent/login", json=LOGIN).json()["token"]  # agent 1000, whose session is driven
    secrets = {"apiUser": AUTH["user"], "apiPass": AUTH["pass"], "basicAuth": "", "agentSession": session}
    run = Run(eng.server.base_url, secrets)
    operations = [result.ok() for result in schema.get_all_operations()]
    # The agent's own session first, its logout and the Agent API (whose examples log agent 1000 out) last.
    driven = sorted((op for op in operations if not _is_stream(op)),
                    key=lambda op: (op.path == "/agc/api.php", op.path == "/agent/logout"))
    assert len(operations) - len(driven) <= 6  # /agent/events, /console/api/events and the integrators' streams
    for operation in driven:
        if operation.path == "/agc/api.php":  # every function, not only those a few draws pick
            for function in sorted(operation.definition.raw["x-functions"]):
                strategy = operation.as_strategy().map(lambda case, f=function: _with_function(case, f))
                run.drive(f"{operation.label} {function}", strategy, 2)
        examples = schema.get_strategies_from_examples(operation)
        if examples:
            run.drive(f"{operation.label} (examples)", st.one_of(examples), max(len(examples), 1) * 2)
        run.drive(operation.label, operation.as_strategy(), MAX_EXAMPLES)
    elapsed = time.perf_counter() - started
    print(f"\nschemathesis on {eng.backend.kind}: {run.sent} requests, {len(driven)} operations, {elapsed:.1f} s")
    assert run.failures == []
    assert run.sent >= len(driven) * 2
    print("\n".join(f"{k}: {v}" for k, v in sorted(run.statuses.items())))
