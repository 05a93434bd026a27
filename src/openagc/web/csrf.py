"""Cross-site request forgery: an Origin check and a per-session token on every state-changing request.

Applies to `/agent/` and `/console/` (api.php takes credentials in every request, not a cookie).
A request that is not GET/HEAD/OPTIONS is refused (403) when

* its `Origin` is neither this service's own origin nor one of `allowed_origins` (`Origin: null` included),
  or, with no `Origin`, its `Sec-Fetch-Site` says another site or origin sent it;
* it is authenticated by the session cookie (no `Authorization: Bearer`) and its `X-CSRF-Token` header is not
  the session's token. The token is derived from the session's secret token (`csrf_token`), so it changes
  with every login and needs no storage; the page reads it from `/agent/login` and `/agent/state`.

Clients that send `Authorization: Bearer` are not exposed to forgery (a browser never adds that header
by itself) and need no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
GUARDED = ("/agent/", "/console/")
TOKEN_HEADER = "x-csrf-token"
SESSION_COOKIE = "openagc_agent"
NO_TOKEN_PATHS = frozenset({"/agent/login"})  # no session yet: the Origin check alone applies


def csrf_token(session_token: str) -> str:
    """The CSRF token of a session: a one-way function of its secret token."""
    return hmac.new(b"openagc-csrf-v1", session_token.encode(), hashlib.sha256).hexdigest()[:40]


def own_origin(scope: Scope, headers: Headers) -> str:
    scheme = scope.get("scheme", "http")
    host = headers.get("host", "").lower()
    default = {"http": ":80", "https": ":443"}.get(scheme, "")
    if default and host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme}://{host}"


class CsrfGuard:
    """Refuses forged state-changing requests to the console and the agent API (403 with a JSON error)."""

    def __init__(self, app: ASGIApp, *, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed = frozenset(o.strip().rstrip("/").lower() for o in allowed_origins if o.strip())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope.get("method") not in SAFE_METHODS
                and scope.get("path", "").startswith(GUARDED)):
            reason = self.refusal(scope, Headers(scope=scope))
            if reason:
                body = json.dumps({"error": reason}).encode()
                await send({"type": "http.response.start", "status": 403, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope, headers: Headers) -> str:
        origin = headers.get("origin")
        if origin is not None:
            origin = origin.rstrip("/").lower()
            if origin != own_origin(scope, headers) and origin not in self.allowed:
                return "cross-origin request refused"
        elif headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return "cross-site request refused"
        if headers.get("authorization", "").lower().startswith("bearer ") or scope["path"] in NO_TOKEN_PATHS:
            return ""
        session = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE, "")
        if session and not hmac.compare_digest(headers.get(TOKEN_HEADER, "").encode(),
                                               csrf_token(session).encode()):
            return "missing or wrong CSRF token"
        return ""
