"""Command outcomes for api.php callers: `command_id` in JSON replies, `wait`, and `GET /agc/commands/{id}`.

`wait` (milliseconds, our extension; upstream ignores unknown parameters) holds a `format=json` answer until the
command reaches a final state or the wait ends. The caller is woken by the outcome itself — the engine publishes
each committed outcome on the bus (`command_records.OUTCOME_TOPIC`, forwarded between processes by the Redis
bridge) — and the record is then read once; nothing polls the database per request.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any

from openagc.bus import Bus
from openagc.store import command_records


class OutcomeWaiter:
    """Listens for command outcomes from the moment it is made (before the command is even committed, so an
    outcome that comes at once is not missed)."""

    def __init__(self, bus: Bus) -> None:
        self._loop = asyncio.get_running_loop()
        self._seen: set[int] = set()
        self._wanted: set[int] = set()
        self._event = asyncio.Event()
        self._unsubscribe = bus.subscribe(command_records.OUTCOME_TOPIC, self._on_outcome)

    def _on_outcome(self, _topic: str, record: Any) -> None:
        if isinstance(record, dict) and isinstance(record.get("command_id"), int):
            self._loop.call_soon_threadsafe(self._note, record["command_id"])

    def _note(self, command_id: int) -> None:
        self._seen.add(command_id)
        if self._wanted and self._wanted <= self._seen:
            self._event.set()

    async def wait(self, command_ids: Iterable[int], seconds: float) -> None:
        """Return once every command has an outcome, or after `seconds`."""
        self._wanted = set(command_ids)
        if self._wanted <= self._seen:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)

    def close(self) -> None:
        self._unsubscribe()


def wanted_wait_ms(raw: dict[str, str], max_ms: int) -> int:
    """The `wait` a request asks for (JSON answers only), bounded by `max_ms`; 0 for none."""
    text = raw.get("wait", "")
    if raw.get("format", "") != "json" or not text.isdigit():
        return 0
    return min(int(text[:9]), max_ms)
