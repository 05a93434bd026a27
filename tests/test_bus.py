"""The bus, and the Redis bridge that carries wake-ups between processes."""

from __future__ import annotations

import asyncio

import pytest

from openagc.bus import AGENT_COMMAND, Bus, RedisBridge

REDIS = "redis://127.0.0.1:6379/0"


def test_in_process_publish_reaches_listeners_until_unsubscribed():
    bus, seen = Bus(), []
    off = bus.subscribe("t", lambda topic, msg: seen.append((topic, msg)))
    bus.publish("t", 1)
    off()
    bus.publish("t", 2)
    assert seen == [("t", 1)]


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379 (make test starts it)")
def test_redis_bridge_carries_agent_commands_between_buses():
    async def scenario() -> tuple[list, list]:
        api_bus, engine_bus = Bus(), Bus()
        api_side, engine_side = RedisBridge(api_bus, REDIS), RedisBridge(engine_bus, REDIS)
        await api_side.start()
        await engine_side.start()
        got: asyncio.Queue = asyncio.Queue()
        engine_bus.subscribe(AGENT_COMMAND, lambda _t, user: got.put_nowait(user))
        echoed: list = []
        api_bus.subscribe(AGENT_COMMAND, lambda _t, user: echoed.append(user))
        api_bus.publish(AGENT_COMMAND, "1000")
        api_bus.publish("not.bridged", "x")
        user = await asyncio.wait_for(got.get(), timeout=5)
        await asyncio.sleep(0.1)
        await api_side.stop()
        await engine_side.stop()
        return [user], echoed

    received, echoed = asyncio.run(scenario())
    assert received == ["1000"]
    assert echoed == ["1000"]  # delivered locally once, not again from Redis
