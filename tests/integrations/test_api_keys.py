"""API keys (`integrations/keys.py`) through real requests on both databases: a key drives api.php as its user with
every check after the password, a dead key is bad credentials that count towards no lockout, the key is stored
hashed and never logged, and `openagc keys` makes, lists and revokes keys."""

from __future__ import annotations

import hashlib

import pytest

from openagc.integrations import keys
from tests.cli_support import clean_env, openagc
from tests.support import FROZEN_AT, log_of

PAUSE = {"source": "test", "function": "external_pause", "agent_user": "1000", "value": "PAUSE"}
PAUSED = "SUCCESS: external_pause function set - PAUSE|1768473000|1000\n"
BAD = "ERROR: Invalid Username/Password: ||\n"


def make_key(backend, user: str = "6666", name: str = "", rate: int | None = None) -> tuple[int, str]:
    with backend.sync.begin() as conn:
        return keys.create(conn, user=user, name=name, rate=rate)


def keyed(api, token: str, params: dict, method: str = "GET"):
    headers = {"Authorization": f"Bearer {token}"}
    if method == "POST":
        return api.client.post("/agc/api.php", data=params, headers=headers)
    return api.client.get("/agc/api.php", params=params, headers=headers)


def failures(db) -> tuple:
    """Everything a failed password would change for user 6666."""
    user = db.row("vicidial_users", user="6666")
    return (user["failed_login_count"], user["failed_login_attempts_today"], user["failed_last_type_today"],
            db.count("openagc_login_failures"))


def test_a_key_drives_an_agent_as_a_password_does(api, db, login, backend):
    login("1000")
    by_password = api.get(**PAUSE)
    assert by_password.text == PAUSED
    column = db.row("vicidial_live_agents", user="1000")["external_pause"]
    password_log = db.last_log()
    db.update("vicidial_live_agents", {"user": "1000"}, external_pause="")
    key_id, token = make_key(backend, name="crm")

    # `user` and `pass` are not looked at: the key's user acts, and the wrong password counts nowhere
    by_key = keyed(api, token, PAUSE | {"user": "1001", "pass": "wrong"})
    assert (by_key.status_code, by_key.text) == (200, PAUSED)
    assert db.row("vicidial_live_agents", user="1000")["external_pause"] == column
    key_log = db.last_log()
    assert key_log["api_id"] != password_log["api_id"]
    assert log_of(key_log) == log_of(password_log) and key_log["user"] == "6666"
    assert [r["user"] for r in db.rows("openagc_commands", order_by="command_id")] == ["1000", "1000"]
    assert db.row("vicidial_users", user="1001")["failed_login_count"] == 0
    assert db.row("openagc_api_keys", key_id=key_id)["last_used"] == FROZEN_AT

    as_json = keyed(api, token, PAUSE | {"format": "json"}, method="POST")
    doc = as_json.json()
    assert (doc["result"], doc["reason"], doc["details"]) == (
        "SUCCESS", "external_pause function set", ["PAUSE", "1768473000", "1000"])
    assert db.row("openagc_commands", command_id=doc["command_id"])["user"] == "1000"


@pytest.mark.parametrize("how", ["revoked", "wrong secret", "unknown id", "not a key"])
def test_a_dead_key_is_bad_credentials_and_changes_nothing(api, db, login, backend, how):
    login("1000")
    key_id, token = make_key(backend)
    if how == "revoked":
        with backend.sync.begin() as conn:
            assert keys.revoke(conn, key_id) is None
    public_id = token.split("_")[1]
    token = {"revoked": token, "wrong secret": f"oagc_{public_id}_{'x' * 43}",
             "unknown id": f"oagc_000000000000_{token.split('_', 2)[2]}", "not a key": "1234"}[how]
    before = failures(db)
    for _ in range(12):  # more than the lockout's 10: none of them is counted
        r = keyed(api, token, PAUSE | {"user": "6666", "pass": "1234"})
        assert (r.status_code, r.text) == (200, BAD)
    assert failures(db) == before
    assert db.row("vicidial_live_agents", user="1000")["external_pause"] == ""
    assert db.count("openagc_commands") == 0
    log = db.last_log()
    assert (log["user"], log["result"], log["result_reason"], log["data"]) == (
        "", "ERROR", "Invalid Username/Password", "|BADKEY|")
    assert db.row("openagc_api_keys", key_id=key_id)["last_used"] is None
    doc = keyed(api, token, PAUSE | {"format": "json"}).json()
    assert (doc["result"], doc["reason"]) == ("ERROR", "Invalid Username/Password")
    assert api.get(**PAUSE).text == PAUSED  # the password still works: nothing was locked


