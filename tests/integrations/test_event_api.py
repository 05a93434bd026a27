"""`/api/v1/events` and `/api/v1/events/ws`: who may read, what they see, filters, resuming, restarts, retention
and the stream bound, through real requests on both databases (events written to the log as a writer in another
process would)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from websockets.exceptions import InvalidStatus

from openagc.integrations import events as events_part
from openagc.integrations import keys
from openagc.store.event_log import NewEvent
from tests.integrations.event_support import SseReader, WsReader, api_user, append
from tests.support import FROZEN_AT, wait_for

URL = "/api/v1/events"


def ev(kind: str = "agent.state", user: str = "1000", campaign: str = "TESTCAMP", group: str = "AGENTS",
       **data) -> NewEvent:
    return NewEvent(kind, user, campaign, group, data)


def seen(reader) -> list[tuple[int, str, str, str, str]]:
    return [(e["id"], e["type"], e["agent"], e["campaign"], e["user_group"]) for e in reader.events]


@pytest.fixture(autouse=True)
def streams_gone(backend):
    """The streams of the tests before are all closed (each holds one of its API user's slots until then)."""
    wait_for(lambda: not backend.services.streams.open, what="the streams of earlier tests closed")


@pytest.fixture
def integrator(db):
    """User 7000: level 7 with view_reports, in user group AGENTS (campaigns TESTCAMP MANCAMP; sees AGENTS)."""
    api_user(db, "7000")
    return ("7000", "1234")


def test_a_caller_sees_only_its_scope(backend, db, integrator):
    append(backend, [ev(), ev(campaign="OTHER"), ev(group="ADMIN"), ev(campaign="MANCAMP", user="1001")])
    restricted = SseReader(backend.server.base_url, auth=integrator, params={"after": 0})
    admin = SseReader(backend.server.base_url, params={"after": 0})
    try:
        append(backend, [ev(kind="call.ended")])  # the last one: once it is in, everything before was read
        restricted.wait(lambda e: e and e[-1]["id"] == 5, "the restricted stream's last event")
        admin.wait(lambda e: e and e[-1]["id"] == 5, "the admin stream's last event")
    finally:
        restricted.close()
        admin.close()
    assert seen(restricted) == [(1, "agent.state", "1000", "TESTCAMP", "AGENTS"),
                                (4, "agent.state", "1001", "MANCAMP", "AGENTS"),
                                (5, "call.ended", "1000", "TESTCAMP", "AGENTS")]
    assert [e["id"] for e in admin.events] == [1, 2, 3, 4, 5]  # -ALL-CAMPAIGNS- and ---ALL---


def test_who_may_not_read_is_told_why(backend, db, integrator):
    client = backend.client
    none = client.get(URL)
    assert (none.status_code, none.json()) == (401, {"error": "authentication required"})
    assert none.headers["www-authenticate"] == 'Basic realm="openagc", Bearer'
    bad = client.get(URL, auth=("6666", "wrong"))
    assert (bad.status_code, bad.json()) == (401, {"error": "invalid user or password"})
    assert db.row("vicidial_users", user="6666")["failed_login_count_today"] == 1  # counted like api.php's
    agent = client.get(URL, auth=("1000", "1234"))  # an agent: level 1
    assert (agent.status_code, agent.json()) == (403, {"error": "events need user level 7 or more with view_reports"})
    api_user(db, "7001", view_reports="0")
    no_reports = client.get(URL, auth=("7001", "1234"))
    assert no_reports.status_code == 403
    outside = client.get(URL, auth=integrator, params={"campaign": "TESTCAMP,OTHER"})
    assert (outside.status_code, outside.json()) == (403, {"error": "campaign not in your scope: OTHER"})
    group = client.get(URL, auth=integrator, params={"user_group": "ADMIN"})
    assert (group.status_code, group.json()) == (403, {"error": "user group not in your scope: ADMIN"})
    kind = client.get(URL, auth=("6666", "1234"), params={"type": "agent.state,agent.dancing"})
    assert kind.status_code == 400 and kind.json()["error"].startswith("unknown event type agent.dancing (known: ")
    after = client.get(URL, auth=("6666", "1234"), params={"after": "x1"})
    assert (after.status_code, after.json()) == (
        400, {"error": "the resume point must be an event id (a whole number), not 'x1'"})


def test_filters_by_type_agent_campaign_and_group(backend, db):
    append(backend, [ev(), ev(kind="call.ended"), ev(user="1001"), ev(campaign="MANCAMP", kind="call.ringing"),
                     ev(group="ADMIN", user="6666", kind="agent.logged_in")])
    filters = {
        "repeated type": [("type", "agent.state"), ("type", "call.ended")],
        "listed types": {"type": "agent.state, call.ringing"},
        "agent": {"agent": "1001"},
        "campaign": {"campaign": "MANCAMP"},
        "group": {"user_group": "ADMIN"},
        "two at once": {"agent": "1000", "type": "call.ended,call.ringing"},
    }
    expected = {
        "repeated type": [1, 2, 3, 6, 8],
        "listed types": [1, 3, 4, 7, 8],
        "agent": [3, 6, 8],
        "campaign": [4, 6, 7, 8],
        "group": [5, 6, 7, 8],
        "two at once": [2, 4, 7],
    }
    api_user(db, "7002", group="ADMIN")  # a second reader (streams per API user are bounded)
    readers = {name: SseReader(backend.server.base_url, auth=("6666", "1234") if i % 2 else ("7002", "1234"),
                               params=[*(p if isinstance(p, list) else p.items()), ("after", "0")])
               for i, (name, p) in enumerate(filters.items())}
    assert {r.status for r in readers.values()} == {200}
    try:
        append(backend, [ev(kind="call.ended", user="1001", campaign="MANCAMP", group="ADMIN"),
                         ev(kind="call.ringing", user="1000", campaign="MANCAMP", group="ADMIN"),
                         ev(kind="agent.state", user="1001", campaign="MANCAMP", group="ADMIN")])
        for name, reader in readers.items():  # read in id order: once its last one is in, it judged them all
            reader.wait(lambda e, name=name: e and e[-1]["id"] == expected[name][-1], f"the {name} stream")
    finally:
        for reader in readers.values():
            reader.close()
    assert {name: [e["id"] for e in reader.events] for name, reader in readers.items()} == expected


def test_a_client_that_comes_back_gets_what_it_missed_and_nothing_twice(backend, db):
    append(backend, [ev(seq=1), ev(seq=2)])
    fresh = SseReader(backend.server.base_url)  # no resume point: only what follows
    first = SseReader(backend.server.base_url, params={"after": 0})
    try:
        append(backend, [ev(seq=3)])
        first.wait(lambda e: len(e) == 3, "the first connection's events")
        fresh.wait(lambda e: len(e) == 1, "the new client's first event")
    finally:
        first.close()
        fresh.close()
    assert [e["data"]["seq"] for e in fresh.events] == [3]
    last = str(first.events[-1]["id"])
    append(backend, [ev(seq=4), ev(seq=5)])  # while it is away
    back = SseReader(backend.server.base_url, headers={"Last-Event-ID": last}, params={"after": 0})
    try:
        append(backend, [ev(seq=6)])
        back.wait(lambda e: len(e) == 3, "what it missed, then what follows")
    finally:
        back.close()
    assert [e["data"]["seq"] for e in first.events] == [1, 2, 3]
    assert [e["data"]["seq"] for e in back.events] == [4, 5, 6]  # Last-Event-ID wins over ?after=
    assert back.messages[0] == {"retry": "2000"}


def test_a_stream_resumes_across_a_server_restart(backend, db):
    services = backend.new_services(engine=False)
    services.settings.command_watch = "off"  # this test's server runs no stock watcher: the backend's does
    server = backend.start(services)
    reader = SseReader(server.base_url, params={"after": 0})
    ws = WsReader(server.base_url, query="after=0")
    append(backend, [ev(seq=1), ev(seq=2)])
    reader.wait(lambda e: len(e) == 2, "the events before the restart")
    wait_for(lambda: len(ws.events) == 2, what="the WebSocket's events")
    server.stop()  # graceful: the streams end their responses, so the shutdown does not wait for them
    assert not server.thread.is_alive()
    assert reader.ended.wait(5) and ws.ended.wait(5)
    assert reader.messages[-1] == {"comment": "the server is shutting down; reconnect with Last-Event-ID"}
    assert ws.close_code == 1012  # service restart
    last = str(reader.events[-1]["id"])
    append(backend, [ev(seq=3)])  # while no server runs
    again = backend.start(backend.new_services(engine=False))
    back = SseReader(again.base_url, headers={"Last-Event-ID": last})
    ws_back = WsReader(again.base_url, query=f"after={ws.events[-1]['id']}")
    try:
        append(backend, [ev(seq=4)])
        back.wait(lambda e: len(e) == 2, "the events since")
        wait_for(lambda: len(ws_back.events) == 2, what="the WebSocket's events since")
    finally:
        back.close()
        ws_back.close()
        again.stop()
    assert [e["data"]["seq"] for e in reader.events + back.events] == [1, 2, 3, 4]
    assert [e["data"]["seq"] for e in ws.events + ws_back.events] == [1, 2, 3, 4]


def test_the_websocket_carries_the_same_events_and_refuses_like_the_stream(backend, db, integrator):
    append(backend, [ev(), ev(campaign="OTHER")])
    ws = WsReader(backend.server.base_url, auth=integrator, query="after=0&type=agent.state,call.ended")
    try:
        ws.send("hello")  # what a client sends is ignored
        ws.send(b"\x00")
        append(backend, [ev(kind="call.ended"), ev(kind="call.ringing"), ev(kind="call.ended", campaign="OTHER"),
                         ev(kind="agent.state", user="1001")])
        wait_for(lambda: ws.events and ws.events[-1]["id"] == 6, what="the last event")
    finally:
        ws.close()
    assert [(e["id"], e["type"]) for e in ws.events] == [(1, "agent.state"), (3, "call.ended"), (6, "agent.state")]
    assert ws.events[0] == {"id": 1, "type": "agent.state", "time": "2026-01-15T10:30:00.000+00:00",
                            "agent": "1000", "campaign": "TESTCAMP", "user_group": "AGENTS", "data": {}}
    with pytest.raises(InvalidStatus) as bad:
        WsReader(backend.server.base_url, auth=("6666", "nope"))
    assert bad.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as foreign:
        WsReader(backend.server.base_url, headers={"Origin": "https://evil.example"})
    assert foreign.value.response.status_code == 403
    with pytest.raises(InvalidStatus) as scope:
        WsReader(backend.server.base_url, auth=integrator, query="campaign=OTHER")
    assert scope.value.response.status_code == 403


def test_a_resume_point_older_than_retention_gets_a_reset_first(backend, db):
    # (within the server's own 72 hours, so that only this test's pruning, with a shorter retention, removes them)
    append(backend, [ev(seq=1), ev(seq=2), ev(seq=3)], at=FROZEN_AT - timedelta(hours=50))
    append(backend, [ev(seq=4), ev(seq=5)], at=FROZEN_AT - timedelta(hours=1))

    async def prune(hours: float) -> int:
        services = backend.new_services(engine=False)
        services.settings.event_retention_hours = hours
        try:
            return await events_part.prune(services)
        finally:
            await services.db.dispose()

    assert asyncio.run(prune(72)) == 0  # all within 72 hours
    assert asyncio.run(prune(24)) == 3  # the three of 50 hours ago go
    assert [r["event_id"] for r in db.rows("openagc_events", order_by="event_id")] == [4, 5]
    lost = SseReader(backend.server.base_url, params={"after": 1})
    kept = SseReader(backend.server.base_url, params={"after": 3})
    ws = WsReader(backend.server.base_url, query="after=1")
    try:
        lost.wait(lambda e: len(e) == 2, "the events still kept")
        kept.wait(lambda e: len(e) == 2, "the events after its resume point")
        wait_for(lambda: len(ws.events) == 2, what="the WebSocket's kept events")
    finally:
        lost.close()
        kept.close()
        ws.close()
    reset = {"after": 1, "resumed_after": 3, "oldest": 4, "newest": 5}
    assert lost.messages[1] == {"id": "3", "event": "reset", "data": reset}
    assert [e["data"]["seq"] for e in lost.events] == [4, 5]
    assert not kept.named("reset") and [e["data"]["seq"] for e in kept.events] == [4, 5]
    assert ws.messages[0] == {"type": "reset", **reset}


def test_streams_are_bounded_per_api_user(backend, db):
    limit = backend.services.settings.streams_per_session

    def open_now() -> int:
        return backend.services.streams.open.get("api-events:6666", 0)

    readers = [SseReader(backend.server.base_url) for _ in range(limit)]
    try:
        assert {r.status for r in readers} == {200}
        refused = backend.client.get(URL, auth=("6666", "1234"))
        assert (refused.status_code, refused.json()) == (429, {"error": "too many event streams open"})
        readers.pop().close()  # one leaves: its slot is given back
        wait_for(lambda: open_now() == limit - 1, what="the slot given back")
        readers.append(SseReader(backend.server.base_url))
        assert readers[-1].status == 200
    finally:
        for reader in readers:
            reader.close()


def test_an_api_key_reads_with_its_users_scope(backend, db, integrator):
    with backend.sync.begin() as conn:
        _, token = keys.create(conn, user="7000", name="crm")
    append(backend, [ev(campaign="OTHER"), ev()])
    bearer = {"Authorization": f"Bearer {token}"}
    reader = SseReader(backend.server.base_url, auth=None, headers=bearer, params={"after": 0})
    try:
        reader.wait(lambda e: e and e[-1]["id"] == 2, "the event in its scope")
    finally:
        reader.close()
    assert seen(reader) == [(2, "agent.state", "1000", "TESTCAMP", "AGENTS")]
    wrong = backend.client.get(URL, headers={"Authorization": "Bearer oagc_nope_nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid API key"})
