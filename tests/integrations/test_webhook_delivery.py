"""Webhook delivery against a real HTTP receiver, on both databases: signatures, filters and the owner's scope,
retries with the same webhook-id, order per subscription, disabling, the attempt log, restarts and two
dispatchers sharing one database."""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from prometheus_client import REGISTRY

from openagc.integrations.webhooks.dispatch import WAKE_TOPIC
from openagc.store.event_log import EVENTS_TOPIC
from tests.integrations.webhook_support import (
    DROP,
    FAST,
    HANG,
    OTHER_SECRET,
    SECRET,
    Centre,
    DispatcherThread,
    Receiver,
    free_port,
    state,
    verify,
)
from tests.support import wait_for

DISPATCH_LOG = "openagc.integrations.webhooks.dispatch"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def centre(backend, db) -> Iterator[Centre]:
    c = Centre(backend.url)
    yield c
    c.close()


@pytest.fixture
def dispatchers(backend, centre):
    """Start dispatchers on the test's database (`dispatchers(policy)`); every one is stopped after the test."""
    started: list[DispatcherThread] = []

    def start(policy=FAST, name: str | None = None) -> DispatcherThread:
        d = DispatcherThread(backend.url, policy, name)
        started.append(d)
        centre.wakes.append(d.wake)
        return d

    yield start
    errors = []
    for d in started:  # every one, even when another's stop failed: none may keep its connections open
        try:
            d.stop()
        except Exception as exc:  # raised below, after the others stopped
            errors.append(exc)
    if errors:
        raise errors[0]


def attempts(db, webhook_id: int) -> list[tuple]:
    """(event id, attempt, status, error) of every logged attempt, in the order made."""
    return [(r["event_id"], r["attempt"], r["status"], r["error"])
            for r in db.rows("openagc_webhook_attempts", order_by="attempt_id", webhook_id=webhook_id)]


def subscription(db, webhook_id: int) -> dict:
    return db.row("openagc_webhooks", webhook_id=webhook_id)


def caught_up(db, hooks: list[int], last: int, what: str) -> None:
    """Wait until every subscription's cursor is at `last`: its deliveries and their attempts are committed."""
    wait_for(lambda: all(subscription(db, h)["last_event_id"] == last for h in hooks), 60, what)


def dispatch_log(caplog) -> list[str]:
    """The dispatcher's log messages so far. It logs after its commit, from its own thread: a test waits for the
    message, and the row it speaks of is then committed."""
    return [r.getMessage() for r in caplog.records if r.name == DISPATCH_LOG]


def public_events(backend, ids: list[int]) -> list[dict]:
    """The stored events' public JSON form (what a delivery's body must be)."""
    import asyncio

    from openagc.store import event_log
    from openagc.store.database import Database

    async def read():
        database = Database(backend.url)
        try:
            async with database.connect() as conn:
                return [e.public() for e in await event_log.read_after(conn, 0, limit=1000) if e.id in ids]
        finally:
            await database.dispose()

    return asyncio.run(read())


def test_each_event_is_posted_signed_with_the_secret_and_nothing_else_verifies_it(
        backend, db, centre, receiver, dispatchers):
    hook = centre.subscribe(receiver.url())
    dispatchers()
    ids = centre.append(state(status="READY"), state("call.answered", lead_id=7))
    caught_up(db, [hook], ids[1], "two deliveries")

    got = receiver.got()
    assert [r.id for r in got] == ids
    assert [json.loads(r.body) for r in got] == public_events(backend, ids)
    for r in got:
        assert r.path == "/hook" and r.headers["content-type"] == "application/json"
        assert r.headers["webhook-signature"].startswith("v1,")
        assert abs(int(r.headers["webhook-timestamp"]) - time.time()) < 60
        assert verify(SECRET, r.headers, r.body)
        assert not verify(OTHER_SECRET, r.headers, r.body)
        assert not verify(SECRET, r.headers, r.body.replace(b"READY", b"PAUSE").replace(b"7}", b"8}"))
        assert not verify(SECRET, r.headers | {"webhook-id": str(r.id + 1)}, r.body)
    assert attempts(db, hook) == [(ids[0], 1, 200, ""), (ids[1], 1, 200, "")]
    row = subscription(db, hook)
    assert (row["last_event_id"], row["delivered"], row["failed"], row["failures"]) == (ids[1], 2, 0, 0)


