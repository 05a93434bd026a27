"""Every command accounted for: a record per command (written with it), a final state with a reason, applied in
the order written, never left in its column to fire later, bounded by a validity; outcomes reach the caller
(`command_id`, `wait`, `GET /agc/commands/{id}`) and the agent's event stream."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from openagc.switch.port import ChannelKind
from tests.engine.conftest import wait_for
from tests.engine.test_session_commands import start_inbound_call, vla
from tests.support import AUTH, Events


def record(db, command_id: int) -> dict:
    return db.row("openagc_commands", command_id=command_id)


def json_call(eng, function: str, **params: str) -> dict:
    r = eng.client.get("/agc/api.php", params=AUTH | {"function": function, "format": "json"} | params)
    assert r.status_code == 200, r.text
    return r.json()


@contextmanager
def engine_held(eng, user: str = "1000") -> Iterator[None]:
    """Hold the agent's engine lock: commands sent meanwhile reach the engine in one wake-up."""
    lock = eng.engine.locks[user]
    eng.run(lock.acquire())
    try:
        yield
    finally:
        eng.call(lock.release)
    eng.settle()


def customer_dials(eng) -> list:
    return [o for o in eng.switch.originates if o.kind == ChannelKind.CUSTOMER]


def test_a_command_has_a_record_from_the_answer_to_its_outcome(eng, db):
    eng.login()
    doc = json_call(eng, "external_pause", agent_user="1000", value="RESUME")
    assert doc["result"] == "SUCCESS" and isinstance(doc["command_id"], int)
    row = record(db, doc["command_id"])
    assert (row["user"], row["command"], row["function"], row["source"]) == (
        "1000", "external_pause", "external_pause", "api")
    assert row["value"].startswith("RESUME!") and row["api_log_id"] == db.row("vicidial_api_log")["api_id"]
    wait_for(lambda: record(db, doc["command_id"])["state"] == "applied")
    assert vla(db)["status"] == "CLOSER"
    r = eng.client.get(f"/agc/commands/{doc['command_id']}", params={"user": "6666", "pass": "1234"})
    assert r.status_code == 200 and r.json()["state"] == "applied" and r.json()["ended_by"] == "engine"
    assert eng.client.get(f"/agc/commands/{doc['command_id']}",
                          params={"user": "6666", "pass": "wrong"}).status_code == 401
    assert eng.client.get("/agc/commands/999999", params={"user": "6666", "pass": "1234"}).status_code == 404


def test_text_replies_are_unchanged(eng, db):
    eng.login()
    r = eng.client.get("/agc/api.php", params=AUTH | {"function": "external_pause", "agent_user": "1000",
                                                       "value": "PAUSE", "wait": "500"})
    assert r.text == "SUCCESS: external_pause function set - PAUSE|1768473000|1000\n"


def test_wait_returns_the_outcome(eng, db):
    eng.login()
    doc = json_call(eng, "external_pause", agent_user="1000", value="PAUSE", wait="5000")
    assert doc["command"]["state"] == "rejected" and doc["command"]["reason"] == "agent is already paused"
    doc = json_call(eng, "external_pause", agent_user="1000", value="RESUME", wait="5000")
    assert doc["command"]["state"] == "applied" and doc["command"]["command_id"] == doc["command_id"]
    # the outcome published at the commit is the record as stored (the engine does not read it back to publish)
    stored = eng.client.get(f"/agc/commands/{doc['command_id']}", params={"user": "6666", "pass": "1234"}).json()
    assert doc["command"] == stored and stored["ended"] and stored["milliseconds"] is not None


def test_dial_and_resume_sent_together_apply_in_the_order_written(eng, db, agent_api):
    eng.login()
    eng.advance(1)
    with engine_held(eng):
        dial = json_call(eng, "external_dial", agent_user="1000", value="3125551002", phone_code="1",
                         search="YES", preview="NO", focus="YES")
        resume = json_call(eng, "external_pause", agent_user="1000", value="RESUME")
    wait_for(lambda: record(db, dial["command_id"])["state"] == "applied", what="the dial applied")
    assert len(customer_dials(eng)) == 1  # dialled once
    resumed = record(db, resume["command_id"])  # the call's start clears a pause column, as upstream's does
    assert (resumed["state"], resumed["reason"]) == ("rejected", "cleared before it was carried out (a call "
                                                                 "began or ended)")
    assert vla(db)["external_dial"] == "" and vla(db)["external_pause"] == ""


