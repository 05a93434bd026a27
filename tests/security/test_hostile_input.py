"""Hostile input as a permanent property test (Hypothesis).

Every function and parameter of the API document, and every `/agent/` and console endpoint, fed SQL
metacharacters, overlong and huge-number values, NUL, invalid UTF-8 and percent-encoding, repeated and
encoded names, every method and content type. For every request: no 5xx, no SQL or traceback in the answer,
no state change when the answer is only ERROR lines, and the password in no answer, api-log row or log record.

`make test` runs the `bounded` profile; `bench/hostile.py` runs the same properties with the `long` one.
"""

from __future__ import annotations

import logging
import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.engine.conftest import EngineEnv
from tests.security.hostile import (
    AGENT_SECRET,
    FUNCTIONS,
    NAMES,
    SECRET,
    SQL_OR_TRACE,
    encode_name,
    encode_value,
    values,
)
from tests.support import Backend, Db

settings.register_profile("bounded", max_examples=int(os.environ.get("OPENAGC_FUZZ_EXAMPLES", "60")),
                          deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)
settings.register_profile("long", max_examples=int(os.environ.get("OPENAGC_FUZZ_EXAMPLES", "3000")),
                          deadline=None, suppress_health_check=list(HealthCheck))
PROFILE = os.environ.get("OPENAGC_FUZZ_PROFILE", "bounded")

STATE_TABLES = ("vicidial_live_agents", "vicidial_list", "vicidial_live_inbound_agents", "vicidial_manager",
                "vicidial_manual_dial_queue", "vicidial_auto_calls", "vicidial_lead_messages",
                "vicidial_agent_notifications", "vicidial_campaigns", "vicidial_callbacks")
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "application/json", "text/plain",
                 "application/x-www-form-urlencoded; charset=latin-1", "")


@st.composite
def api_requests(draw: st.DrawFn) -> dict:
    """One hostile api.php request: method, raw query, body, content type, source address."""
    pairs: list[tuple[str, str]] = [("source", "test"), ("user", "6666"), ("function", draw(st.sampled_from(
        FUNCTIONS))), ("agent_user", "1000")]
    wrong_password = draw(st.integers(0, 9)) == 0
    pairs.append(("pass", draw(values()) if wrong_password else SECRET))
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=8)):
        pairs.append((name, draw(values())))
    if draw(st.booleans()):  # a repeated name, possibly the password's
        pairs.append((draw(st.sampled_from([*NAMES, "pass"])), draw(values())))
    draw(st.randoms()).shuffle(pairs)
    encoded = [f"{encode_name(draw, k)}={SECRET if v == SECRET else encode_value(draw, v)}" for k, v in pairs]
    split = draw(st.integers(0, len(encoded)))
    while split and sum(len(e) + 1 for e in encoded[:split]) > 60_000:  # a URL carries at most 64 KiB
        split -= 1
    method = draw(st.sampled_from(("GET", "POST", "POST", "PUT", "HEAD")))
    ctype = draw(st.sampled_from(CONTENT_TYPES))
    body: bytes | dict = "&".join(encoded[split:]).encode("utf-8", "surrogatepass")
    if ctype == "multipart/form-data":
        body = {k: v for k, v in pairs[split:]}
    elif draw(st.integers(0, 5)) == 0:
        body = draw(st.binary(max_size=2000))  # invalid UTF-8, random bytes
    source = draw(st.ip_addresses(v=4).map(str)) if wrong_password else None
    return {"method": method, "query": "&".join(encoded[:split]), "body": body, "ctype": ctype, "source": source}


def _snapshot(db: Db) -> dict[str, list]:
    return {t: sorted(map(repr, db.rows(t))) for t in STATE_TABLES}


def _only_errors(text: str) -> bool:
    lines = [line for line in text.splitlines() if line.strip()]
    return bool(lines) and all(line.startswith("ERROR") for line in lines)


def _send(client: httpx.Client, req: dict) -> httpx.Response:
    headers = {"X-Forwarded-For": req["source"]} if req["source"] else {}
    url = "/agc/api.php" + (f"?{req['query']}" if req["query"] else "")
    if req["method"] in ("GET", "HEAD"):
        return client.request(req["method"], url, headers=headers)
    if isinstance(req["body"], dict):
        return client.request(req["method"], url, headers=headers, files={k: (None, v.encode("utf-8", "replace"))
                                                                             for k, v in req["body"].items()})
    if req["ctype"]:
        headers["Content-Type"] = req["ctype"]
    return client.request(req["method"], url, headers=headers, content=req["body"])


def _check_answer(text: str) -> None:
    assert not SQL_OR_TRACE.search(text), text[:500]
    assert SECRET not in text and AGENT_SECRET not in text