def test_filters_and_the_owners_scope_decide_what_is_delivered(backend, db, centre, receiver, dispatchers):
    # 7777: an admin of the AGENTS group, which may see campaigns TESTCAMP and MANUALCAMP and the agents of AGENTS.
    db.insert("vicidial_users", **{"user": "7777", "pass": "x", "user_level": 8, "user_group": "AGENTS",
                                   "active": "Y", "view_reports": "1"})
    scoped = centre.subscribe(receiver.url("/scoped"), owner="7777")
    scoped_kinds = centre.subscribe(receiver.url("/kinds"), owner="7777", kinds=["agent.state", "call.answered"])
    everything = centre.subscribe(receiver.url("/all"), owner="6666")
    one_agent = centre.subscribe(receiver.url("/agent"), owner="6666", agents=["1001"])
    by_group = centre.subscribe(receiver.url("/group"), owner="6666", user_groups=["ADMIN"],
                                campaigns=["TESTCAMP"])
    hooks = (scoped, scoped_kinds, everything, one_agent, by_group)
    dispatchers()
    ids = centre.append(
        state("agent.state", "1000", "TESTCAMP", "AGENTS"),  # 1
        state("agent.state", "1000", "OTHER", "AGENTS"),  # 2: campaign OTHER is not 7777's
        state("agent.state", "6666", "TESTCAMP", "ADMIN"),  # 3: ADMIN agents are not 7777's
        state("call.ended", "1000", "TESTCAMP", "AGENTS"),  # 4
        state("call.answered", "1001", "TESTCAMP", "AGENTS"),  # 5
        state("centre.note", "", "", ""),  # 6: no campaign, no user group: only for an unrestricted owner
        state("agent.state", "6666", "OTHER", "ADMIN"),  # 7
        state("call.answered", "1001", "", "AGENTS"),  # 8: no campaign: not for an owner restricted to some
    )
    assert ids == list(range(1, 9))
    caught_up(db, list(hooks), 8, "every subscription past the last event")
    assert receiver.delivered_ids("/scoped") == [1, 4, 5]
    assert receiver.delivered_ids("/kinds") == [1, 5]
    assert receiver.delivered_ids("/all") == ids
    assert receiver.delivered_ids("/agent") == [5, 8]
    assert receiver.delivered_ids("/group") == [3]
    assert len(receiver.got()) == 3 + 2 + 8 + 2 + 1  # nothing else was sent, not even once
    assert [subscription(db, h)["delivered"] for h in hooks] == [3, 2, 8, 2, 1]


def deliveries_counted() -> dict[str, float]:
    """`openagc_webhook_deliveries_total` by result, as this process counted so far."""
    return {result: REGISTRY.get_sample_value("openagc_webhook_deliveries_total", {"result": result}) or 0.0
            for result in ("delivered", "failed", "timeout", "error")}


def test_a_failed_event_is_retried_with_the_same_webhook_id_and_nothing_after_it_goes_first(
        db, centre, receiver, dispatchers):
    counted = deliveries_counted()
    receiver.plan.extend([500, DROP, 503])
    hook = centre.subscribe(receiver.url())
    dispatchers()
    assert centre.append(state(n=1), state(n=2), state(n=3)) == [1, 2, 3]
    caught_up(db, [hook], 3, "all three delivered")

    assert [(r.id, r.answered) for r in receiver.got()] == [
        (1, 500), (1, None), (1, 503), (1, 200), (2, 200), (3, 200)]
    assert all(verify(SECRET, r.headers, r.body) for r in receiver.got())
    logged = attempts(db, hook)
    assert [a[:3] for a in logged] == [(1, 1, 500), (1, 2, None), (1, 3, 503), (1, 4, 200), (2, 1, 200),
                                      (3, 1, 200)]
    assert logged[0][3] == "HTTP 500" and logged[2][3] == "HTTP 503"
    assert logged[1][3].startswith("RemoteProtocolError")  # closed without an answer
    rows = db.rows("openagc_webhook_attempts", order_by="attempt_id", webhook_id=hook)
    assert all(r["attempted_ms"] > 0 and r["duration_ms"] >= 0 and r["dispatcher"] for r in rows)
    row = subscription(db, hook)
    assert (row["last_event_id"], row["delivered"], row["failed"], row["failures"], row["active"]) == (
        3, 3, 3, 0, "Y")
    now = deliveries_counted()
    assert {result: now[result] - counted[result] for result in now} == {
        "delivered": 3, "failed": 2, "timeout": 0, "error": 1}


