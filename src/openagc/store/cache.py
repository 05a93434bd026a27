"""A small time-bounded cache for rows that almost never change (system settings, active servers, campaigns).

Upstream's own admin pages change these rows with plain SQL, so no notification can reach us; the
bound on staleness is the time-to-live (`Settings.cache_seconds`, 1 s by default, 0 turns caching off).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any


class TtlCache:
    """Values by key, each kept for `ttl()` seconds of the monotonic clock."""

    def __init__(self, ttl: Callable[[], float], now: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._now = now
        self._values: dict[Hashable, tuple[float, Any]] = {}

    async def get(self, key: Hashable, load: Callable[[], Awaitable[Any]]) -> Any:
        ttl = self._ttl()
        if ttl > 0:
            hit = self._values.get(key)
            if hit is not None and self._now() - hit[0] < ttl:
                return hit[1]
        value = await load()
        if ttl > 0:
            self._values[key] = (self._now(), value)
        return value

    def clear(self) -> None:
        self._values.clear()
