"""One signed POST of one event: its body, its headers and what came of it (never raises but to be cancelled: a
refused connection, a timeout, a non-2xx answer or any other error of the request is an `Outcome`)."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from openagc import __version__
from openagc.integrations.webhooks import signing

USER_AGENT = f"openagc/{__version__} (webhooks)"


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: the HTTP status (None without an answer), an error text, when and how long."""

    status: int | None
    error: str
    at_ms: int
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def result(self) -> str:
        """A bounded label: delivered, failed (a non-2xx answer), timeout, or error (no answer: refused, reset…)."""
        if self.ok:
            return "delivered"
        if self.status is not None:
            return "failed"
        return "timeout" if self.error.startswith("timed out") else "error"

    def describe(self) -> str:
        return f"HTTP {self.status}" if self.status is not None else self.error


def body_of(event: dict[str, Any]) -> bytes:
    """The request body: the event's public JSON form, compact, UTF-8."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


async def post(client: httpx.AsyncClient, url: str, secret: str, msg_id: str, body: bytes,
               timeout: float) -> Outcome:
    """POST `body` to `url` signed with `secret`; the whole attempt is bounded by `timeout` seconds.

    The answer's body is not read (only its status counts) and redirects are not followed (a 3xx is a failure).
    """
    at_ms = int(time.time() * 1000)
    headers = signing.headers(secret, msg_id, at_ms // 1000, body) | {"user-agent": USER_AGENT}
    started = time.monotonic()
    status, error = None, ""
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("POST", url, content=body, headers=headers, timeout=timeout,
                                     follow_redirects=False) as response:
                status = response.status_code
    except (TimeoutError, httpx.TimeoutException):
        error = f"timed out after {timeout:g} s"
    except Exception as exc:  # refused, reset, TLS, a URL the client cannot use …: the attempt failed, it is logged
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration_ms = int((time.monotonic() - started) * 1000)
    if status is not None and not 200 <= status < 300:
        error = f"HTTP {status}"
    return Outcome(status=status, error=error[:255], at_ms=at_ms, duration_ms=duration_ms)
