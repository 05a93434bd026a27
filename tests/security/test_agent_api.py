"""Attacks on `/agent/` and `/console/api/`: login oracle and lockout, CSRF, field smuggling, streams, bad JSON."""

from __future__ import annotations

import httpx
import pytest

from openagc.engine.http import LOGIN_REFUSED
from openagc.web.csrf import csrf_token
from tests.engine.conftest import LOGIN, EngineEnv
from tests.support import AUTH

WRONG = {"error": LOGIN_REFUSED}


def _login(eng: EngineEnv, **overrides: str) -> httpx.Response:
    return eng.client.post("/agent/login", json=LOGIN | overrides)


def test_login_answers_one_error_for_every_credential_failure(eng, db):
    """H2: a wrong password and a right password with a wrong phone answer the same (no oracle)."""
    wrong_password = _login(eng, **{"pass": "nope"})
    wrong_phone = _login(eng, phone_pass="nope")
    unknown_user = _login(eng, user="nobody")
    unknown_phone = _login(eng, phone_login="nophone")
    for r in (wrong_password, wrong_phone, unknown_user, unknown_phone):
        assert (r.status_code, r.json()) == (401, WRONG)
    assert db.count("vicidial_live_agents") == 0


def test_login_shares_the_lockout_with_the_api(eng, db):
    """H2: ten wrong passwords on /agent/login lock api.php too, and the right one is then refused on both."""
    for _ in range(10):
        assert _login(eng, **{"pass": "nope"}).status_code == 401
    assert db.row("openagc_login_failures", user="1000")["failures"] == 10
    assert (_login(eng).status_code, _login(eng).json()) == (401, WRONG)
    assert db.count("vicidial_live_agents") == 0
    # and the other way round: a user the API locked cannot log in to the console
    for _ in range(10):
        eng.client.get("/agc/api.php", params=AUTH | {"pass": "nope", "function": "version2"})
    assert db.row("openagc_login_failures", user="6666")["failures"] == 10


def test_phone_guesses_count_as_failures(eng, db):
    """H2: guessing the phone password with a known user password is locked out too."""
    for _ in range(10):
        _login(eng, phone_pass="nope")
    assert _login(eng).status_code == 401
    assert db.count("vicidial_live_agents") == 0


def test_a_phone_in_use_cannot_be_taken_by_another_agent(eng, db):
    """L7: agent 1001 may not log in on phone 1000 while agent 1000 is on it."""
    eng.login()
    r = _login(eng, user="1001", **{"pass": "1234"}, phone_login="1000")
    assert (r.status_code, r.json()) == (409, {"error": "this phone is in use by another agent"})
    assert db.count("vicidial_live_agents", user="1001") == 0


