"""Command outcomes for api.php callers: `command_id` in JSON replies, `wait`, and `GET /agc/commands/{id}`.

`wait` (milliseconds, our extension; upstream ignores unknown parameters) holds a `format=json` answer until the
command reaches a final state or the wait ends. The caller is woken by the outcome itself — the engine publishes
each committed outcome on the bus (`command_records.OUTCOME_TOPIC`, forwarded between processes by the Redis
bridge; `command_records.OutcomeWaiter` listens for it) — and the record is then read once; nothing polls the
database per request.
"""

from __future__ import annotations


def wanted_wait_ms(raw: dict[str, str], max_ms: int) -> int:
    """The `wait` a request asks for (JSON answers only), bounded by `max_ms`; 0 for none."""
    text = raw.get("wait", "")
    if raw.get("format", "") != "json" or not text.isdigit():
        return 0
    return min(int(text[:9]), max_ms)
