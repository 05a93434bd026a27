"""An integrator's whole journey, on both databases: from `/openapi.json` alone it finds the event stream, the
webhook subscriptions and api.php; with one API key it subscribes to one campaign's events, registers a signed
webhook and drives an agent — and the stream and the webhook receiver both get the agent's changes, nothing else."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from openagc.integrations import keys
from tests.integrations.event_support import SseReader
from tests.integrations.webhook_support import DispatcherThread, Receiver, verify
from tests.support import wait_for


def _operation_with(spec: dict[str, Any], method: str, predicate) -> str:
    """The one path whose `method` operation satisfies `predicate` (found in the document, not known beforehand)."""
    found = [path for path, item in spec["paths"].items() if method in item and predicate(item[method])]
    assert len(found) == 1, (method, found)
    return found[0]


def _serves(media_type: str):
    return lambda op: any(media_type in (r.get("content") or {}) for r in op.get("responses", {}).values())


def _takes(*names: str):
    def check(op: dict[str, Any]) -> bool:
        schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
        return set(names) <= set(schema.get("properties", {}))
    return check


def _function_enum(spec: dict[str, Any]):
    def check(op: dict[str, Any]) -> bool:
        params = {p["name"]: p for p in op.get("parameters", []) if "$ref" not in p}
        return "external_pause" in params.get("function", {}).get("schema", {}).get("enum", [])
    return check


def _resolve_refs(spec: dict[str, Any]) -> dict[str, Any]:
    """Inline `#/components/parameters/...` references (a client generator does the same)."""
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "parameters" in op:
                op["parameters"] = [_follow(spec, p) for p in op["parameters"]]
    return spec


def _follow(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_from_the_spec_alone_an_integrator_subscribes_gets_signed_webhooks_and_drives_an_agent(eng, db, receiver):
    base = eng.server.base_url
    spec = _resolve_refs(httpx.get(f"{base}/openapi.json", timeout=30).json())
    assert spec["openapi"].startswith("3.1")
    assert any(s.get("scheme") == "bearer" for s in spec["components"]["securitySchemes"].values())
    stream_path = _operation_with(spec, "get", lambda op: _serves("text/event-stream")(op) and "campaign" in {
        p["name"] for p in op.get("parameters", [])})  # the stream across agents (not an agent's own)
    webhooks_path = _operation_with(spec, "post", _takes("url", "campaigns"))
    api_path = _operation_with(spec, "get", _function_enum(spec))
    assert "type" in {p["name"] for p in spec["paths"][stream_path]["get"]["parameters"]}

    with db.engine.begin() as conn:
        _, key = keys.create(conn, user="6666", name="crm")
    bearer = {"Authorization": f"Bearer {key}"}

    created = httpx.post(f"{base}{webhooks_path}", headers=bearer, timeout=30, json={
        "url": receiver.url(), "campaigns": ["TESTCAMP"], "kinds": ["agent.state", "command.outcome"]})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    stream = SseReader(base, auth=None, headers=bearer,
                       params={"campaign": "TESTCAMP", "type": "agent.state,command.outcome"})
    dispatcher = DispatcherThread(eng.backend.url)  # the webhook dispatcher of another process on this database
    try:
        assert stream.status == 200, stream.body
        eng.login()  # agent 1000 of TESTCAMP logs in (paused)
        for value in ("RESUME", "PAUSE"):
            answer = httpx.get(f"{base}{api_path}", headers=bearer, timeout=30, params={
                "source": "crm", "function": "external_pause", "agent_user": "1000", "value": value})
            assert answer.text.startswith(f"SUCCESS: external_pause function set - {value}|"), answer.text

        def states(events: list[dict[str, Any]]) -> list[str]:
            return [e["data"]["state"] for e in events if e["type"] == "agent.state"]

        # TESTCAMP takes inbound calls: a ready agent waits as CLOSER (upstream's status for it)
        stream.wait(lambda events: states(events)[-2:] == ["CLOSER", "PAUSED"], what="ready then paused, streamed")
        wanted = [e["id"] for e in stream.events]
        wait_for(lambda: receiver.delivered_ids()[-len(wanted):] == wanted, 60, "the same events as webhooks")
    finally:
        stream.close()
        dispatcher.stop()

    events = stream.events
    assert {e["campaign"] for e in events} == {"TESTCAMP"}
    assert [e["data"]["state"] for e in events if e["type"] == "agent.state"] == ["PAUSED", "CLOSER", "PAUSED"]
    outcomes = [e["data"] for e in events if e["type"] == "command.outcome" and e["data"]["source"] == "api"]
    assert [(o["command"], o["value"].split("!")[0], o["state"]) for o in outcomes] == [
        ("external_pause", "RESUME", "applied"), ("external_pause", "PAUSE", "applied")]
    delivered = {r.id: r for r in receiver.got()}
    for event in events:
        request = delivered[event["id"]]
        assert verify(secret, request.headers, request.body)
        assert httpx.Response(200, content=request.body).json() == event  # the webhook carries the stream's event
    assert db.row("vicidial_live_agents", user="1000")["status"] == "PAUSED"