def test_a_timeout_and_a_refused_connection_are_failures_retried_until_the_receiver_answers(
        db, centre, receiver, dispatchers):
    counted = deliveries_counted()
    timeout = replace(FAST, timeout=1.0, max_failures=10_000)  # refused until the receiver comes: never disabled
    receiver.plan.append(HANG)
    hanging = centre.subscribe(receiver.url("/slow"))
    port = free_port()  # nothing listens there yet
    refused = centre.subscribe(f"http://127.0.0.1:{port}/late")
    dispatchers(timeout)
    centre.append(state())
    caught_up(db, [hanging], 1, "the event after the timeout")
    wait_for(lambda: len(attempts(db, refused)) >= 2, 60, "two refused attempts")
    late = Receiver(port)
    try:
        caught_up(db, [refused], 1, "the event once the receiver listens")
    finally:
        late.close()
    assert receiver.delivered_ids("/slow") == late.delivered_ids() == [1]
    assert attempts(db, hanging) == [(1, 1, None, "timed out after 1 s"), (1, 2, 200, "")]
    logged = attempts(db, refused)
    assert [a[:3] for a in logged] == [(1, n, None) for n in range(1, len(logged))] + [(1, len(logged), 200)]
    assert all(a[3].startswith("ConnectError") for a in logged[:-1])
    now = deliveries_counted()
    assert {result: now[result] - counted[result] for result in now} == {
        "delivered": 2, "failed": 0, "timeout": 1, "error": len(logged) - 1}


def test_repeated_failures_disable_a_subscription_and_enabling_it_resumes_from_its_cursor(
        db, centre, receiver, dispatchers, caplog):
    caplog.set_level(logging.WARNING, logger=DISPATCH_LOG)
    receiver.default = 500
    failing = centre.subscribe(receiver.url("/failing"))
    d = dispatchers(replace(FAST, max_failures=3))
    centre.append(state(n=1), state(n=2))
    wait_for(lambda: dispatch_log(caplog), 60, "the subscription disabled and the warning logged")

    assert dispatch_log(caplog) == [
        f"webhook {failing} disabled after 3 failures in a row (last: HTTP 500); `openagc webhooks enable "
        f"{failing}` resumes with event 1"]
    row = subscription(db, failing)
    assert row["active"] == "N"
    assert (row["failures"], row["last_event_id"], row["failed"]) == (3, 0, 3)
    assert row["disabled_reason"] == "3 failures in a row (last: HTTP 500)" and row["disabled_ms"] > 0
    # While it is disabled nothing is sent to it, though the dispatcher keeps delivering to others.
    witness = centre.subscribe(receiver.url("/witness"))
    receiver.plan.append(200)
    centre.append(state(n=3))
    caught_up(db, [witness], 3, "the other subscription served")
    assert [a[:3] for a in attempts(db, failing)] == [(1, 1, 500), (1, 2, 500), (1, 3, 500)]

    receiver.default = 200
    centre.enable(failing, d.bus)
    caught_up(db, [failing], 3, "the subscription caught up")
    assert receiver.delivered_ids("/failing") == [1, 2, 3]
    assert [a[:3] for a in attempts(db, failing)] == [
        (1, 1, 500), (1, 2, 500), (1, 3, 500), (1, 4, 200), (2, 1, 200), (3, 1, 200)]
    row = subscription(db, failing)
    assert (row["active"], row["failures"], row["disabled_ms"], row["disabled_reason"]) == ("Y", 0, None, "")
    assert attempts(db, witness) == [(3, 1, 200, "")]


def test_order_holds_per_subscription_through_random_failures(db, centre, receiver, dispatchers):
    rnd = random.Random(7)
    receiver.plan.extend(rnd.choice([200, 200, 200, 500, DROP]) for _ in range(120))
    hooks = [centre.subscribe(receiver.url(f"/s{n}")) for n in range(3)]
    dispatchers()
    expected: list[int] = []
    for batch in range(8):
        expected += centre.append(*(state(batch=batch, n=n) for n in range(5)))
    caught_up(db, hooks, expected[-1], "every event delivered to every subscription")
    for n, hook in enumerate(hooks):
        assert receiver.delivered_ids(f"/s{n}") == expected
        tries = [r.id for r in receiver.got(f"/s{n}")]
        assert tries == sorted(tries)  # an event is only ever sent after every earlier one was delivered
        assert [a[0] for a in attempts(db, hook)] == tries


