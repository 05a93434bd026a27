"""Commands by plain SQL, a pause racing a delivered call, a restart mid-call, two engines on one database,
RATIO auto-dial, concurrent logins and the bound on transitions at once."""

from __future__ import annotations

import asyncio

import pytest

from tests.engine.conftest import wait_for
from tests.engine.test_session_commands import start_inbound_call, vla


def test_pause_written_by_plain_sql_is_picked_up_by_the_sweep(eng, db):
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200
    with eng.backend.sync.begin() as conn:
        conn.exec_driver_sql(
            "update vicidial_live_agents set external_pause='PAUSE!1768473000' where user='1000'"
        )
    wait_for(lambda: vla(db)["status"] == "PAUSED")
    assert vla(db)["external_pause"] == ""
    assert db.count("vicidial_agent_log", user="1000") == 2


def test_hangup_written_by_plain_sql(eng, db):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    with eng.backend.sync.begin() as conn:
        conn.exec_driver_sql("update vicidial_live_agents set external_hangup='1' where user='1000'")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    wait_for(lambda: eng.switch.channel(chan.name) is None, what="the customer channel hung up")


def test_pause_racing_a_delivered_call_never_loses_the_pause(eng, db, agent_api):
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200

    async def race() -> None:
        eng.switch.inject_inbound("3125551001", "TEST_IN")
        await asyncio.to_thread(
            db.update, "vicidial_live_agents", {"user": "1000"}, external_pause="PAUSE!1768473001"
        )
        eng.engine.watcher.wake("1000")
        await eng.switch.settle()
        await eng.engine.watcher.drain()

    eng.run(race())
    eng.run(eng.engine.sweep())
    state = eng.state(token)
    if state["phase"] == "INCALL":  # the call won: the pause waits for the disposition
        assert state["pending"] == "PAUSE"
        agent_api("external_hangup", agent_user="1000", value="1")
        wait_for(lambda: eng.state(token)["phase"] == "DISPO")
        agent_api("external_status", agent_user="1000", value="NI")
        wait_for(lambda: vla(db)["lead_id"] == 0)
    else:  # the pause won: the call still waits in queue
        assert db.row("vicidial_auto_calls", campaign_id="TEST_IN")["status"] == "LIVE"
    assert vla(db)["status"] == "PAUSED" and vla(db)["external_pause"] == ""