def test_session_cookie_is_secure_over_tls(eng, db):
    """L7: behind a TLS proxy (X-Forwarded-Proto from a trusted address) the cookie is `Secure`."""
    r = eng.client.post("/agent/login", json=LOGIN, headers={"X-Forwarded-Proto": "https"})
    cookie = r.headers["set-cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    eng.client.cookies.clear()


def _cookie_session(eng: EngineEnv) -> tuple[httpx.Client, str]:
    """A client holding the session cookie (as a browser does), and the session's CSRF token."""
    client = httpx.Client(base_url=eng.server.base_url, timeout=30)
    r = client.post("/agent/login", json=LOGIN)
    assert r.status_code == 200
    return client, r.json()["csrf_token"]


def test_cross_origin_form_post_is_refused(eng, db):
    """M3: a form on another origin (another port of the same host) cannot pause the agent or send DTMF."""
    client, _ = _cookie_session(eng)
    try:
        evil = {"Origin": "http://127.0.0.1:9999", "Content-Type": "application/x-www-form-urlencoded"}
        r = client.post("/agent/pause", content="pause_code=CSRF", headers=evil)
        assert (r.status_code, r.json()) == (403, {"error": "cross-origin request refused"})
        r = client.post("/console/api/dtmf", content="digits=666", headers=evil)
        assert r.status_code == 403
        r = client.post("/agent/pause", content="x=1", headers={"Sec-Fetch-Site": "same-site"})
        assert r.status_code == 403
        row = db.row("vicidial_live_agents", user="1000")
        assert (row["external_pause"], row["external_pause_code"], row["external_dtmf"]) == ("", "", "")
    finally:
        client.close()


def test_cookie_without_the_session_token_is_refused(eng, db):
    """M3: same-origin requests on the cookie alone need the per-session CSRF token."""
    client, token = _cookie_session(eng)
    try:
        assert client.post("/agent/pause", json={}).status_code == 403
        assert client.post("/agent/pause", json={}, headers={"X-CSRF-Token": "0" * 40}).status_code == 403
        assert client.post("/console/api/phone", json={}).status_code == 403
        assert db.row("vicidial_live_agents", user="1000")["external_pause"] == ""
        same = {"X-CSRF-Token": token, "Origin": eng.server.base_url}
        assert client.post("/agent/pause", json={"pause_code": "BREAK"}, headers=same).status_code == 200
        assert client.get("/agent/state").json()["csrf_token"] == token == csrf_token(client.cookies["openagc_agent"])
    finally:
        client.close()


def test_dial_fields_cannot_be_smuggled(eng, db):
    """M4: `!` in phone_code or alt_dial cannot add a prefix or a caller id to the dial command."""
    token = eng.login()
    r = eng.agent("dial", token, phone_number="3125556666", phone_code="1!NO!NO!YES!!1!777!!2025550143")
    assert (r.status_code, r.json()) == (400, {"error": "phone_code must be digits"})
    r = eng.agent("dial", token, phone_number="3125556666", alt_dial="MAIN!!2025550143")
    assert r.status_code == 400
    r = eng.agent("dispo", token, status="A!2030-01-01 10:00:00!USERONLY!x")
    assert r.status_code in (400, 409)
    assert db.row("vicidial_live_agents", user="1000")["external_dial"] == ""


@pytest.mark.parametrize("body", [
    "[" * 100_000,
    '{"ingroups": 5}',
    '{"ingroups": [1, {"a": 2}]}',
    '{"status": {"x": 1}}',
    '{"phone_number": ["1"]}',
])
def test_malformed_json_is_a_400(eng, db, body):
    """L1: deep nesting, numbers and objects where text belongs are refused, never a 500."""
    token = eng.login()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for path in ("/agent/login", "/agent/dial", "/agent/dispo", "/agent/pause", "/console/api/ingroups",
                 "/console/api/transfer", "/console/api/dtmf"):
        r = eng.client.post(path, content=body, headers=headers)
        assert r.status_code < 500 and isinstance(r.json(), dict), (path, r.status_code, r.text)
    r = eng.client.post("/agent/dial", content=body, headers=headers)
    assert r.status_code == 400 if body.startswith("[") or "phone_number" in body else r.status_code < 500


def test_event_streams_are_limited_per_session(eng, db):
    """M7: one token cannot open thousands of streams; a closed stream gives its slot back."""
    token = eng.login()
    headers = {"Authorization": f"Bearer {token}"}
    limit = eng.services.settings.streams_per_session
    with httpx.Client(base_url=eng.server.base_url, timeout=30) as client:
        streams = [client.stream("GET", "/agent/events", headers=headers) for _ in range(limit)]
        opened = [s.__enter__() for s in streams]
        assert all(r.status_code == 200 for r in opened)
        assert client.get("/agent/events", headers=headers).status_code == 429
        assert client.get("/console/api/events", headers=headers).status_code == 429
        streams[0].__exit__(None, None, None)
        for s in streams[1:]:
            s.__exit__(None, None, None)
    from tests.engine.conftest import wait_for

    wait_for(lambda: not eng.services.streams.open, what="stream slots released")
    with eng.client.stream("GET", "/agent/events", headers=headers) as r:
        assert r.status_code == 200