def test_a_key_without_the_function_is_refused_as_upstream_refuses_the_user(api, db, login, backend):
    login("1000")
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" external_status ")
    _, token = make_key(backend)
    r = keyed(api, token, PAUSE)
    assert r.text == ("ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - "
                      "PAUSE|6666|external_pause|ADMIN\n")
    assert db.row("vicidial_live_agents", user="1000")["external_pause"] == ""
    assert db.last_log()["result_reason"] == "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION"


@pytest.mark.parametrize(("arrange", "data"), [
    ({"vicidial_users": {"active": "N"}}, "6666|BAD|"),
    ({"vicidial_users": {"user_level": 0}}, "6666|BAD|"),
    ({"vicidial_users": {"vdc_agent_api_access": "0"}}, "6666|GOOD|"),
    ({"servers": {"active": "N"}}, "6666|ERRSERVERS|"),
    ({"system_settings": {"allow_ip_lists": "1"}, "vicidial_user_groups": {"api_ip_list": "APILIST"}},
     "6666|IPBLOCK|"),
])
def test_a_key_keeps_every_check_after_the_password(api, db, login, backend, arrange, data):
    login("1000")
    _, token = make_key(backend)
    for table, values in arrange.items():
        where = {"user": "6666"} if table == "vicidial_users" else {
            "user_group": "ADMIN"} if table == "vicidial_user_groups" else {}
        db.update(table, where, **values)
    db.insert("vicidial_ip_list_entries", ip_list_id="APILIST", ip_address="10.9.9.9")
    assert keyed(api, token, PAUSE).text == "ERROR: Invalid Username/Password: |6666|\n"
    assert db.last_log()["data"] == data
    assert db.row("vicidial_users", user="6666")["failed_login_count"] == 0  # never counted towards the lockout
    assert db.count("openagc_login_failures") == 0
    assert db.row("vicidial_live_agents", user="1000")["external_pause"] == ""


def test_the_key_is_stored_hashed_and_never_logged(api, db, login, backend):
    login("1000")
    key_id, token = make_key(backend, name="crm", rate=50)
    secret = token.split("_", 2)[2]
    keyed(api, token, PAUSE)
    keyed(api, token, PAUSE | {"format": "json", "value": "RESUME"}, method="POST")
    keyed(api, token, PAUSE | {"function": "nosuch"})
    keyed(api, token + "x", PAUSE)
    assert db.count("vicidial_api_log") == 3  # the unknown function logs nothing, as upstream
    row = db.row("openagc_api_keys", key_id=key_id)
    assert row["secret_sha256"] == hashlib.sha256(secret.encode()).hexdigest()
    assert (row["user"], row["name"], row["rate"], row["public_id"]) == ("6666", "crm", 50, token.split("_")[1])
    for table in ("openagc_api_keys", "vicidial_api_log", "vicidial_api_urls", "openagc_commands"):
        for stored in db.rows(table):
            text = " ".join(str(v) for v in stored.values())
            assert secret not in text and secret[:16] not in text, table


