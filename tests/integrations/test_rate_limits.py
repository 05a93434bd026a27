"""Per-key rate limits (`integrations/ratelimit.py`) through real requests on both databases: the RateLimit-*
headers on every keyed answer, 429 with Retry-After in text and JSON with nothing written, the refill, the default
rate from the setting, keys without a limit, and buckets shared through Redis."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import uuid

import pytest

from openagc.integrations.ratelimit import REDIS_PREFIX, Limiter
from tests.integrations.test_api_keys import PAUSE, PAUSED, keyed, make_key
from tests.test_bus import REDIS, _redis_up

RESUME = PAUSE | {"value": "RESUME"}


def rates(response) -> dict[str, str]:
    wanted = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy", "Retry-After")
    return {name: response.headers[name] for name in wanted if name in response.headers}


def written(db) -> tuple:
    """What a request could have written: log rows, URL rows, command records, the agent's command column."""
    return (db.count("vicidial_api_log"), db.count("vicidial_api_urls"), db.count("openagc_commands"),
            db.row("vicidial_live_agents", user="1000")["external_pause"], db.rows("openagc_api_keys"))


def test_over_its_rate_a_key_gets_429_and_nothing_is_written(api, db, login, backend):
    login("1000")
    _, token = make_key(backend, rate=2)
    first = keyed(api, token, PAUSE)
    assert (first.status_code, first.text) == (200, PAUSED)
    assert rates(first) == {"RateLimit-Limit": "2", "RateLimit-Remaining": "1", "RateLimit-Reset": "30",
                            "RateLimit-Policy": "2;w=60"}
    second = keyed(api, token, PAUSE)
    assert rates(second) == {"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "60",
                             "RateLimit-Policy": "2;w=60"}
    before = written(db)

    text = keyed(api, token, RESUME)
    assert (text.status_code, text.text) == (429, "ERROR: rate limit exceeded - retry in 30 seconds\n")
    assert rates(text) == {"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "60",
                           "RateLimit-Policy": "2;w=60", "Retry-After": "30"}
    as_json = keyed(api, token, RESUME | {"format": "json"}, method="POST")
    assert (as_json.status_code, as_json.headers["content-type"]) == (429, "application/json")
    assert as_json.json() == {"result": "ERROR", "reason": "rate limit exceeded",
                              "details": ["retry in 30 seconds"], "notices": []}
    assert as_json.headers["Retry-After"] == "30"
    assert written(db) == before

    backend.services.clock.advance(15)  # half a token: still refused, sooner
    assert keyed(api, token, RESUME).text == "ERROR: rate limit exceeded - retry in 15 seconds\n"
    backend.services.clock.advance(15)  # one token
    again = keyed(api, token, PAUSE)
    assert (again.status_code, again.text) == (200, PAUSED.replace("1768473000", "1768473030"))
    assert rates(again)["RateLimit-Remaining"] == "0"


def test_the_default_rate_is_the_setting_and_zero_is_no_limit(api, db, login, backend, monkeypatch):
    login("1000")
    monkeypatch.setattr(backend.services.settings, "api_key_rate", 1)
    _, default = make_key(backend)
    _, unlimited = make_key(backend, rate=0)
    assert rates(keyed(api, default, PAUSE))["RateLimit-Limit"] == "1"
    assert keyed(api, default, PAUSE).status_code == 429
    for _ in range(5):
        r = keyed(api, unlimited, PAUSE)
        assert (r.status_code, r.text, rates(r)) == (200, PAUSED, {})
    assert rates(api.get(**PAUSE)) == {}  # a password's request has no bucket
    monkeypatch.setattr(backend.services.settings, "api_key_rate", 0)
    assert (keyed(api, default, PAUSE).status_code, rates(keyed(api, default, PAUSE))) == (200, {})


def test_a_dead_key_takes_no_turn(api, db, login, backend):
    login("1000")
    _, token = make_key(backend, rate=1)
    for _ in range(3):
        r = keyed(api, token + "x", PAUSE)
        assert (r.status_code, rates(r)) == (200, {})
    assert rates(keyed(api, token, PAUSE))["RateLimit-Remaining"] == "0"


def test_integrator_endpoints_share_the_key_s_bucket(api, db, login, backend):
    login("1000")
    _, token = make_key(backend, rate=2)
    assert keyed(api, token, PAUSE).status_code == 200
    listed = api.client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"})
    assert (listed.status_code, rates(listed)["RateLimit-Remaining"]) == (200, "0")
    before = written(db)
    refused = api.client.get("/api/v1/webhooks", headers={"Authorization": f"Bearer {token}"})
    assert (refused.status_code, refused.json()) == (429, {"error": "rate limit exceeded - retry in 30 seconds"})
    assert rates(refused) == {"RateLimit-Limit": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "60",
                              "RateLimit-Policy": "2;w=60", "Retry-After": "30"}
    assert keyed(api, token, PAUSE).status_code == 429
    assert written(db) == before


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379 (make test starts it)")
def test_buckets_are_shared_through_redis():
    """Two limiters (two processes) on one Redis draw from one bucket; Redis keeps it no longer than its refill."""
    import redis

    bucket = f"test-{uuid.uuid4().hex[:12]}"

    async def go() -> list:
        first, second = (Limiter(lambda: 2, redis_url=REDIS) for _ in range(2))
        try:
            taken = [await first.take(bucket, None), await second.take(bucket, None), await first.take(bucket, None)]
            ttl = redis.Redis.from_url(REDIS).pttl(REDIS_PREFIX + bucket)
            return [(d.allowed, d.remaining) for d in taken] + [0 < ttl <= 61_000]
        finally:
            await first.close()
            await second.close()

    try:
        assert asyncio.run(go()) == [(True, 1), (True, 0), (False, 0), True]
    finally:
        redis.Redis.from_url(REDIS).delete(REDIS_PREFIX + bucket)


def test_without_redis_each_process_keeps_its_own_bucket(caplog):
    """Redis not answering (a port that accepts and hangs up at once): the limiter says so once, limits with this
    process's bucket, and does not ask Redis again on the next requests."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[int] = []

    def hang_up() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    url = f"redis://127.0.0.1:{listener.getsockname()[1]}/0"

    async def go() -> tuple[list, int, int]:
        limiter = Limiter(lambda: 2, redis_url=url)
        try:
            first = await limiter.take("b", None)
            tried = len(accepted)
            rest = [await limiter.take("b", None) for _ in range(2)]
            return [(d.allowed, d.remaining) for d in [first, *rest]], tried, len(accepted)
        finally:
            await limiter.close()

    try:
        with caplog.at_level(logging.WARNING, logger="openagc.integrations.ratelimit"):
            taken, tried, after = asyncio.run(go())
    finally:
        listener.close()
    assert taken == [(True, 1), (True, 0), (False, 0)]
    assert tried >= 1 and after == tried
    assert [r.getMessage() for r in caplog.records] == [
        "rate limits fall back to this process's own buckets: Redis does not answer (ConnectionError)"]
