"""Per-key rate limits: a token bucket for each API key (ours; upstream has no rate limit).

A key of rate N (requests a minute; its own `rate`, else the `api_key_rate` setting; 0: no limit) holds at most N
tokens and gains N every 60 seconds, continuously; each request takes one, and a request finding less than one is
refused (HTTP 429) before anything is read or written for it. Every answer to a keyed request carries the IETF
httpapi ratelimit-headers (draft 07) fields:

    RateLimit-Limit: N            RateLimit-Remaining: whole tokens left
    RateLimit-Reset: seconds until the bucket is full again          RateLimit-Policy: N;w=60
    Retry-After: seconds until one token (on a 429 only)

Where the bucket lives: in this process's memory, unless `redis_url` is set — then in Redis (one hash per key,
updated by a Lua script with Redis's own clock), so every process in front of the database shares it. If Redis does
not answer, each process falls back to its own bucket (a key may then get up to N a minute from each process) and
says so once in the log; it asks Redis again every `REDIS_RETRY` seconds (not on every request, so a Redis that
hangs costs one timeout, not one a request) and goes back to it as soon as it answers.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from openagc.metrics import RATE_LIMITED
from openagc.store.schema import openagc_api_keys

if TYPE_CHECKING:
    from openagc.services import Services

log = logging.getLogger(__name__)

WINDOW = 60  # seconds in which a bucket refills completely
LIMITER = "rate_limiter"  # services.extra key of this process's Limiter
STATE = "openagc_rate_limit"  # request.state attribute: the Decision whose headers `RateLimitHeaders` adds
REDIS_PREFIX = "openagc:ratelimit:"
REDIS_RETRY = 5.0  # seconds between tries of a Redis that did not answer

# KEYS[1] the bucket; ARGV: capacity, tokens gained per millisecond. Returns {allowed 0|1, tokens left (a string:
# Lua numbers come back to the client truncated to integers)}. Redis's TIME, so every client agrees on the time.
BUCKET_SCRIPT = """
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local data = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(data[1]) or capacity
local at = tonumber(data[2]) or now
if now > at then tokens = math.min(capacity, tokens + (now - at) * per_ms) end
if tokens > capacity then tokens = capacity end
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) / per_ms) + 1000)
return {allowed, string.format('%.6f', tokens)}
"""


@dataclass(frozen=True)
class Decision:
    """One request's turn at its key's bucket."""

    allowed: bool
    limit: int
    tokens: float  # left after this request

    @property
    def remaining(self) -> int:
        return max(0, math.floor(self.tokens + 1e-9))

    @property
    def reset(self) -> int:
        """Seconds until the bucket is full again."""
        return max(0, math.ceil((self.limit - self.tokens) * WINDOW / self.limit - 1e-9))

    @property
    def retry_after(self) -> int:
        """Seconds until one token is there (at least 1)."""
        return max(1, math.ceil((1 - self.tokens) * WINDOW / self.limit - 1e-9))

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
            "RateLimit-Policy": f"{self.limit};w={WINDOW}",
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


def refused_line(decision: Decision) -> str:
    """api.php's text answer to a refused request, shaped like upstream's ERROR lines (`ERROR: reason - details`)."""
    return f"ERROR: rate limit exceeded - retry in {decision.retry_after} seconds\n"


class Limiter:
    """This process's buckets (memory), or the shared ones in Redis when a URL is given."""

    def __init__(self, default_rate: Callable[[], int], seconds: Callable[[], float] = time.monotonic,
                 redis_url: str = "") -> None:
        self.default_rate = default_rate
        self.seconds = seconds
        self.redis_url = redis_url
        self._buckets: dict[str, tuple[float, float]] = {}  # bucket name → (tokens, at seconds)
        self._redis: Any = None
        self._script: Any = None
        self._redis_failing = False
        self._redis_retry_at = 0.0  # monotonic time before which a failing Redis is not asked again

    def rate_of(self, rate: int | None) -> int:
        return self.default_rate() if rate is None else rate

    async def take(self, bucket: str, rate: int | None) -> Decision | None:
        """Take one token from `bucket` (a key's public id) of `rate` a minute; None when the key has no limit."""
        capacity = self.rate_of(rate)
        if capacity <= 0:
            return None
        if self.redis_url and time.monotonic() >= self._redis_retry_at:
            shared = await self._take_redis(bucket, capacity)
            if shared is not None:
                return shared
        return self._take_local(bucket, capacity)

    def _take_local(self, bucket: str, capacity: int) -> Decision:
        now = self.seconds()
        tokens, at = self._buckets.get(bucket, (float(capacity), now))
        tokens = min(float(capacity), tokens + max(0.0, now - at) * capacity / WINDOW)
        allowed = tokens >= 1
        if allowed:
            tokens -= 1
        self._buckets[bucket] = (tokens, now)
        return Decision(allowed, capacity, tokens)

    async def _take_redis(self, bucket: str, capacity: int) -> Decision | None:
        from redis.exceptions import RedisError

        try:
            if self._script is None:
                from redis import asyncio as redis

                self._redis = redis.from_url(self.redis_url, socket_connect_timeout=1, socket_timeout=1)
                self._script = self._redis.register_script(BUCKET_SCRIPT)
            allowed, tokens = await self._script(keys=[REDIS_PREFIX + bucket], args=[capacity, capacity / 60_000])
        except (RedisError, OSError) as exc:
            if not self._redis_failing:
                log.warning("rate limits fall back to this process's own buckets: Redis does not answer (%s)",
                            exc.__class__.__name__)
            self._redis_failing = True
            self._redis_retry_at = time.monotonic() + REDIS_RETRY
            return None
        if self._redis_failing:
            log.warning("rate limits are shared through Redis again")
            self._redis_failing = False
        return Decision(bool(int(allowed)), capacity, float(tokens))

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
            self._redis, self._script = None, None


def limiter(services: Services) -> Limiter:
    """This process's limiter (made on first use): the setting's rate, the services' clock, Redis when set."""
    found = services.extra.get(LIMITER)
    if found is None:
        settings, clock = services.settings, services.clock

        def seconds() -> float:  # a frozen clock (tests, simulations) stops the refill; else the monotonic clock
            return clock.now().timestamp() if clock.frozen else time.monotonic()

        found = services.extra[LIMITER] = Limiter(lambda: settings.api_key_rate, seconds, settings.redis_url)
    return found


async def admit(request: Request, services: Services, conn: AsyncConnection, key_id: int) -> None:
    """An integrator endpoint's turn for key `key_id` (resolved by `integrations.caller`): its headers are added to
    the answer (`RateLimitHeaders`); an empty bucket raises 429 with `Retry-After` before the endpoint runs."""
    K = openagc_api_keys.c
    row = (await conn.execute(sa.select(K.public_id, K.rate).where(K.key_id == key_id))).first()
    if row is None:
        return
    decision = await limiter(services).take(row.public_id, row.rate)
    if decision is None:
        return
    setattr(request.state, STATE, decision)
    if not decision.allowed:
        RATE_LIMITED.labels("api/v1").inc()
        raise HTTPException(429, f"rate limit exceeded - retry in {decision.retry_after} seconds",
                            headers=decision.headers())


class RateLimitHeaders:
    """ASGI middleware: the rate headers of a keyed integrator request (`/api/…`) on whatever answers it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope.get("path", "").startswith("/api/"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                decision = (scope.get("state") or {}).get(STATE)
                if isinstance(decision, Decision):
                    headers = MutableHeaders(scope=message)
                    for name, value in decision.headers().items():
                        if name not in headers:
                            headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
