"""Repeated slashes in a request path are merged, as Apache does by default (`MergeSlashes On`).

Clients written against upstream behind Apache may request `//agc/api.php` (a base URL ending in `/` joined
with a path starting with one) and Apache serves it as `/agc/api.php`. `MergeSlashes` rewrites the ASGI scope's
`path` and `raw_path` before any other middleware or route sees them, so every route, header rule and the CSRF
guard apply to the merged path. The query string is left as sent.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

_RUN = re.compile(r"/{2,}")
_RAW_RUN = re.compile(rb"/{2,}")


def merge_slashes(path: str) -> str:
    """`path` with every run of slashes made one slash."""
    return _RUN.sub("/", path)


class MergeSlashes:
    """ASGI middleware: `//agc//api.php` is served as `/agc/api.php` (HTTP and WebSocket scopes)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "//" in scope.get("path", ""):
            scope = dict(scope)
            scope["path"] = merge_slashes(scope["path"])
            raw = scope.get("raw_path")
            if isinstance(raw, bytes):
                scope["raw_path"] = _RAW_RUN.sub(b"/", raw)
        await self.app(scope, receive, send)
