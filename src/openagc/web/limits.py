"""Request bodies: a size (413) and a deadline (408); a client that leaves mid-request is one log line.

Pure ASGI (no buffering, streams untouched): the declared `Content-Length` is checked before anything is
read, and the bytes actually received are counted, so a chunked body cannot pass the limit either.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("openagc.web")


class BodyTooLarge(Exception):
    """The request body is over the limit."""


class BodyTimeout(Exception):
    """The request body did not arrive in time."""


class BodyLimits:
    """`max_bytes` per request body and `timeout` seconds to receive all of it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, timeout: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await _answer(send, 413, "request body too large")
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        received = 0
        complete = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()  # after the body only a disconnect can come: no deadline
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise BodyTimeout from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
                complete = not message.get("more_body", False)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            log.warning("%s %s: body over %d bytes refused", _peer(scope), scope.get("path"), self.max_bytes)
            if not started:
                await _answer(send, 413, "request body too large")
        except BodyTimeout:
            log.warning("%s %s: body not received within %gs", _peer(scope), scope.get("path"), self.timeout)
            if not started:
                await _answer(send, 408, "request body not received in time")
        except ClientDisconnect:
            log.warning("%s %s: client disconnected mid-request", _peer(scope), scope.get("path"))


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _peer(scope: Scope) -> str:
    client: Any = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else "client"


async def _answer(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
