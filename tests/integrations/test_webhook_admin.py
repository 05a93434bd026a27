"""Managing webhook subscriptions, on both databases: `/api/v1/webhooks` through the live server (who may, what a
refusal leaves unchanged) and `openagc webhooks` through the command line; the signature scheme itself."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from openagc.cli import app
from openagc.integrations import keys
from openagc.integrations.agent_events import KINDS
from openagc.integrations.webhooks import signing
from tests.integrations.webhook_support import SECRET, Centre, Receiver, state, verify

URL = "http://127.0.0.1:9/hook"
ADMIN = ("6666", "1234")
AGENT = ("1000", "1234")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def hooks(db) -> list[dict]:
    return db.rows("openagc_webhooks", order_by="webhook_id")


# --- the signature -------------------------------------------------------------------------------------------------

def test_signatures_follow_the_standard_webhooks_specification():
    # The specification's own example (its reference libraries are tested against it).
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    assert signing.signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}') == \
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    headers = signing.headers(SECRET, "42", 1700000000, b"{}")
    assert headers == {"webhook-id": "42", "webhook-timestamp": "1700000000", "content-type": "application/json",
                       "webhook-signature": "v1," + base64.b64encode(hmac.new(
                           base64.b64decode(SECRET[6:]), b"42.1700000000.{}", hashlib.sha256).digest()).decode()}


def test_new_secrets_are_random_32_byte_keys_and_bad_ones_are_refused():
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second and first.startswith("whsec_") and len(signing.key_of(first)) == 32
    for bad, why in [("abc", "must start with whsec_"), ("whsec_!!!", "followed by base64"),
                     ("whsec_" + base64.b64encode(b"short").decode(), "must be 24 to 64 bytes (it is 5)")]:
        with pytest.raises(signing.SecretError, match=why.replace("(", r"\(").replace(")", r"\)")):
            signing.key_of(bad)


# --- /api/v1/webhooks ----------------------------------------------------------------------------------------------

def test_an_admin_creates_lists_enables_and_removes_its_subscriptions(backend, db, api):
    client = backend.client
    centre = Centre(backend.url)
    try:
        centre.append(state(), state())  # a subscription starts after what the log already holds
    finally:
        centre.close()
    created = client.post("/api/v1/webhooks", auth=ADMIN, json={
        "url": URL, "kinds": ["agent.state", "call.answered"], "campaigns": ["TESTCAMP"], "agents": ["1000"]})
    assert created.status_code == 201
    body = created.json()
    secret, hook = body.pop("secret"), body["id"]
    assert len(signing.key_of(secret)) == 32
    assert body == {"id": hook, "url": URL, "owner": "6666", "active": True, "kinds": ["agent.state", "call.answered"],
                    "campaigns": ["TESTCAMP"], "user_groups": None, "agents": ["1000"], "last_event_id": 2,
                    "failures": 0, "next_attempt": None, "delivered": 0, "failed": 0, "created": body["created"],
                    "disabled": None, "disabled_reason": ""}
    row = hooks(db)[0]
    assert (row["secret"], row["kinds"], row["campaigns"], row["user_groups"], row["agents"], row["owner"]) == (
        secret, "agent.state call.answered", "TESTCAMP", "", "1000", "6666")

    given = client.post("/api/v1/webhooks", auth=ADMIN, json={"url": URL + "2", "secret": SECRET})
    assert given.status_code == 201 and given.json()["secret"] == SECRET and given.json()["kinds"] is None

    listed = client.get("/api/v1/webhooks", auth=ADMIN)
    assert listed.status_code == 200
    assert [h["id"] for h in listed.json()["webhooks"]] == [hook, given.json()["id"]]
    assert "secret" not in listed.text and secret not in listed.text and SECRET not in listed.text

    db.update("openagc_webhooks", {"webhook_id": hook}, active="N", failures=20, disabled_ms=5,
              disabled_reason="20 failures in a row (last: HTTP 500)", next_attempt_ms=9)
    enabled = client.post(f"/api/v1/webhooks/{hook}/enable", auth=ADMIN)
    assert enabled.status_code == 200
    assert {k: enabled.json()[k] for k in ("active", "failures", "disabled", "disabled_reason", "next_attempt",
                                            "last_event_id")} == {
        "active": True, "failures": 0, "disabled": None, "disabled_reason": "", "next_attempt": None,
        "last_event_id": 2}
    assert (hooks(db)[0]["active"], hooks(db)[0]["failures"]) == ("Y", 0)

    db.insert("openagc_webhook_attempts", webhook_id=hook, event_id=3, attempt=1, attempted_ms=1, status=500,
              error="HTTP 500", duration_ms=3, dispatcher="x")
    removed = client.delete(f"/api/v1/webhooks/{hook}", auth=ADMIN)
    assert (removed.status_code, removed.json()) == (200, {"id": hook, "removed": True})
    assert [h["webhook_id"] for h in hooks(db)] == [given.json()["id"]]
    assert db.count("openagc_webhook_attempts") == 0


def test_an_api_key_of_an_admin_manages_webhooks_too(backend, db):
    with backend.sync.begin() as conn:
        _key_id, token = keys.create(conn, user="6666")
    created = backend.client.post("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"},
                                  json={"url": URL})
    assert created.status_code == 201 and created.json()["owner"] == "6666"
    assert [h["owner"] for h in hooks(db)] == ["6666"]


@pytest.mark.parametrize(("auth", "status", "error"), [
    (None, 401, "authentication required"),
    (("6666", "wrong"), 401, "invalid user or password"),
    (AGENT, 403, "managing webhooks needs user_level 8 or more"),
])
def test_callers_who_may_not_manage_webhooks_change_nothing(backend, db, auth, status, error):
    hook = db.insert("openagc_webhooks", url=URL, owner="6666", secret=SECRET, created_ms=1, active="N", failures=20)
    before = hooks(db)
    requests = [("GET", "/api/v1/webhooks", None), ("POST", "/api/v1/webhooks", {"url": URL}),
                ("DELETE", f"/api/v1/webhooks/{hook}", None), ("POST", f"/api/v1/webhooks/{hook}/enable", None)]
    for method, path, payload in requests:
        answer = backend.client.request(method, path, auth=auth, json=payload)
        assert (answer.status_code, answer.json()) == (status, {"error": error}), (method, path)
        if status == 401:
            assert answer.headers["www-authenticate"] == 'Basic realm="openagc", Bearer'
    assert hooks(db) == before


@pytest.mark.parametrize(("payload", "error"), [
    (b"not json", "the body is not JSON"),
    (b"[1]", 'expected a JSON object, e.g. {"url": "https://example.com/hook"}'),
    (b"{}", "url is required: the http:// or https:// address events are POSTed to"),
    (b'{"url": "ftp://example.com/x"}', "url 'ftp://example.com/x' must be an absolute http:// or https:// URL"),
    (b'{"url": "/relative"}', "url '/relative' must be an absolute http:// or https:// URL"),
    (b'{"url": "http://a:99999/"}', "url 'http://a:99999/' is not a URL (a space, or a port out of range)"),
    (b'{"url": "http://a b/"}', "url 'http://a b/' is not a URL (a space, or a port out of range)"),
    (b'{"url": "http://x/", "events": ["a"]}', "unknown field events (known: url, secret, kinds, campaigns, "
                                               "user_groups, agents)"),
    (b'{"url": "http://x/", "kinds": []}', "kinds: give at least one value, or leave it out for any"),
    (b'{"url": "http://x/", "kinds": "agent.state"}', "kinds must be a list of values"),
    (b'{"url": "http://x/", "kinds": ["agent.state", "agent.sate"]}',
     f"kinds: unknown event type agent.sate (known: {', '.join(sorted(KINDS))})"),
    (b'{"url": "http://x/", "campaigns": ["TOOLONGCAMP"]}',
     "campaigns: 'TOOLONGCAMP' is not a value of up to 8 letters, digits, _ . : @ or -"),
    (b'{"url": "http://x/", "agents": ["a b"]}', "agents: 'a b' is not a value of up to 20 letters, digits, _ . : @ "
                                                 "or -"),
    (b'{"url": "http://x/", "secret": "hunter2"}',
     "the secret must start with whsec_ (leave the secret out to have one generated)"),
])
def test_bad_input_is_a_clear_400_and_creates_nothing(backend, db, payload, error):
    answer = backend.client.post("/api/v1/webhooks", auth=ADMIN, content=payload,
                                 headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()) == (400, {"error": error})
    assert hooks(db) == []


def test_an_admin_who_may_not_read_events_cannot_subscribe(backend, db):
    db.update("vicidial_users", {"user": "6666"}, view_reports="0")
    answer = backend.client.post("/api/v1/webhooks", auth=ADMIN, json={"url": URL})
    assert (answer.status_code, answer.json()) == (
        403, {"error": "user '6666' may not read events (user level 7 or more with view_reports)"})
    assert hooks(db) == []


def test_another_owners_subscription_is_not_found(backend, db):
    db.insert("vicidial_users", **{"user": "7777", "pass": "1234", "user_level": 9, "user_group": "ADMIN",
                                   "active": "Y", "vdc_agent_api_access": "1", "view_reports": "1"})
    hook = db.insert("openagc_webhooks", url=URL, owner="7777", secret=SECRET, created_ms=1, active="N", failures=20)
    before = hooks(db)
    assert backend.client.get("/api/v1/webhooks", auth=ADMIN).json() == {"webhooks": []}
    for method, path in [("DELETE", f"/api/v1/webhooks/{hook}"), ("POST", f"/api/v1/webhooks/{hook}/enable"),
                         ("DELETE", f"/api/v1/webhooks/{hook + 1}")]:
        answer = backend.client.request(method, path, auth=ADMIN)
        assert (answer.status_code, answer.json()) == (404, {"error": f"no webhook {path.split('/')[4]}"})
    assert hooks(db) == before
    mine = backend.client.get("/api/v1/webhooks", auth=("7777", "1234")).json()["webhooks"]
    assert [h["id"] for h in mine] == [hook]


# --- openagc webhooks ----------------------------------------------------------------------------------------------

def cli(backend, *args: str):
    return CliRunner().invoke(app, ["webhooks", *args, "--database", backend.url])


def test_the_command_line_adds_lists_tests_enables_and_removes(backend, db, receiver):
    added = cli(backend, "add", receiver.url(), "--owner", "6666", "--kind", "agent.state", "--kind", "call.ended",
                "--agent", "1000")
    assert added.exit_code == 0, added.output
    (row,) = hooks(db)
    hook, secret = row["webhook_id"], row["secret"]
    assert added.output == (f"webhook {hook} added: events after 0 go to {receiver.url()}\n"
                            f"secret (shown only now; receivers verify signatures with it): {secret}\n")
    assert len(signing.key_of(secret)) == 32

    listed = cli(backend, "list")
    assert listed.exit_code == 0
    assert listed.output == (f"#{hook} on {receiver.url()} owner=6666 kinds=agent.state,call.ended campaigns=* "
                             "user_groups=* agents=1000 cursor=0 delivered=0 failed=0 failures=0\n")
    assert secret not in listed.output

    tested = cli(backend, "test", str(hook))
    assert tested.exit_code == 0, tested.output
    assert tested.output.startswith(f"webhook {hook}: {receiver.url()} answered HTTP 200 in ")
    (got,) = receiver.got()
    assert verify(secret, got.headers, got.body) and got.headers["webhook-id"].startswith("test-")
    assert got.body.startswith(b'{"id":0,"type":"webhook.test","time":"') and got.body.endswith(
        b'"agent":"","campaign":"","user_group":"","data":{"webhook":%d}}' % hook)
    (attempt,) = db.rows("openagc_webhook_attempts")
    assert (attempt["event_id"], attempt["attempt"], attempt["status"], attempt["dispatcher"]) == (
        0, 1, 200, "openagc webhooks test")

    db.update("openagc_webhooks", {"webhook_id": hook}, active="N", failures=20, disabled_ms=1_700_000_000_000,
              disabled_reason="20 failures in a row (last: HTTP 500)", delivered=4, failed=20, last_event_id=4)
    assert cli(backend, "list").output.endswith(
        "cursor=4 delivered=4 failed=20 failures=20 disabled=2023-11-14T22:13:20.000+00:00 (20 failures in a row "
        "(last: HTTP 500))\n")
    enabled = cli(backend, "enable", str(hook))
    assert (enabled.exit_code, enabled.output) == (0, f"webhook {hook} enabled: delivery resumes after event 4\n")
    assert (hooks(db)[0]["active"], hooks(db)[0]["failures"], hooks(db)[0]["disabled_ms"]) == ("Y", 0, None)

    removed = cli(backend, "remove", str(hook))
    assert (removed.exit_code, removed.output) == (0, f"webhook {hook} removed\n")
    assert hooks(db) == [] and db.count("openagc_webhook_attempts") == 0
    assert cli(backend, "list").output == "no webhooks\n"


@pytest.mark.parametrize(("args", "error"), [
    (("add", "ftp://x/", "--owner", "6666"), "url 'ftp://x/' must be an absolute http:// or https:// URL"),
    (("add", URL, "--owner", "nobody"), "no user 'nobody'"),
    (("add", URL, "--owner", "1000"), "user '1000' may not read events (user level 7 or more with view_reports)"),
    (("add", URL, "--owner", "6666", "--secret", "abc"),
     "the secret must start with whsec_ (leave the secret out to have one generated)"),
    (("add", URL, "--owner", "6666", "--campaign", "TOOLONGCAMP"),
     "campaigns: 'TOOLONGCAMP' is not a value of up to 8 letters, digits, _ . : @ or -"),
    (("remove", "{other}"), "no webhook {other}"),
    (("enable", "{other}"), "no webhook {other}"),
    (("test", "{other}"), "no webhook {other}"),
])
def test_the_command_line_refuses_bad_input_in_one_line_and_changes_nothing(backend, db, args, error):
    hook = db.insert("openagc_webhooks", url=URL, owner="6666", secret=SECRET, created_ms=1)
    before = hooks(db)
    done = cli(backend, *(a.format(other=hook + 1) for a in args))
    assert (done.exit_code, done.output) == (1, f"error: {error.format(other=hook + 1)}\n")
    assert hooks(db) == before


def test_a_test_delivery_that_fails_says_why_and_is_logged(backend, db):
    hook = db.insert("openagc_webhooks", url=URL, owner="6666", secret=SECRET, created_ms=1)
    done = cli(backend, "test", str(hook))
    assert done.exit_code == 1
    assert done.output.startswith(f"error: webhook {hook}: the test delivery to {URL} failed: ConnectError")
    (attempt,) = db.rows("openagc_webhook_attempts")
    assert (attempt["event_id"], attempt["status"], attempt["error"][:12]) == (0, None, "ConnectError")
    assert (hooks(db)[0]["failures"], hooks(db)[0]["failed"]) == (0, 0)  # a test is not a delivery
