"""The lockout: atomic under concurrency, per user and source, and the user-wide lock for distributed attacks."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa

from tests.support import AUTH

BAD_LINE = "ERROR: Invalid Username/Password: |6666|\n"
OK_LINE = "ERROR: agent_user is not logged in - 1000\n"


def _try(client: httpx.Client, password: str, source: str | None = None) -> str:
    headers = {"X-Forwarded-For": source} if source else {}
    params = AUTH | {"pass": password, "function": "external_pause", "agent_user": "1000", "value": "PAUSE"}
    return client.get("/agc/api.php", params=params, headers=headers).text


def _codes_of(rows: list[dict]) -> list[str]:
    return [row["data"].split("|")[1] for row in rows]


def _codes(db) -> list[str]:
    return _codes_of(db.logs())


def test_forty_concurrent_failures_hold_at_exactly_the_threshold(api, db, backend):
    """M1: 40 wrong passwords at once count exactly 10; the right password is refused afterwards."""
    with httpx.Client(base_url=backend.server.base_url, timeout=60) as client, ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(lambda _: _try(client, "wrong"), range(40)))
    assert answers == [BAD_LINE] * 40
    assert sorted(_codes(db)) == ["BAD"] * 10 + ["LOCK"] * 30
    assert db.row("openagc_login_failures", user="6666")["failures"] == 10
    assert db.row("vicidial_users", user="6666")["failed_login_count"] == 10
    assert _try(backend.client, "1234") == BAD_LINE
    assert _codes(db)[-1] == "LOCK"


def test_right_password_inside_a_concurrent_attack_never_passes_a_lock(api, db, backend):
    """M1: a right password racing 40 wrong ones succeeds only if it came before the 10th failure."""
    with httpx.Client(base_url=backend.server.base_url, timeout=60) as client, ThreadPoolExecutor(41) as pool:
        jobs = [pool.submit(_try, client, "wrong") for _ in range(30)]
        good = pool.submit(_try, client, "1234")
        jobs += [pool.submit(_try, client, "wrong") for _ in range(10)]
        assert all(j.result() == BAD_LINE for j in jobs)
        outcome = good.result()
    rows = db.logs()
    if outcome == OK_LINE:  # served while fewer than 10 failures stood; it cleared them
        at = next(i for i, row in enumerate(rows) if not row["data"].startswith("6666|"))
        before, after = _codes_of(rows[:at]), _codes_of(rows[at + 1:])
        assert before.count("BAD") < 10 and after.count("BAD") <= 10
    else:
        assert outcome == BAD_LINE and _codes_of(rows).count("BAD") == 10
    assert db.row("openagc_login_failures", user="6666")["failures"] <= 10


def test_an_outsider_cannot_lock_the_integration_out(api, db, backend):
    """M2: ten failures from another address lock that address only; the integration keeps working."""
    for _ in range(12):
        assert _try(backend.client, "wrong", source="203.0.113.9") == BAD_LINE
    assert _try(backend.client, "1234", source="203.0.113.9") == BAD_LINE  # the attacker's source is locked
    assert db.logs()[-1]["data"] == "6666|LOCK|"
    assert _try(backend.client, "1234") == OK_LINE  # the integration (another source) is not
    assert _try(backend.client, "1234", source="198.51.100.7") == OK_LINE


def test_ipv6_sources_are_counted_per_64(api, db, backend):
    """One /64 is one source: hopping addresses inside it does not buy more guesses."""
    for i in range(10):
        _try(backend.client, "wrong", source=f"2001:db8:1:2::{i + 1:x}")
    assert db.row("openagc_login_failures", user="6666")["source"] == "2001:db8:1:2::/64"
    assert _try(backend.client, "1234", source="2001:db8:1:2::ffff") == BAD_LINE
    assert _try(backend.client, "1234", source="2001:db8:1:3::1") == OK_LINE


def test_a_distributed_attack_locks_the_user_everywhere(api, db, backend):
    """Fifty failures from five sources (ten each) lock the user for every source, for 15 minutes."""
    for n in range(5):
        for _ in range(10):
            _try(backend.client, "wrong", source=f"192.0.2.{n + 1}")
    assert db.row("vicidial_users", user="6666")["failed_login_count"] == 50
    assert _try(backend.client, "1234") == BAD_LINE
    assert _try(backend.client, "1234", source="198.51.100.7") == BAD_LINE
    backend.services.clock.advance(15 * 60 + 1)
    assert _try(backend.client, "1234", source="198.51.100.7") == OK_LINE


def test_failures_during_a_lock_neither_count_nor_extend_it(api, db, backend):
    for _ in range(10):
        _try(backend.client, "wrong")
    backend.services.clock.advance(10 * 60)
    for _ in range(5):
        _try(backend.client, "wrong")
    assert db.row("openagc_login_failures", user="6666")["failures"] == 10
    backend.services.clock.advance(5 * 60 + 1)
    assert _try(backend.client, "1234") == OK_LINE


def test_a_user_with_old_failures_signs_in_from_a_clean_source_without_touching_the_failures_table(
        api, db, backend):
    """Upstream never resets an API user's failed_login_count; a right password from a source with no failures on
    record then reads the failures table only beside the caller's row, in the same statement (no delete, no read of
    its own on every request), and is still refused while the user-wide lock holds."""
    statements: list[str] = []

    def seen(_conn, _cursor, statement: str, *_args) -> None:  # noqa: ANN001
        statements.append(statement.lstrip().upper())

    db.update("vicidial_users", {"user": "6666"}, failed_login_count=3)
    target = backend.services.db.engine.sync_engine
    sa.event.listen(target, "before_cursor_execute", seen)
    try:
        assert _try(backend.client, "1234") == OK_LINE
    finally:
        sa.event.remove(target, "before_cursor_execute", seen)
    failures_table = [s for s in statements if "OPENAGC_LOGIN_FAILURES" in s]
    assert len(failures_table) == 1  # one look for this source's failures: the read of the caller's row
    assert failures_table[0].startswith("SELECT") and "FROM VICIDIAL_USERS LEFT OUTER JOIN OPENAGC_LOGIN_FAILURES" in (
        " ".join(failures_table[0].split()))
    db.update("vicidial_users", {"user": "6666"}, failed_login_count=50, last_login_date=backend.services.clock.now())
    assert _try(backend.client, "1234") == BAD_LINE and db.logs()[-1]["data"] == "6666|LOCK|"
