"""`GET /healthz`: the database, the Redis bridge (connected → reconnecting → connected), the engine, the switch."""

from __future__ import annotations

import json
import logging
import queue
from collections.abc import Iterator

import httpx
import pytest

from openagc.bus import AGENT_COMMAND, RedisBridge
from tests.engine.conftest import wait_for
from tests.support import Backend
from tests.tcp_proxy import TcpProxy
from tests.test_bus import REDIS, _redis_up, kill_client


def test_health_without_redis(backend: Backend):
    r = backend.client.get("/healthz")
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok"
    assert body["database"]["backend"] == backend.kind
    assert (body["bus"], body["engine"], body["switch"]) == (
        {"redis": "off", "since": None, "reconnects": 0}, "off", "off")


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    p = TcpProxy()
    try:
        yield p
    finally:
        p.close()


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379 (make test starts it)")
def test_health_follows_the_redis_bridge_through_an_outage(backend: Backend, proxy: TcpProxy, caplog):
    """The bridge's connection is killed in Redis while Redis stays unreachable for it (the proxy refuses):
    health says `reconnecting` (one log line, however many attempts fail), then `connected` once Redis is
    reachable again, and wake-ups from other processes flow again."""
    caplog.set_level(logging.INFO, logger="openagc.bus")
    services = backend.new_services(engine=False)
    services.settings.redis_url = f"redis://127.0.0.1:{proxy.port}/0"
    server = backend.start(services)
    woken: queue.Queue = queue.Queue()
    services.bus.subscribe(AGENT_COMMAND, lambda _t, user: woken.put(user))
    import redis

    other_process = redis.Redis.from_url(REDIS)  # publishes as another process's bridge would

    def wake(user: str) -> None:
        note = {"origin": "another-process", "topic": AGENT_COMMAND, "message": user}
        other_process.publish(RedisBridge.CHANNEL, json.dumps(note))

    def woke(user: str) -> bool:
        wake(user)
        try:
            return woken.get(timeout=0.05) == user
        except queue.Empty:
            return False

    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as client:

            def health() -> dict:
                return client.get("/healthz").json()

            first = health()
            assert first["bus"]["redis"] == "connected" and first["status"] == "ok"
            assert wait_for(lambda: woke("1000"), what="a wake-up through Redis")
            bridge = services.extra["redis_bridge"]

            proxy.refusing = True
            assert kill_client(bridge.subscriber_name) == 1
            down = wait_for(lambda: (h := health())["bus"]["redis"] == "reconnecting" and h, what="reconnecting")
            assert down["status"] == "degraded" and down["bus"]["since"] > first["bus"]["since"]
            assert client.get("/healthz").status_code == 200  # degraded, not down: the sweep still works
            wait_for(lambda: proxy.refused >= 3, what="several failed reconnects")

            proxy.refusing = False
            up = wait_for(lambda: (h := health())["bus"]["redis"] == "connected" and h, what="connected again")
            assert up["status"] == "ok" and up["bus"]["since"] > down["bus"]["since"]
            assert up["bus"]["reconnects"] == 1
            while not woken.empty():
                woken.get_nowait()
            assert wait_for(lambda: woke("1001"), what="wake-ups after the outage")
    finally:
        other_process.close()
        server.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "openagc.bus"]
    lost = [m for m in messages if m.startswith("Redis bridge lost")]
    back = [m for m in messages if m.startswith("Redis bridge back")]
    assert (len(lost), len(back)) == (1, 1), messages