def _check_logs(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        message = record.getMessage()
        assert SECRET not in message and AGENT_SECRET not in message
        assert not record.exc_info, message
    caplog.clear()


@pytest.fixture
def hostile_api(backend: Backend, db: Db, login, caplog) -> tuple[Backend, Db]:
    db.update("vicidial_users", {"user": "6666"}, **{"pass": SECRET})
    login("1000")
    caplog.set_level(logging.WARNING)
    return backend, db


@settings(settings.get_profile(PROFILE))
@given(req=api_requests())
def test_api_php_under_hostile_input(hostile_api, caplog, req):
    backend, db = hostile_api
    before = _snapshot(db)
    last_log = (db.logs() or [{"api_id": 0}])[-1]["api_id"]
    r = _send(backend.client, req)
    assert r.status_code < 500, (r.status_code, r.text[:300])
    _check_answer(r.text)
    # No line, or only ERROR lines: nothing may have changed. A HEAD request runs the function like GET (as PHP
    # does) and only drops the body, so its empty answer says nothing about what it did.
    silent = not r.text and req["method"] != "HEAD"
    if r.status_code == 405 or _only_errors(r.text) or silent:
        assert _snapshot(db) == before, r.text[:300]
    for row in db.rows("vicidial_api_urls"):
        if row["api_id"] > last_log:
            assert SECRET not in (row["url"] or ""), row["url"][:300]
    for row in db.logs():
        if row["api_id"] > last_log:
            assert SECRET not in " ".join(str(v) for v in row.values())
    _check_logs(caplog)


# --- /agent/ and the console ----------------------------------------------------------------------------------

AGENT_ENDPOINTS = ("/agent/login", "/agent/logout", "/agent/ready", "/agent/pause", "/agent/dial", "/agent/hangup",
                   "/agent/dispo", "/agent/state", "/console/", "/console/api/context", "/console/api/lead",
                   "/console/api/script", "/console/api/callbacks", "/console/api/transfer", "/console/api/park",
                   "/console/api/record", "/console/api/dtmf", "/console/api/ingroups", "/console/api/phone")
FIELDS = ("user", "pass", "phone_login", "phone_pass", "campaign", "ingroups", "blended", "pause_code",
          "phone_number", "phone_code", "lead_id", "alt_dial", "next", "action", "status", "callback_datetime",
          "callback_type", "comments", "function", "ingroup", "consultative", "digits", "stage", "search")
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False,
                                     allow_infinity=False), values()),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                                         max_size=3), max_leaves=6)


RAW_JSON = (b'{"user": Infinity, "phone_number": NaN, "lead_id": -Infinity}', b'{"digits": 1e999}',
            b'{"status": "\\ud800"}', b'{"a": 1, "a": 2}', b"\xff\xfe{}", b'{"ingroups": "' + b"x " * 5000 + b'"}')


@st.composite
def agent_requests(draw: st.DrawFn) -> dict:
    path = draw(st.sampled_from(AGENT_ENDPOINTS))
    body_fields = draw(st.dictionaries(st.sampled_from(FIELDS), json_values, max_size=6))
    kind = draw(st.sampled_from(("json", "form", "bytes", "deep", "none")))
    return {"path": path, "method": draw(st.sampled_from(METHODS)), "kind": kind, "fields": body_fields,
            "raw": draw(st.one_of(st.binary(max_size=500), st.sampled_from(RAW_JSON))),
            "auth": draw(st.sampled_from(("bearer", "none", "garbage"))),
            "ctype": draw(st.sampled_from(CONTENT_TYPES))}


@pytest.fixture
def hostile_agent(eng: EngineEnv, db: Db, caplog) -> tuple[EngineEnv, Db, dict[str, str]]:
    db.update("vicidial_users", {"user": "1000"}, **{"pass": AGENT_SECRET})
    session = {"token": eng.login(**{"pass": AGENT_SECRET})}
    caplog.set_level(logging.WARNING)
    return eng, db, session


COMMAND_COLUMNS = ("external_pause", "external_dial", "external_hangup", "external_status", "external_dtmf",
                   "external_transferconf", "external_park", "external_recording", "external_ingroups")


def _commands(db: Db) -> list[tuple]:
    return [tuple(row.get(c) for c in COMMAND_COLUMNS) + (row["status"],) for row in db.rows("vicidial_live_agents")]


@settings(settings.get_profile(PROFILE))
@given(req=agent_requests())
def test_agent_endpoints_under_hostile_input(hostile_agent, caplog, req):
    eng, db, session = hostile_agent
    headers = {"Authorization": {"bearer": f"Bearer {session['token']}", "garbage": "Bearer ' OR 1=1 --",
                                 "none": ""}[req["auth"]]}
    headers = {k: v for k, v in headers.items() if v}
    kwargs: dict = {}
    if req["kind"] == "json":
        kwargs["json"] = req["fields"]
    elif req["kind"] == "form":
        kwargs["data"] = {k: str(v) for k, v in req["fields"].items()}
    elif req["kind"] == "bytes":
        kwargs["content"], headers["Content-Type"] = req["raw"], req["ctype"] or "application/json"
    elif req["kind"] == "deep":
        kwargs["content"], headers["Content-Type"] = b"[" * 50_000, "application/json"
    eng.settle()  # earlier examples' commands are carried out before this one is judged
    before = _commands(db)
    with httpx.Client(base_url=eng.server.base_url, timeout=30) as client:
        r = client.request(req["method"], req["path"], headers=headers, **kwargs)
    assert r.status_code < 500 or (r.status_code == 503 and "engine" in r.text), (r.status_code, r.text[:300])
    _check_answer(r.text)
    if r.status_code >= 400:
        assert _commands(db) == before, (req["path"], r.status_code, r.text[:200])
    _check_logs(caplog)
    if db.count("vicidial_live_agents", user="1000") == 0:  # logged out by this example: log in again
        db.delete("openagc_login_failures")
        session["token"] = eng.login(**{"pass": AGENT_SECRET})
