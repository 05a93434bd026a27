"""Upstream's `vicidial_users.failed_*_today` columns: what each refusal writes (spec/api-common.md §10.5–10.6).

Every refusal adds one to `failed_login_attempts_today` and sets `failed_last_type_today`; only a BAD one adds to
`failed_login_count_today` and writes the client's address into `failed_last_ip_today`. A LOCK, ERRSERVERS or
IPBLOCK refusal leaves the last failing address as it was (here a marker set beforehand).
"""

from __future__ import annotations

MARK = "10.1.2.3"
REFUSED = "ERROR: Invalid Username/Password: |6666|\n"


def _call(api, password: str) -> str:
    return api.get("external_hangup", auth=False, source="test", user="6666", agent_user="1000", value="1",
                   **{"pass": password}).text


def _today(db) -> tuple:
    row = db.row("vicidial_users", user="6666")
    return (row["failed_login_attempts_today"], row["failed_login_count_today"], row["failed_last_type_today"],
            row["failed_last_ip_today"])


def test_a_bad_password_writes_the_client_address(api, db):
    db.update("vicidial_users", {"user": "6666"}, failed_last_ip_today=MARK)
    assert _call(api, "wrong") == REFUSED
    assert _today(db) == (1, 1, "01cBAD", "127.0.0.1")


def test_a_lock_refusal_writes_no_address(api, db):
    for _ in range(10):
        assert _call(api, "wrong") == REFUSED
    assert _today(db) == (10, 10, "01cBAD", "127.0.0.1")
    db.update("vicidial_users", {"user": "6666"}, failed_last_ip_today=MARK)
    assert _call(api, "1234") == REFUSED
    assert db.last_log()["data"] == "6666|LOCK|"
    assert _today(db) == (11, 10, "03cLOCK", MARK)


def test_an_errservers_refusal_writes_no_address(api, db):
    db.update("vicidial_users", {"user": "6666"}, failed_last_ip_today=MARK)
    db.update("servers", {}, active="N")
    assert _call(api, "1234") == REFUSED
    assert db.last_log()["data"] == "6666|ERRSERVERS|"
    assert _today(db) == (1, 0, "04cERRSERVERS", MARK)


def test_an_ipblock_refusal_writes_no_address(api, db):
    db.update("vicidial_users", {"user": "6666"}, failed_last_ip_today=MARK)
    db.update("system_settings", {}, allow_ip_lists="1")
    db.update("vicidial_user_groups", {"user_group": "ADMIN"}, api_ip_list="APILIST")
    db.insert("vicidial_ip_list_entries", ip_list_id="APILIST", ip_address="10.9.9.9")
    assert _call(api, "1234") == REFUSED
    assert db.last_log()["data"] == "6666|IPBLOCK|"
    assert _today(db) == (1, 0, "04cIPBLOCK", MARK)
