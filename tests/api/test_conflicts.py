"""Retryable database conflicts (deadlock, lock wait timeout, "database is locked") inside a request's transaction.

The whole transaction runs again (bounded, jittered back-off): the caller gets the normal answer, the command
is applied once and the api log has one row. Past the bound the answer is 503 and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from openagc.api.app import BUSY
from openagc.store.database import Database, retryable
from tests.support import Backend, last_log_of, wait_for_lock_waits

LEAD = 87498


def _conflict(dialect: sa.Dialect) -> Exception:
    """The driver's own exception for a retryable conflict on this backend."""
    error = dialect.dbapi.OperationalError
    if dialect.name == "sqlite":
        return error("database is locked")
    return error(1213, "Deadlock found when trying to get lock; try restarting transaction")


@contextmanager
def conflicts_on(db: Database, statement_start: str, times: int) -> Iterator[list[str]]:
    """Make the first `times` statements starting with `statement_start` fail with a retryable conflict."""
    seen: list[str] = []

    def before(conn, _cursor, statement: str, *_args: Any) -> None:  # noqa: ANN001
        if statement.lstrip().upper().startswith(statement_start):
            seen.append(statement)
            if len(seen) <= times:
                raise _conflict(conn.dialect)

    target = db.engine.sync_engine
    sa.event.listen(target, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(target, "before_cursor_execute", before)


def test_classification():
    class MyErr(Exception):
        pass

    assert retryable(sa.exc.OperationalError("x", {}, MyErr(1213, "Deadlock found")))
    assert retryable(sa.exc.OperationalError("x", {}, MyErr(1205, "Lock wait timeout exceeded")))
    assert retryable(sa.exc.OperationalError("x", {}, MyErr(1020, "Record has changed since last read")))
    assert not retryable(sa.exc.OperationalError("x", {}, MyErr(1062, "Duplicate entry")))
    assert not retryable(sa.exc.OperationalError("x", {}, MyErr(2013, "Lost connection")))
    import sqlite3

    assert retryable(sa.exc.OperationalError("x", {}, sqlite3.OperationalError("database is locked")))
    assert not retryable(sa.exc.OperationalError("x", {}, sqlite3.OperationalError("no such table: t")))
    assert not retryable(ValueError("database is locked"))


def test_a_conflict_after_the_log_row_reruns_the_whole_request(api, db, backend: Backend):
    """The conflict hits the api log's URL row, after the function's insert and the log row: both roll back."""
    retries = getattr(backend.services.db, "retries", 0)
    with conflicts_on(backend.services.db, "INSERT INTO VICIDIAL_API_URLS", times=1) as seen:
        r = api.get("send_notification", recipient="6666", recipient_type="USER", notification_text="hi")
    assert r.status_code == 200
    assert len(seen) == 2  # the failed attempt and the one that committed
    [note] = db.rows("vicidial_agent_notifications")  # applied once
    assert r.text == f"SUCCESS: notification queued - 6666|USER|{note['notification_id']}\n"
    assert len(db.logs()) == 1 and len(db.rows("vicidial_api_urls")) == 1
    assert last_log_of(db) == ("send_notification", "6666", "USER", "SUCCESS", "notification queued", "")
    assert backend.services.db.retries == retries + 1


def test_conflicts_past_the_bound_answer_503_and_write_nothing(api, db, backend: Backend):
    attempts = getattr(backend.services.db, "attempts", 5)
    with conflicts_on(backend.services.db, "INSERT INTO VICIDIAL_API_LOG", times=attempts) as seen:
        r = api.get("send_notification", recipient="6666", recipient_type="USER", notification_text="hi")
    assert (r.status_code, r.text, r.headers.get("retry-after")) == (503, BUSY, "1")
    assert len(seen) == attempts
    assert db.rows("vicidial_agent_notifications") == [] and db.logs() == []


def test_a_real_deadlock_with_another_transaction_is_retried(api, db, login, backend: Backend):
    """L2: update_fields locks the lead, then the agent's row; another transaction (the engine's, here the test's)
    holds the agent's row and then asks for the lead. InnoDB kills the lighter one, the request, which runs again."""
    if backend.kind != "mariadb":
        pytest.skip("a natural deadlock needs row locks (SQLite has one writer at a time)")
    login("1000", lead_id=LEAD)
    retries = getattr(backend.services.db, "retries", 0)
    with backend.sync.connect() as other, backend.sync.connect() as admin, ThreadPoolExecutor(1) as pool:
        other.begin()
        # weight: InnoDB rolls back the transaction that changed fewer rows, so this one must be heavier
        other.execute(sa.text("INSERT INTO vicidial_dnc (phone_number) VALUES (:n)"),
                      [{"n": f"99900{i:05d}"} for i in range(200)])
        other.exec_driver_sql("UPDATE vicidial_live_agents SET comments = 'OTHER' WHERE user = '1000'")
        answer = pool.submit(api.get, "update_fields", agent_user="1000", first_name="Ann")
        wait_for_lock_waits(admin, statement="UPDATE vicidial_live_agents")
        other.exec_driver_sql(f"UPDATE vicidial_list SET comments = 'other' WHERE lead_id = {LEAD}")  # the cycle
        other.rollback()
        r = answer.result(timeout=30)
    details = '6666|1000|87498|1|1|first_name|first_name="Ann"|'
    assert (r.status_code, r.text) == (200, f"SUCCESS: update_fields lead updated - {details}\n")
    assert backend.services.db.retries == retries + 1  # the request was the deadlock's victim, once
    assert db.row("vicidial_list", lead_id=LEAD)["first_name"] == "Ann"
    vla = db.row("vicidial_live_agents", user="1000")
    assert (vla["external_update_fields"], vla["external_update_fields_data"]) == ("1", "first_name")
    assert len(db.logs()) == 1
    assert last_log_of(db) == ("update_fields", "1000", "", "SUCCESS", "update_fields lead updated",
                               details.replace('"', "'"))
