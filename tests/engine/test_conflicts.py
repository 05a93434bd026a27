"""A retryable conflict inside an engine transaction runs the whole transaction again: the command applies once."""

from __future__ import annotations

import logging

from tests.api.test_conflicts import conflicts_on
from tests.engine.conftest import wait_for


def test_a_conflict_in_the_engine_transaction_applies_the_command_once(eng, db, agent_api, caplog):
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["status"] in ("READY", "CLOSER"), what="ready")
    eng.settle()
    logs = len(db.rows("vicidial_agent_log", user="1000"))
    retries = getattr(eng.services.db, "retries", 0)
    caplog.set_level(logging.INFO)
    # the engine's PAUSE opens a new agent log row: its insert meets a deadlock once
    with conflicts_on(eng.services.db, "INSERT INTO VICIDIAL_AGENT_LOG", times=1) as seen:
        assert agent_api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
        wait_for(lambda: db.row("vicidial_live_agents", user="1000")["status"] == "PAUSED", what="paused")
        eng.settle()
    assert len(seen) == 2
    row = db.row("vicidial_live_agents", user="1000")
    assert row["external_pause"] == "" and row["agent_log_id"] == max(
        r["agent_log_id"] for r in db.rows("vicidial_agent_log", user="1000"))
    assert len(db.rows("vicidial_agent_log", user="1000")) == logs + 1  # one new row, not two
    assert eng.services.db.retries == retries + 1
    assert eng.state(token)["phase"] == "PAUSED"
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert failures == []  # handled by the retry, not by the sweep after an error


def test_a_conflict_in_an_agent_side_write_is_retried_not_a_500(eng, db):
    """`/agent/` writes its command and the command's record in one transaction, rerun whole on a conflict."""
    token = eng.login()
    with conflicts_on(eng.services.db, "INSERT INTO OPENAGC_COMMANDS", times=1) as seen:
        r = eng.agent("ready", token)
    assert r.status_code == 200, r.text
    assert len(seen) == 2  # the failed attempt and the one that committed
    records = db.rows("openagc_commands", command="external_pause")
    assert [(c["source"], c["state"]) for c in records] == [("agent", "applied")]  # one record, applied once
    assert r.json()["state"]["phase"] in ("READY", "CLOSER")


def test_a_conflict_past_the_bound_in_a_console_write_is_a_503_with_nothing_written(eng, db):
    token = eng.login()
    attempts = eng.services.db.attempts
    headers = {"Authorization": f"Bearer {token}"}
    with conflicts_on(eng.services.db, "INSERT INTO OPENAGC_COMMANDS", times=attempts):
        r = eng.client.post("/console/api/dtmf", json={"digits": "12"}, headers=headers)
    assert r.status_code == 503 and r.json() == {"error": "database busy, try again"}
    assert db.rows("openagc_commands") == [] and db.row("vicidial_live_agents", user="1000")["external_dtmf"] == ""


def test_a_retried_transfer_is_not_refused_by_its_own_rolled_back_attempt(eng, db, agent_api):
    """The rolled-back attempt had moved the agent's in-memory transfer to DIALING; the rerun must not see that
    ("transfer in progress") but dial the 3rd party, once."""
    from tests.engine.test_session_commands import start_inbound_call
    from tests.engine.test_transfer_commands import THIRD, xfer

    token = eng.login()
    start_inbound_call(eng, db, token)
    with conflicts_on(eng.services.db, "INSERT INTO USER_CALL_LOG", times=1) as seen:
        xfer(agent_api, "DIAL_WITH_CUSTOMER", phone_number=THIRD)
        wait_for(lambda: db.row("openagc_commands", command="external_transferconf")["state"] != "queued")
    assert len(seen) == 2
    record = db.row("openagc_commands", command="external_transferconf")
    assert (record["state"], record["reason"]) == ("applied", "")
    eng.settle()
    assert len([o for o in eng.switch.originates if o.call_id.startswith("DC")]) == 1
    assert db.count("user_call_log", call_type="XFER_3WAY") == 1
