"""Events from a stock VICIdial (`--engine off`): rows written as upstream's agent screen writes them (plain SQL),
read back through `/api/v1/events` on both databases."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from openagc.integrations import stock_watcher
from openagc.integrations.stock_watcher import StockWatcher
from tests.integrations.event_support import SseReader, kinds
from tests.support import FROZEN_AT, live_agent_row, run_on_loop, wait_for

LEAD, NUMBER = 12345, "3125551001"
CALLERID, UNIQUEID = "Y1151030000000012345", "1768473000.77"


def on_server_loop(backend, coro_fn):
    """Run a coroutine function on the loop of the backend server's stock watcher."""
    _, loop, _ = backend.services.extra["stock_watcher"]
    return run_on_loop(loop, coro_fn(), 20)


@pytest.fixture
def watched(backend, db):
    """A fresh database whose stock watcher (in the engine-off server) has taken its baseline."""
    wait_for(lambda: [r for r in db.rows("openagc_event_watch") if r["holder"].startswith("stock:")],
             timeout=20, what="the stock watcher's baseline")
    return db


def agent_log(db, **values) -> int:
    row = {"user": "1000", "server_ip": "10.10.10.15", "event_time": FROZEN_AT, "campaign_id": "TESTCAMP",
           "user_group": "AGENTS", "pause_epoch": 1768473000, "lead_id": 0} | values
    return db.insert("vicidial_agent_log", **row)


def login(db) -> int:
    """What upstream's login writes: the agent log row of the first pause, the live agent row."""
    first = agent_log(db, sub_status="LOGIN")
    db.insert("vicidial_live_agents", **live_agent_row("1000", pause_code="LOGIN", agent_log_id=first))
    return first


def inbound_call(db) -> None:
    """upstream's routing AGI: the call row, the closer log row, the agent QUEUE with the call."""
    db.insert("vicidial_auto_calls", server_ip="10.10.10.15", campaign_id="TEST_IN", status="LIVE", lead_id=LEAD,
              uniqueid=UNIQUEID, callerid=CALLERID, channel="SIP/trunk-0001", phone_code="1", phone_number=NUMBER,
              call_time=FROZEN_AT, call_type="IN")
    db.insert("vicidial_closer_log", lead_id=LEAD, campaign_id="TEST_IN", call_date=FROZEN_AT,
              start_epoch=1768473000, status="INCALL", phone_number=NUMBER, user="1000", uniqueid=UNIQUEID,
              term_reason="NONE")
    db.update("vicidial_live_agents", {"user": "1000"}, status="QUEUE", lead_id=LEAD, uniqueid=UNIQUEID,
              callerid=CALLERID, channel="SIP/trunk-0001", comments="INBOUND")