def test_engine_restart_in_the_middle_of_a_call(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    eng.restart(new_switch=False)  # same PBX, new engine process state
    assert eng.state(token)["phase"] == "INCALL"
    eng.services.clock.advance(12)
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    # the switch acts after the engine's transaction commits: wait for it, do not race it
    wait_for(lambda: eng.switch.channel(chan.name) is None, what="the customer channel hung up")
    wait_for(lambda: db.row("vicidial_closer_log", uniqueid=chan.uniqueid)["length_in_sec"] == 12)
    assert agent_api("external_status", agent_user="1000", value="SALE").startswith("SUCCESS")
    wait_for(lambda: vla(db)["status"] == "CLOSER")


def test_two_engines_on_one_database_apply_a_command_once(eng, db):
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200
    other = eng.backend.new_services(engine=True)
    other.settings.sweep_seconds = 0.01
    other.extra["switch"] = eng.new_switch()
    second = eng.backend.start(other)
    try:
        wait_for(lambda: other.extra.get("engine") is not None)
        for n in range(5):
            with eng.backend.sync.begin() as conn:
                conn.exec_driver_sql(
                    "update vicidial_live_agents set external_pause="
                    f"'PAUSE!{1768473000 + 2 * n}' where user='1000'"
                )
            wait_for(lambda: vla(db)["status"] == "PAUSED")
            with eng.backend.sync.begin() as conn:
                conn.exec_driver_sql(
                    "update vicidial_live_agents set external_pause="
                    f"'RESUME!{1768473001 + 2 * n}' where user='1000'"
                )
            wait_for(lambda: vla(db)["status"] == "CLOSER")
        # login row + one new row per pause, never two
        assert db.count("vicidial_agent_log", user="1000") == 1 + 5
    finally:
        second.stop()


def test_ratio_auto_dial_delivers_an_answered_call(eng, db, agent_api):
    token = eng.login(ingroups=[], blended=True)
    assert vla(db)["outbound_autodial"] == "Y"
    assert eng.agent("ready", token).json()["state"]["phase"] == "READY"
    wait_for(lambda: db.count("vicidial_auto_calls") >= 1)
    vac = db.rows("vicidial_auto_calls")[0]
    assert vac["callerid"].startswith("V") and len(vac["callerid"]) == 20 and vac["status"] == "SENT"
    assert db.count("vicidial_hopper") >= 1
    eng.advance(2)
    wait_for(lambda: vla(db)["status"] == "INCALL")
    agent = vla(db)
    assert agent["comments"] == "AUTO" and agent["callerid"] == vac["callerid"]
    log = db.row("vicidial_log", uniqueid=agent["uniqueid"])
    assert (log["status"], log["user"]) == ("INCALL", "1000")
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert agent_api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
    assert agent_api("external_status", agent_user="1000", value="SALE").startswith("SUCCESS")
    wait_for(lambda: vla(db)["lead_id"] == 0)
    assert vla(db)["status"] == "PAUSED"
    assert db.row("vicidial_log", uniqueid=agent["uniqueid"])["status"] == "SALE"


def test_concurrent_logins_each_get_their_own_conference(eng, db):
    """Logins racing for the lowest free conference never share one and never fail (MariaDB locking read)."""
    from concurrent.futures import ThreadPoolExecutor

    users = [str(n) for n in range(4000, 4012)]
    _more_agents(db, users)

    def login(user: str) -> int:
        body = {"user": user, "pass": "1234", "phone_login": user, "phone_pass": "test", "campaign": "TESTCAMP"}
        return eng.client.post("/agent/login", json=body).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        codes = list(pool.map(login, users))
    assert codes == [200] * len(users)
    confs = [db.row("vicidial_live_agents", user=u)["conf_exten"] for u in users]
    assert len(set(confs)) == len(users)
    for user, conf in zip(users, confs, strict=True):
        assert db.row("vicidial_conferences", conf_exten=conf)["extension"] == f"SIP/{user}"


def _more_agents(db, users: list[str]) -> None:
    """Agents `users`: copies of user 1000 with a phone each."""
    template = db.row("vicidial_users", user="1000")
    phone = db.row("phones", extension="1000")
    template.pop("user_id", None)
    for user in users:
        db.insert("vicidial_users", **(template | {"user": user, "custom_three": ""}))
        db.insert("phones", **(phone | {"extension": user, "login": user}))


@pytest.mark.parametrize("bound", [1, 3])
def test_the_engine_runs_at_most_its_bound_of_transitions_at_once(eng, db, agent_api, monkeypatch, bound):
    """Commands for many agents at once: at most `engine_transactions` of their transitions hold a connection
    at a time (unbounded, they would take the whole pool and starve the API in the same process), and every
    command is still carried out. On MariaDB the bound is reached; SQLite runs one writer at a time anyway."""
    from concurrent.futures import ThreadPoolExecutor

    from openagc.engine import context

    monkeypatch.setattr(eng.services.settings, "engine_transactions", bound)
    eng.restart(new_switch=False)
    users = [str(n) for n in range(4100, 4106)]
    _more_agents(db, users)
    for user in users:
        eng.login(user=user, phone_login=user)
    load, inside, peak = context.load, 0, 0

    async def slow_load(*args, **kwargs):
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        try:
            found = await load(*args, **kwargs)
            await asyncio.sleep(0.3)  # the transition holds its transaction a while
            return found
        finally:
            inside -= 1

    monkeypatch.setattr(context, "load", slow_load)
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        answers = list(pool.map(lambda u: agent_api("external_pause", agent_user=u, value="RESUME"), users))
    assert all(a.startswith("SUCCESS") for a in answers), answers
    wait_for(lambda: all(db.row("vicidial_live_agents", user=u)["status"] in ("READY", "CLOSER") for u in users),
             what="every agent resumed")
    assert peak == (1 if eng.backend.kind == "sqlite" else bound)


def _batches() -> tuple[float, float]:
    """(transactions, of them with more than one transition) the engine's group commit has observed so far."""
    from prometheus_client import REGISTRY

    name = "openagc_engine_group_commit_transitions"
    count = REGISTRY.get_sample_value(f"{name}_count") or 0.0
    alone = REGISTRY.get_sample_value(f"{name}_bucket", {"le": "1.0"}) or 0.0
    return count, count - alone


def _slowed_loads(monkeypatch, seconds: float, fail: int = 0) -> list[str]:
    """Each transition holds its transaction `seconds` longer; the `fail`th to load (from 1; 0: none) raises. The
    users whose transition raised, filled in as it happens."""
    from openagc.engine import context

    load, loads, failed = context.load, [], []

    async def slow_load(engine, conn, user, at):
        found = await load(engine, conn, user, at)
        await asyncio.sleep(seconds)
        loads.append(user)
        if len(loads) == fail:
            failed.append(user)
            raise RuntimeError("a transition that fails")
        return found

    monkeypatch.setattr(context, "load", slow_load)
    return failed


def _resume_all(eng, db, agent_api, users: list[str]) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        answers = list(pool.map(lambda u: agent_api("external_pause", agent_user=u, value="RESUME"), users))
    assert all(a.startswith("SUCCESS") for a in answers), answers
    wait_for(lambda: all(db.row("vicidial_live_agents", user=u)["status"] in ("READY", "CLOSER") for u in users),
             what="every agent resumed", timeout=10)


def _assert_applied_once_with_their_events(db, users: list[str], events_before: int) -> None:
    """Each agent's RESUME applied once (its one record applied) and its outcome's event appended once; the
    log's ids have no gap or duplicate."""
    for user in users:
        records = db.rows("openagc_commands", user=user, command="external_pause")
        assert [(r["value"].split("!")[0], r["state"]) for r in records] == [("RESUME", "applied")], (user, records)
        assert [e["kind"] for e in db.rows("openagc_events", user=user, order_by="event_id")
                if e["event_id"] > events_before].count("command.outcome") == 1
    ids = [e["event_id"] for e in db.rows("openagc_events", order_by="event_id")]
    assert ids == list(range(ids[0], ids[0] + len(ids)))


def _six_agents_in_one_lane(eng, db, monkeypatch, first: int) -> tuple[list[str], int]:
    """Six logged-in agents `first`…, the engine running one transaction at a time; (their users, the last event
    id so far)."""
    monkeypatch.setattr(eng.services.settings, "engine_transactions", 1)
    eng.restart(new_switch=False)
    users = [str(n) for n in range(first, first + 6)]
    _more_agents(db, users)
    for user in users:
        eng.login(user=user, phone_login=user)
    return users, max(e["event_id"] for e in db.rows("openagc_events"))


def test_transitions_that_queue_together_commit_together(eng, db, agent_api, monkeypatch):
    """One transaction at a time: the commands that arrive while the first agent's transition holds it are carried
    out together in the next (one commit), each applied once with its events, the event ids without a gap."""
    users, events_before = _six_agents_in_one_lane(eng, db, monkeypatch, 4200)
    batches_before = _batches()
    _slowed_loads(monkeypatch, 0.2)
    _resume_all(eng, db, agent_api, users)
    assert _batches()[1] > batches_before[1]  # a transaction carried several agents' transitions
    _assert_applied_once_with_their_events(db, users, events_before)


def test_a_failing_transition_leaves_the_others_of_its_batch_applied_once(eng, db, agent_api, monkeypatch):
    """A transition that raises rolls its batch back; the batch runs again without it, so the others are applied
    once (no event twice), and the failed one's command stays queued for the sweep, which carries it out."""
    users, events_before = _six_agents_in_one_lane(eng, db, monkeypatch, 4300)
    batches_before = _batches()
    failed = _slowed_loads(monkeypatch, 0.2, fail=2)  # the second: the first of a batch the others queued for
    _resume_all(eng, db, agent_api, users)
    assert len(failed) == 1
    assert _batches()[1] > batches_before[1]  # the others went on together without it
    _assert_applied_once_with_their_events(db, users, events_before)
