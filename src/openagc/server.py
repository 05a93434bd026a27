"""The ASGI server (uvicorn) with the connection limits of `Settings`.

uvicorn bounds concurrency (`limit_concurrency`: 503 beyond it) and idle keep-alive connections
(`timeout_keep_alive`), but a connection that sends nothing, or its request head one byte at a time,
is kept for ever (slowloris). `HeaderDeadline` adds that bound to uvicorn's own HTTP protocol class:
a request line and headers must arrive within `header_timeout` seconds and `max_header_bytes` bytes,
else the connection is closed. The body's own deadline is `web.limits.BodyLimits`'s.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from openagc.config import Settings
from openagc.web import shutdown as server_shutdown

try:  # uvicorn[standard] brings httptools, uvicorn's faster parser ("auto" picks it when installed)
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Fastest
except ImportError:  # pragma: no cover
    _Fastest = H11Protocol  # type: ignore[misc, assignment]

log = logging.getLogger("openagc.server")


class HeaderDeadline:
    """Mixin for a uvicorn HTTP protocol: each request head within a time and a size, else close."""

    cycle: Any
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    config: uvicorn.Config
    client: Any

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0
        self._head_of: Any = None
        self._arm()

    def _arm(self) -> None:
        self._head_of, self._head_bytes = self.cycle, 0
        timeout = getattr(self.config, "header_timeout", 10.0)
        self._head_timer = self.loop.call_later(timeout, self._head_expired)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if self.cycle is self._head_of and not self.transport.is_closing():
            log.warning("closing %s: request head not received in time", _peer(self.client))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._head_timer is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()  # a new request starts on this connection
        self._head_bytes += len(data)
        super().data_received(data)  # type: ignore[misc]
        if self._head_timer is None:
            return
        if self.cycle is not self._head_of:  # the head is complete: uvicorn started a request cycle
            self._disarm()
        elif self._head_bytes > getattr(self.config, "max_header_bytes", 65_536) and not self.transport.is_closing():
            log.warning("closing %s: request head larger than the limit", _peer(self.client))
            self._disarm()
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\n"
                                 b"content-length: 0\r\n\r\n")
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]

    def shutdown(self) -> None:
        """The server is shutting down: event streams on this loop end their responses (`web.shutdown`)."""
        server_shutdown.begin(self.loop)
        super().shutdown()  # type: ignore[misc]


class Protocol(HeaderDeadline, _Fastest):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol (httptools when installed) with the request-head deadline."""


def _peer(client: Any) -> str:
    return f"{client[0]}:{client[1]}" if client else "a client"


def server_config(app: Any, settings: Settings, **options: Any) -> uvicorn.Config:
    """A uvicorn Config for `app` (an app or an import string) carrying every limit of `settings`."""
    config = uvicorn.Config(
        app,
        http=Protocol,
        limit_concurrency=settings.max_connections or None,
        timeout_keep_alive=max(1, round(settings.keepalive_timeout)),
        h11_max_incomplete_event_size=settings.max_header_bytes,
        **options,
    )
    config.header_timeout = settings.header_timeout  # type: ignore[attr-defined]  (read by HeaderDeadline)
    config.max_header_bytes = settings.max_header_bytes  # type: ignore[attr-defined]
    return config


def serve(app: Any, settings: Settings, **options: Any) -> None:
    """Run uvicorn with the limits (`options`: host, port, workers, ssl files, log level …)."""
    config = server_config(app, settings, **options)
    if config.workers > 1:  # `app` is an import string; each worker imports it
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[config.bind_socket()]).run()
        return
    uvicorn.Server(config).run()
