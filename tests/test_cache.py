"""The time-bounded cache."""

import asyncio

from openagc.store.cache import TtlCache


def test_values_expire_after_their_time_to_live():
    now = [0.0]
    loads = []

    async def load():
        loads.append(now[0])
        return len(loads)

    cache = TtlCache(lambda: 1.0, now=lambda: now[0])

    async def scenario():
        assert await cache.get("k", load) == 1
        now[0] = 0.5
        assert await cache.get("k", load) == 1
        now[0] = 1.5
        assert await cache.get("k", load) == 2

    asyncio.run(scenario())
    assert loads == [0.0, 1.5]


def test_zero_time_to_live_always_reloads():
    calls = []

    async def load():
        calls.append(1)
        return len(calls)

    cache = TtlCache(lambda: 0)
    assert asyncio.run(cache.get("k", load)) == 1
    assert asyncio.run(cache.get("k", load)) == 2
