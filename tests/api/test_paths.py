"""Repeated slashes in the path are served as Apache serves them (`MergeSlashes On`, its default).

The requests are written byte for byte on a socket, so no client library normalises the path first.
"""

from __future__ import annotations

import json
import socket

import pytest

from tests.support import Backend

QUERY = "source=test&user=6666&pass=1234&agent_user=1000&function=external_hangup&value=1"


def _raw(backend: Backend, method: str, target: str, headers: dict[str, str] | None = None,
         body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
    """Send one request as written and read the whole answer: (status, headers, body)."""
    server = backend.server
    head = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Connection: close",
            f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    raw_head, _, payload = data.partition(b"\r\n\r\n")
    status_line, *lines = raw_head.decode("latin-1").split("\r\n")
    fields = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
    if fields.get("transfer-encoding") == "chunked":
        payload = _dechunk(payload)
    return int(status_line.split()[1]), fields, payload


def _dechunk(payload: bytes) -> bytes:
    out = b""
    while payload:
        size_text, _, rest = payload.partition(b"\r\n")
        size = int(size_text, 16)
        if size == 0:
            break
        out, payload = out + rest[:size], rest[size + 2:]
    return out


@pytest.mark.parametrize("path", ["//agc/api.php", "/agc//api.php", "///agc///api.php"])
def test_repeated_slashes_reach_the_api_like_a_single_one(backend, db, login, path):
    login("1000")
    status, headers, body = _raw(backend, "GET", f"{path}?{QUERY}")
    assert (status, body) == (200, b"SUCCESS: external_hangup function set - 1|1000\n")
    assert headers["content-security-policy"].startswith("sandbox")  # the API's own headers: the merged path
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == "1"
    log = db.last_log()
    assert (log["function"], log["result"], log["agent_user"]) == ("external_hangup", "SUCCESS", "1000")
    assert db.row("vicidial_api_urls", api_id=log["api_id"])["url"].startswith("source=test&user=6666&pass=XXXX")


def test_a_post_to_a_doubled_path_is_served_too(backend, db, login):
    login("1000")
    status, _, body = _raw(backend, "POST", "//agc/api.php", {"Content-Type": "application/x-www-form-urlencoded"},
                           QUERY.encode())
    assert (status, body) == (200, b"SUCCESS: external_hangup function set - 1|1000\n")
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == "1"


def test_the_query_string_keeps_its_slashes(backend, db):
    status, _, body = _raw(backend, "GET", "//agc/api.php?function=version&vendor_id=a//b")
    assert status == 200 and body.startswith(b"VERSION: 2.14-82|")
    assert "vendor_id=a//b" in db.row("vicidial_api_urls", api_id=db.last_log()["api_id"])["url"]


def test_every_route_merges_slashes(backend, db):
    status, headers, body = _raw(backend, "GET", "//healthz")
    assert status == 200 and b'"database"' in body
    status, _, body = _raw(backend, "GET", "//agc//commands//999999?user=6666&pass=1234")
    assert (status, json.loads(body)) == (404, {"error": "no such command"})


def test_the_csrf_guard_sees_the_merged_path(backend, db):
    """A cross-origin POST to `//agent/pause` is refused like one to `/agent/pause` (no way around the guard)."""
    status, _, body = _raw(backend, "POST", "//agent//pause",
                           {"Origin": "http://127.0.0.1:9", "Content-Type": "application/x-www-form-urlencoded"},
                           b"pause_code=X")
    assert (status, json.loads(body)) == (403, {"error": "cross-origin request refused"})


def test_a_path_that_differs_by_more_than_slashes_is_still_not_found(backend, db):
    status, _, _ = _raw(backend, "GET", "//agc/api.phpx?function=version")
    assert status == 404
    assert db.count("vicidial_api_log") == 0
