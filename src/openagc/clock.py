"""An injectable clock: epochs and dates appear in responses and rows, so tests freeze them."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta


class Clock:
    """Wall-clock time in the server's local zone; can be frozen and advanced (tests, simulations)."""

    def __init__(self) -> None:
        self._frozen: datetime | None = None
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The current local time, naive, with microseconds."""
        frozen = self._frozen
        return frozen if frozen is not None else datetime.now()

    def epoch(self) -> int:
        """Unix seconds of `now()`."""
        frozen = self._frozen
        return int(frozen.timestamp()) if frozen is not None else int(time.time())

    def freeze(self, at: datetime) -> None:
        with self._lock:
            self._frozen = at.replace(tzinfo=None)

    def advance(self, seconds: float) -> None:
        with self._lock:
            if self._frozen is None:
                raise RuntimeError("only a frozen clock can be advanced")
            self._frozen += timedelta(seconds=seconds)

    def unfreeze(self) -> None:
        with self._lock:
            self._frozen = None

    @property
    def frozen(self) -> bool:
        return self._frozen is not None


class ScaledClock(Clock):
    """A clock that runs `speed` times faster than the wall clock from the moment it is made (`openagc simulate`:
    the rows' times and durations are simulated time, like the switch's delays). It can be frozen like any Clock."""

    def __init__(self, speed: float) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        super().__init__()
        self.speed = speed
        self._start = datetime.now()
        self._t0 = time.monotonic()

    def now(self) -> datetime:
        frozen = self._frozen
        if frozen is not None:
            return frozen
        return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self.speed)

    def epoch(self) -> int:
        return int(self.now().timestamp())


def fmt_datetime(dt: datetime) -> str:
    """`YYYY-MM-DD HH:MM:SS` (upstream's NOW_TIME)."""
    return dt.strftime("%Y-%m-%d %H:%M:%S")


def fmt_date(dt: datetime) -> str:
    """`YYYY-MM-DD` (upstream's NOW_DATE)."""
    return dt.strftime("%Y-%m-%d")


def fmt_entry(dt: datetime) -> str:
    """`YYYYMMDDHHMMSS` (upstream's ENTRYdate)."""
    return dt.strftime("%Y%m%d%H%M%S")


def fmt_cid(dt: datetime) -> str:
    """`MMDDHHMMSS` (upstream's CIDdate)."""
    return dt.strftime("%m%d%H%M%S")