def test_a_restarted_dispatcher_resumes_from_the_cursor_without_loss_or_repeat(
        backend, db, centre, receiver, dispatchers):
    hook = centre.subscribe(receiver.url())
    first = dispatchers()
    ids = centre.append(*(state(n=n) for n in range(10)))
    wait_for(lambda: len(receiver.delivered_ids()) >= 3, 60, "a few deliveries")
    first.stop()
    centre.wakes.remove(first.wake)
    cursor = subscription(db, hook)["last_event_id"]
    assert receiver.delivered_ids() == list(range(1, cursor + 1))  # the cursor is what was delivered
    assert subscription(db, hook)["lease_owner"] == ""  # the stopped dispatcher gave its lease back
    ids += centre.append(*(state(n=n) for n in range(10, 15)))

    second = dispatchers()
    caught_up(db, [hook], 15, "every event")
    assert receiver.delivered_ids() == ids == list(range(1, 16))
    assert len(receiver.got()) == 15
    by = {r["event_id"]: r["dispatcher"] for r in db.rows("openagc_webhook_attempts", webhook_id=hook)}
    assert {by[i] for i in range(1, cursor + 1)} == {first.name}
    assert {by[i] for i in range(cursor + 1, 16)} == {second.name}


def test_a_crashed_dispatchers_lease_runs_out_and_another_carries_on(backend, db, centre, receiver, dispatchers):
    crashed = DispatcherThread(backend.url, replace(FAST, lease=0.5), name="crashed")
    try:
        crashed.run(crashed.dispatcher.stop())  # not running: its lease below is one nobody gives back
        hook = centre.subscribe(receiver.url())
        ids = centre.append(state(n=1), state(n=2))
        claimed = crashed.run(crashed.db.transaction(lambda conn: crashed.dispatcher._claim(conn, hook)))
        assert claimed is not None and subscription(db, hook)["lease_owner"] == "crashed"
    finally:
        crashed.close()
    survivor = dispatchers(name="survivor")
    survivor.wake()
    caught_up(db, [hook], ids[-1], "the events, once the lease ran out")
    assert receiver.delivered_ids() == ids
    assert {r["dispatcher"] for r in db.rows("openagc_webhook_attempts", webhook_id=hook)} == {"survivor"}


def test_a_lease_is_taken_by_one_dispatcher_at_a_time(backend, db, centre):
    a = DispatcherThread(backend.url, name="a")
    b = DispatcherThread(backend.url, name="b")
    try:
        for d in (a, b):
            d.run(d.dispatcher.stop())  # not running: only their compare-and-set is exercised here
        hook = centre.subscribe("http://127.0.0.1:9/none")
        centre.append(state())

        def claim(d):
            return d.run(d.db.transaction(lambda conn: d.dispatcher._claim(conn, hook)))

        assert claim(a) is not None
        assert claim(b) is None and claim(a) is None  # held (even against its holder: one pass at a time)
        a.run(a.dispatcher._release(hook))
        assert claim(b) is not None and subscription(db, hook)["lease_owner"] == "b"
    finally:
        a.close()
        b.close()


def test_two_dispatchers_on_one_database_never_deliver_an_event_twice(db, centre, receiver, dispatchers):
    hooks = [centre.subscribe(receiver.url(f"/s{n}")) for n in range(4)]
    one, two = dispatchers(name="one"), dispatchers(name="two")
    expected: list[int] = []
    for batch in range(10):
        expected += centre.append(*(state(batch=batch, n=n) for n in range(4)))
    caught_up(db, hooks, expected[-1], "every event delivered to every subscription")
    assert all(receiver.delivered_ids(f"/s{n}") == expected for n in range(4))
    assert len(receiver.got()) == 4 * len(expected)  # each exactly once: no event went out twice
    for hook in hooks:
        logged = attempts(db, hook)
        assert [a[:3] for a in logged] == [(i, 1, 200) for i in expected]
    dispatchers_seen = {r["dispatcher"] for r in db.rows("openagc_webhook_attempts")}
    assert dispatchers_seen <= {one.name, two.name}