def test_a_shift_written_as_upstream_writes_it_comes_out_as_events(backend, watched):
    db = watched
    stream = SseReader(backend.server.base_url)
    try:
        first = login(db)
        stream.wait(lambda ev: kinds(ev) == ["agent.logged_in", "agent.state"], "the login's events")
        db.update("vicidial_live_agents", {"user": "1000"}, status="READY", pause_code="")
        stream.wait(lambda ev: len(ev) == 3, "READY")
        inbound_call(db)
        stream.wait(lambda ev: len(ev) == 5, "the call offered")
        db.update("vicidial_live_agents", {"user": "1000"}, status="INCALL")
        stream.wait(lambda ev: len(ev) == 7, "the call answered")
        recording = db.insert("recording_log", channel="Local/58600051@default", server_ip="10.10.10.15",
                              extension="8309", start_time=FROZEN_AT, start_epoch=1768473000,
                              filename="20260115-103000_3125551001", lead_id=LEAD, user="1000")
        stream.wait(lambda ev: len(ev) == 8, "the recording started")
        db.update("vicidial_closer_log", {"uniqueid": UNIQUEID}, term_reason="CALLER", length_in_sec=42,
                  end_epoch=1768473042)
        db.update("recording_log", {"recording_id": recording}, end_time=FROZEN_AT + timedelta(seconds=40),
                  end_epoch=1768473040, length_in_sec=40)
        db.delete("vicidial_auto_calls", callerid=CALLERID)
        db.update("vicidial_live_agents", {"user": "1000"}, status="PAUSED", uniqueid="", callerid="", channel="",
                  comments="")
        stream.wait(lambda ev: len(ev) == 11, "the call ended")
        # the disposition: the cycle's log row gets its status, a callback, the next cycle, READY again
        db.update("vicidial_agent_log", {"agent_log_id": first}, status="CALLBK", lead_id=LEAD, uniqueid=UNIQUEID)
        callback = db.insert("vicidial_callbacks", lead_id=LEAD, list_id=999, campaign_id="TESTCAMP", status="ACTIVE",
                             entry_time=FROZEN_AT, callback_time=datetime(2026, 1, 16, 9, 0), user="1000",
                             recipient="USERONLY", comments="call back tomorrow", user_group="AGENTS",
                             lead_status="CALLBK")
        second = agent_log(db)
        db.update("vicidial_live_agents", {"user": "1000"}, status="READY", lead_id=0, agent_log_id=second)
        stream.wait(lambda ev: len(ev) == 14, "the disposition")
        db.delete("vicidial_live_agents", user="1000")
        stream.wait(lambda ev: len(ev) == 15, "the logout")
    finally:
        stream.close()
    shown = [(e["type"], e["agent"], e["campaign"], e["user_group"], e["data"]) for e in stream.events]
    call = {"call_id": CALLERID, "uniqueid": UNIQUEID, "lead_id": LEAD, "phone_number": NUMBER,
            "direction": "inbound", "group": "TEST_IN"}
    who = ("1000", "TESTCAMP", "AGENTS")
    assert shown == [
        ("agent.logged_in", *who, {"state": "PAUSED", "server_ip": "10.10.10.15", "conf_exten": "8600051",
                                   "extension": "SIP/1000"}),
        ("agent.state", *who, {"state": "PAUSED", "previous": "", "status": "PAUSED", "pause_code": "LOGIN",
                               "lead_id": 0}),
        ("agent.state", *who, {"state": "READY", "previous": "PAUSED", "status": "READY", "pause_code": "",
                               "lead_id": 0}),
        ("call.ringing", *who, call | {"stage": "offered"}),
        ("agent.state", *who, {"state": "QUEUE", "previous": "READY", "status": "QUEUE", "pause_code": "",
                               "lead_id": LEAD}),
        ("call.answered", *who, call),
        ("agent.state", *who, {"state": "INCALL", "previous": "QUEUE", "status": "INCALL", "pause_code": "",
                               "lead_id": LEAD}),
        ("recording.started", *who, {"recording_id": recording, "filename": "20260115-103000_3125551001",
                                     "lead_id": LEAD}),
        ("call.ended", *who, call | {"cause": "CALLER", "length_in_sec": 42}),
        ("recording.stopped", *who, {"recording_id": recording, "filename": "20260115-103000_3125551001",
                                     "lead_id": LEAD, "length_in_sec": 40}),
        ("agent.state", *who, {"state": "DISPO", "previous": "INCALL", "status": "PAUSED", "pause_code": "",
                               "lead_id": LEAD}),
        ("call.dispositioned", *who, {"lead_id": LEAD, "status": "CALLBK", "uniqueid": UNIQUEID,
                                      "agent_log_id": first, "phone_number": NUMBER}),
        ("callback.scheduled", *who, {"callback_id": callback, "lead_id": LEAD, "callback_time": "2026-01-16 09:00:00",
                                      "recipient": "USERONLY", "status": "CALLBK", "comments": "call back tomorrow"}),
        ("agent.state", *who, {"state": "READY", "previous": "DISPO", "status": "READY", "pause_code": "",
                               "lead_id": 0}),
        ("agent.logged_out", *who, {"previous": "READY"}),
    ]
    # each SSE message: `id:` the event's id, `event:` its type; ids rise
    assert [(int(m["id"]), m["event"]) for m in stream.messages if "id" in m] == [
        (e["id"], e["type"]) for e in stream.events]
    assert [e["id"] for e in stream.events] == sorted(e["id"] for e in stream.events)


def _poll_as_another_process(backend) -> list[int]:
    """One pass of a watcher of another process (its own connections and holder name)."""
    async def go() -> list[int]:
        services = backend.new_services(engine=False)
        try:
            return await StockWatcher(services, 1.0).poll()
        finally:
            await services.db.dispose()

    return asyncio.run(go())


def test_one_watcher_per_database_and_a_restart_neither_repeats_nor_loses(backend, watched):
    db = watched
    stream = SseReader(backend.server.base_url)
    stopped = False
    try:
        login(db)
        stream.wait(lambda ev: kinds(ev) == ["agent.logged_in", "agent.state"], "the login's events")
        db.update("vicidial_live_agents", {"user": "1000"}, status="READY", pause_code="")
        # a second process's watcher finds the lease taken: it derives nothing, however the rows moved
        assert _poll_as_another_process(backend) == []
        stream.wait(lambda ev: len(ev) == 3, "READY, once")
        holder = db.row("openagc_event_watch", name="stock")["holder"]

        # the server's watcher stops (its process ends); the rows move twice while no watcher runs
        _, _, stop = backend.services.extra["stock_watcher"]
        on_server_loop(backend, stop)
        stopped = True
        assert db.row("openagc_event_watch", name="stock")["lease_until_ms"] == 0  # given up at once
        db.update("vicidial_live_agents", {"user": "1000"}, status="PAUSED", pause_code="BREAK")
        inbound_call(db)
        # another process takes over where the last commit left off: one change, nothing repeated
        appended = _poll_as_another_process(backend)
        assert len(appended) == 2
        stream.wait(lambda ev: len(ev) == 5, "the change made while no watcher ran")
        assert db.row("openagc_event_watch", name="stock")["holder"] not in ("", holder)
        assert _poll_as_another_process(backend) == []  # nothing moved since: nothing again
    finally:
        if stopped:  # the server's own watcher again, for the tests after this one
            db.update("openagc_event_watch", {"name": "stock"}, lease_until_ms=0)
            on_server_loop(backend, lambda: stock_watcher.start(backend.services))
        stream.close()
    assert [(e["type"], e["data"].get("state"), e["data"].get("previous")) for e in stream.events] == [
        ("agent.logged_in", "PAUSED", None), ("agent.state", "PAUSED", ""), ("agent.state", "READY", "PAUSED"),
        ("call.ringing", None, None), ("agent.state", "QUEUE", "READY")]


