"""The browser origin's response headers.

`/agc/api.php` and `/vicidial/non_agent_api.php` keep upstream's bytes and `text/html` type, but a browser may
not run or frame them: `Content-Security-Policy: sandbox; default-src 'none'` (a unique opaque origin, no
script, nothing loaded) and `nosniff`. Everything else (the console, `/agent/`) gets a strict policy: only this
origin's scripts, styles and connections, never framed.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PATHS = frozenset({"/agc/api.php", "/vicidial/non_agent_api.php"})  # upstream's text answers
API_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}
APP_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
           "font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
APP_HEADERS = {
    "Content-Security-Policy": APP_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


class SecurityHeaders:
    """Adds the headers of the path's kind to every response (an app's own value is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = API_HEADERS if scope.get("path") in API_PATHS else APP_HEADERS

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)