def test_at_most_concurrency_subscriptions_are_in_flight(db, centre, receiver, dispatchers):
    hooks = [centre.subscribe(receiver.url(f"/s{n}")) for n in range(5)]
    receiver.hold()
    dispatchers(replace(FAST, concurrency=2, timeout=60))  # held requests wait for the test, never time out
    centre.append(state())
    wait_for(lambda: receiver.in_flight == 2, 60, "the dispatcher's two slots filled")
    for released in range(1, 6):
        receiver.let_one_go()
        wait_for(lambda n=released: receiver.passed == n, 60, "one request let through")
        wait_for(lambda n=released: receiver.in_flight == min(2, 5 - n), 60, "the freed slot filled again")
    caught_up(db, hooks, 1, "every subscription")
    assert receiver.most_in_flight == 2
    assert len(receiver.got()) == 5


def test_new_events_are_looked_at_only_while_a_subscription_is_active(db, centre, receiver, dispatchers):
    d = dispatchers(replace(FAST, poll=30.0))  # no look but the first for 30 s unless something wakes it
    wait_for(lambda: not d.dispatcher._subscribed, 60, "the first look: no active subscription")
    looks = []
    schedule = d.dispatcher._schedule

    async def counted() -> float:
        looks.append(1)
        return await schedule()

    d.dispatcher._schedule = counted
    for n in range(5):
        centre.append(state(n=n))  # each wakes the dispatcher
    time.sleep(0.5)
    assert looks == []  # nobody to deliver to: the table is not read per event

    hook = centre.subscribe(receiver.url())
    d.bus.publish(WAKE_TOPIC, hook)  # what creating one through the HTTP API publishes
    wait_for(lambda: d.dispatcher._subscribed, 60, "the new subscription seen")
    seen = len(looks)
    ids = centre.append(state(n=5))
    wait_for(lambda: receiver.delivered_ids() == ids, 10, "the next event delivered on its wake, not the poll")
    assert len(looks) > seen


def test_the_served_app_runs_the_dispatcher_with_the_engine_off(backend, db, centre, receiver):
    services = backend.new_services(engine=False)
    services.settings.webhooks = True
    services.settings.webhook_backoff_min = services.settings.webhook_backoff_max = 0.01
    server = backend.start(services)
    try:
        import httpx

        created = httpx.post(f"{server.base_url}/api/v1/webhooks", auth=("6666", "1234"),
                             json={"url": receiver.url(), "kinds": ["agent.state"]}, timeout=10)
        assert created.status_code == 201
        receiver.plan.append(500)
        ids = centre.append(state(n=1), state("call.ended"), state(n=2))
        services.bus.publish(EVENTS_TOPIC, ids[-1])
        wait_for(lambda: receiver.delivered_ids() == [ids[0], ids[2]], 60, "the agent.state events")
        assert verify(created.json()["secret"], receiver.got()[0].headers, receiver.got()[0].body)
        assert [r.answered for r in receiver.got()] == [500, 200, 200]
    finally:
        server.stop()
        backend.servers.remove(server)


def test_the_attempt_log_keeps_what_the_event_log_keeps(db, centre, dispatchers):
    hook = centre.subscribe("http://127.0.0.1:9/none")
    now = int(time.time() * 1000)
    for event_id, at in [(1, now - 73 * 3_600_000), (2, now - 71 * 3_600_000), (3, now)]:
        db.insert("openagc_webhook_attempts", webhook_id=hook, event_id=event_id, attempt=1, attempted_ms=at,
                  status=200, duration_ms=1, dispatcher="earlier")
    dispatchers(replace(FAST, retention_hours=72))
    wait_for(lambda: db.count("openagc_webhook_attempts") == 2, 60, "the old attempt pruned")
    assert [a[0] for a in attempts(db, hook)] == [2, 3]


def test_an_owner_who_may_no_longer_read_events_disables_the_subscription(db, centre, receiver, dispatchers, caplog):
    caplog.set_level(logging.WARNING, logger=DISPATCH_LOG)
    hook = centre.subscribe(receiver.url())
    dispatchers()
    db.update("vicidial_users", {"user": "6666"}, view_reports="0")
    centre.append(state())
    reason = "its owner: user '6666' may not read events (user level 7 or more with view_reports)"
    wait_for(lambda: dispatch_log(caplog), 60, "the subscription disabled and the warning logged")
    assert dispatch_log(caplog) == [f"webhook {hook} disabled: {reason}"]
    assert subscription(db, hook)["active"] == "N" and subscription(db, hook)["disabled_reason"] == reason
    assert receiver.got() == [] and attempts(db, hook) == []
    assert subscription(db, hook)["last_event_id"] == 0  # nothing passed over: enabling later delivers it