def test_taking_over_from_an_engine_starts_from_a_baseline(backend, watched):
    db = watched
    db.update("openagc_event_watch", {"name": "stock"}, holder="engine:elsewhere", lease_until_ms=0)
    login(db)  # while an engine held the lease: its own transactions had the events
    wait_for(lambda: db.row("openagc_event_watch", name="stock")["holder"].startswith("stock:"), timeout=20,
             what="the watcher taking the lease back")
    stream = SseReader(backend.server.base_url, params={"after": 0})
    try:
        db.update("vicidial_live_agents", {"user": "1000"}, status="READY", pause_code="")
        stream.wait(lambda ev: len(ev) == 1, "READY")
    finally:
        stream.close()
    assert [(e["type"], e["data"]["state"], e["data"]["previous"]) for e in stream.events] == [
        ("agent.state", "READY", "PAUSED")]  # no agent.logged_in: the login happened before it watched


def test_a_command_carried_out_by_upstreams_screen_is_delivered(backend, watched, api):
    db = watched
    login(db)
    wait_for(lambda: db.count("openagc_events", kind="agent.state") == 1, what="the login seen")
    stream = SseReader(backend.server.base_url, params={"type": "command.outcome,agent.state"})
    try:
        assert api("external_pause", agent_user="1000", value="RESUME").startswith("SUCCESS")
        command_id = db.rows("openagc_commands")[-1]["command_id"]
        # upstream's screen takes the command: it clears the column and goes READY
        db.update("vicidial_live_agents", {"user": "1000"}, external_pause="", status="READY", pause_code="")
        stream.wait(lambda ev: len(ev) == 2, "the state and the outcome")
    finally:
        stream.close()
    state, outcome = sorted(stream.events, key=lambda e: e["type"])
    assert (state["type"], state["data"]["state"]) == ("agent.state", "READY")
    assert (outcome["type"], outcome["campaign"], outcome["user_group"]) == ("command.outcome", "TESTCAMP", "AGENTS")
    assert outcome["data"] == {"command_id": command_id, "command": "external_pause",
                               "value": db.row("openagc_commands", command_id=command_id)["value"],
                               "state": "delivered", "reason": "the agent's screen took it", "source": "api",
                               "function": "external_pause"}


def test_a_holder_compares_with_what_it_wrote_and_still_sees_every_change(backend, watched):
    """While a watcher holds the lease, a poll reads the agents' rows but not the views it wrote itself (kept in
    memory since its last commit); a change made after that commit still comes out."""
    import sqlalchemy as sa

    db = watched
    login(db)
    _, _, stop = backend.services.extra["stock_watcher"]
    on_server_loop(backend, stop)
    statements: list[str] = []

    async def go() -> tuple[list[int], list[int], list[int]]:
        services = backend.new_services(engine=False)
        sa.event.listen(services.db.engine.sync_engine, "before_cursor_execute",
                        lambda _c, _cur, sql, *_: statements.append(" ".join(sql.split()).lower()))
        watcher = StockWatcher(services, 1.0)
        try:
            taken = await watcher.poll()  # takes the lease over where the server's watcher left off
            statements.clear()
            quiet = await watcher.poll()  # nothing moved
            reads_of_its_own_table = [s for s in statements if "from openagc_event_watch_agents" in s]
            assert reads_of_its_own_table == [], statements
            db.update("vicidial_live_agents", {"user": "1000"}, status="READY", pause_code="")
            moved = await watcher.poll()
            await watcher.release()
            return taken, quiet, moved
        finally:
            await services.db.dispose()

    try:
        taken, quiet, moved = asyncio.run(go())
    finally:
        db.update("openagc_event_watch", {"name": "stock"}, lease_until_ms=0)
        on_server_loop(backend, lambda: stock_watcher.start(backend.services))
    assert quiet == []
    assert len(moved) == 1 and moved[0] > max(taken, default=0)
    assert [r["kind"] for r in db.rows("openagc_events") if r["event_id"] in moved] == ["agent.state"]