def test_keys_from_the_command_line(api, db, login, backend, tmp_path):
    login("1000")
    made = openagc("keys", "create", "--user", "6666", "--name", "crm", "--rate", "30", "-d", backend.url,
                   cwd=tmp_path, env=clean_env())
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert made.stdout == token + "\n" and keys.parse(token) is not None
    key_id = db.row("openagc_api_keys", public_id=token.split("_")[1])["key_id"]
    assert made.stderr == f"key {key_id} for user 6666: store it now, it is not shown again\n"
    assert keyed(api, token, PAUSE).text == PAUSED

    listed = openagc("keys", "list", "-d", backend.url, cwd=tmp_path, env=clean_env())
    head, line = listed.stdout.splitlines()
    assert head.split() == ["id", "user", "name", "prefix", "created", "last", "used", "revoked", "rate"]
    created = db.row("openagc_api_keys", key_id=key_id)["created"]
    assert line.split() == [str(key_id), "6666", "crm", f"oagc_{token.split('_')[1]}", *str(created).split(),
                            *str(FROZEN_AT).split(), "-", "30/min"]
    assert token.split("_", 2)[2] not in listed.stdout

    revoked = openagc("keys", "revoke", str(key_id), "-d", backend.url, cwd=tmp_path, env=clean_env())
    assert (revoked.returncode, revoked.stdout) == (0, f"key {key_id} revoked\n")
    assert db.row("openagc_api_keys", key_id=key_id)["revoked"] is not None
    assert keyed(api, token, PAUSE).text == BAD  # at once: nothing caches a key
    again = openagc("keys", "revoke", str(key_id), "-d", backend.url, cwd=tmp_path, env=clean_env())
    assert again.returncode == 0 and again.stdout.startswith(f"key {key_id} was already revoked on ")


@pytest.mark.parametrize(("args", "message"), [
    (["create", "--user", "nobody"], "error: no user 'nobody' in vicidial_users\n"),
    (["create", "--user", "6666", "--rate", "-1"], "error: the rate must be 0 (no limit) or more requests a minute\n"),
    (["create", "--user", "6666", "--name", "n" * 101], "error: the name is longer than 100 characters\n"),
    (["revoke", "99"], "error: no key 99\n"),
])
def test_bad_key_commands_are_one_line_and_change_nothing(backend, db, tmp_path, args, message):
    done = openagc("keys", *args, "-d", backend.url, cwd=tmp_path, env=clean_env())
    assert (done.returncode, done.stdout, done.stderr) == (1, "", message)
    assert db.count("openagc_api_keys") == 0


def test_integrator_endpoints_accept_keys(api, db, backend):
    key_id, token = make_key(backend, rate=100)
    r = api.client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"})
    assert (r.status_code, r.json()) == (200, {"webhooks": []})
    assert (r.headers["RateLimit-Limit"], r.headers["RateLimit-Remaining"]) == ("100", "99")
    with backend.sync.begin() as conn:
        keys.revoke(conn, key_id)
    refused = api.client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"})
    assert (refused.status_code, refused.json()) == (401, {"error": "invalid API key"})
    assert "RateLimit-Limit" not in refused.headers


def test_command_status_takes_a_key(api, db, login, backend):
    login("1000")
    _, token = make_key(backend, rate=2)
    bearer = {"Authorization": f"Bearer {token}"}
    command_id = keyed(api, token, PAUSE | {"format": "json"}).json()["command_id"]
    status = api.client.get(f"/agc/commands/{command_id}", headers=bearer)
    assert (status.status_code, status.json()["command_id"], status.json()["state"]) == (200, command_id, "queued")
    assert (status.headers["RateLimit-Remaining"], status.headers["Cache-Control"]) == ("0", "no-store")
    refused = api.client.get(f"/agc/commands/{command_id}", headers=bearer)
    assert (refused.status_code, refused.json(), refused.headers["Retry-After"]) == (
        429, {"error": "rate limit exceeded - retry in 30 seconds"}, "30")
    dead = api.client.get(f"/agc/commands/{command_id}", headers={"Authorization": f"Bearer {token}x"})
    assert (dead.status_code, dead.json()) == (401, {"error": "invalid API key"})
    assert db.row("vicidial_users", user="6666")["failed_login_count"] == 0