def test_resume_then_dial_rejects_the_dial_and_nothing_fires_later(eng, db, agent_api):
    eng.login()
    eng.advance(1)
    with engine_held(eng):
        resume = json_call(eng, "external_pause", agent_user="1000", value="RESUME")
        dial = json_call(eng, "external_dial", agent_user="1000", value="3125551002", phone_code="1",
                         search="YES", preview="NO", focus="YES")
    wait_for(lambda: record(db, dial["command_id"])["state"] == "rejected")
    assert record(db, dial["command_id"])["reason"] == "agent is not paused"
    assert record(db, resume["command_id"])["state"] == "applied"
    assert vla(db)["external_dial"] == ""  # cleared: it cannot fire after a later pause
    assert agent_api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "PAUSED")
    eng.services.clock.advance(15)
    eng.advance(15)
    eng.run(eng.engine.sweep())
    assert customer_dials(eng) == []


def test_a_newer_command_supersedes_a_queued_one(eng, db):
    """…and the integrators' events report both outcomes, the superseded one first; the engine read what the
    queued command superseded in the statement that read the queue, not in one of its own."""
    eng.login()
    statements: list[str] = []
    engine = eng.services.db.engine.sync_engine
    note = lambda _c, _cur, statement, *_a: statements.append(statement)  # noqa: E731
    with engine_held(eng):
        first = json_call(eng, "external_pause", agent_user="1000", value="RESUME")
        eng.services.clock.advance(1)
        second = json_call(eng, "external_pause", agent_user="1000", value="RESUME")
        sa.event.listen(engine, "before_cursor_execute", note)
    try:
        wait_for(lambda: record(db, second["command_id"])["state"] == "applied")
        eng.settle()
    finally:
        sa.event.remove(engine, "before_cursor_execute", note)
    old = record(db, first["command_id"])
    assert (old["state"], old["ended_by"]) == ("superseded", f"command {second['command_id']}")
    outcomes = [json.loads(e["data"]) for e in db.rows("openagc_events") if e["kind"] == "command.outcome"]
    assert [(o["command_id"], o["state"]) for o in outcomes] == [
        (first["command_id"], "superseded"), (second["command_id"], "applied")]
    assert [s for s in statements if "ended_by = ?" in s or "ended_by = %s" in s] == []  # no read of its own


def test_a_command_written_by_plain_sql_gets_a_record(eng, db):
    eng.login()
    with eng.backend.sync.begin() as conn:
        conn.exec_driver_sql("update vicidial_live_agents set external_pause='RESUME!1768473000' where user='1000'")
    wait_for(lambda: db.count("openagc_commands", source="sql", state="applied") == 1)
    row = db.row("openagc_commands", source="sql")
    assert (row["command"], row["value"], row["function"]) == ("external_pause", "RESUME!1768473000", "sql")


def test_a_deferred_command_expires_after_its_validity(eng, db, agent_api):
    eng.services.settings.command_validity = "pause=5"
    eng.restart(new_switch=False)
    token = eng.login()
    start_inbound_call(eng, db, token)
    doc = json_call(eng, "external_pause", agent_user="1000", value="PAUSE")
    eng.run(eng.engine.sweep())
    assert record(db, doc["command_id"])["state"] == "queued"  # waits for the end of the call
    eng.services.clock.advance(6)
    eng.run(eng.engine.sweep())
    row = record(db, doc["command_id"])
    assert (row["state"], row["reason"]) == ("expired", "not carried out within 5 s")
    assert vla(db)["external_pause"] == ""
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: vla(db)["lead_id"] == 0)
    assert vla(db)["status"] == "CLOSER"  # the expired pause did not apply after the call
    eng.services.settings.command_validity = ""


def test_commands_still_waiting_expire_with_the_session(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    pause = json_call(eng, "external_pause", agent_user="1000", value="PAUSE")
    eng.run(eng.engine.sweep())
    assert agent_api("logout", agent_user="1000", value="LOGOUT").startswith("SUCCESS")
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: db.count("vicidial_live_agents", user="1000") == 0, what="logged out after the call")
    states = {r["command"]: r["state"] for r in db.rows("openagc_commands")}
    assert states["external_status"] == "applied" and states["external_hangup"] == "applied"
    logout = [r for r in db.rows("openagc_commands") if r["value"] == "LOGOUT"]
    assert [r["state"] for r in logout] == ["applied"]
    assert record(db, pause["command_id"])["state"] in ("superseded", "expired")
    assert db.count("openagc_commands", state="queued") == 0


def test_outcomes_are_pushed_on_the_agent_stream(eng, db):
    token = eng.login()
    stream = Events(eng.server.base_url, token)
    wait_for(lambda: stream.items, what="the stream's first event")
    doc = json_call(eng, "external_hangup", agent_user="1000", value="1")
    wait_for(lambda: stream.named("command"), what="the command event")
    stream.close()
    [event] = stream.named("command")
    assert event["event"] == "command" and event["command_id"] == doc["command_id"]
    assert (event["state"], event["reason"]) == ("rejected", "agent has no call")
