"""Resource abuse at the HTTP layer: body size and deadline, slow request heads, connections, Host rows."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support import AUTH, Backend, LiveServer


@pytest.fixture
def tight(backend: Backend, db) -> Iterator[LiveServer]:
    """A server of this backend with small limits (the service's defaults would make the tests slow)."""
    services = backend.new_services(engine=False)
    s = services.settings
    s.server_name, s.header_timeout, s.body_timeout, s.max_connections = "", 0.5, 0.5, 8
    s.max_body_bytes, s.max_header_bytes = 4096, 2048
    server = backend.start(services)
    yield server
    server.stop()
    backend.servers.remove(server)


def _raw(server: LiveServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=5)


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        while chunk := sock.recv(4096):
            if b"HTTP/1.1 4" in chunk:  # an error answer is a close too
                return True
        return True
    except (TimeoutError, ConnectionResetError):
        return False


def test_a_large_post_body_is_refused_unread_and_not_stored(api, db, backend):
    """H1: a 2 MB body (limit 1 MiB) is a 413, on the declared length and on a chunked body alike."""
    body = b"function=version&" + b"x=" + b"A" * 2_000_000
    r = backend.client.post("/agc/api.php", content=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    chunks = (body[i:i + 65536] for i in range(0, len(body), 65536))
    r = backend.client.post("/agc/api.php", content=chunks,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 413
    assert db.count("vicidial_api_log") == 0 and db.count("vicidial_api_urls") == 0
    assert api("version").startswith("VERSION:")  # the service (and its pooled connection) is fine


def test_what_the_api_log_stores_is_bounded(api, db, backend):
    """H1: a body under the limit is logged, but only its first `api_log_chars` characters."""
    r = backend.client.post("/agc/api.php", data={"function": "version", "vendor_id": "V" * 500_000})
    assert r.status_code == 200
    url = db.row("vicidial_api_urls")["url"]
    assert len(url) == backend.services.settings.api_log_chars and url.startswith("function=version&vendor_id=VVV")


def test_many_form_fields_are_capped(api, db, backend):
    """Fields past `max_form_fields` are ignored (PHP's max_input_vars): `function` here is the 50,001st."""
    body = "&".join(f"f{i}=1" for i in range(50_000)) + "&function=version"
    r = backend.client.post("/agc/api.php", content=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (r.status_code, r.text) == (200, "ERROR: Invalid Source - \n")  # as if no function was sent


def test_slow_request_heads_are_cut_off(tight):
    """M9 (slowloris): connections that send nothing, or their head byte by byte, are closed at the deadline."""
    silent = [_raw(tight) for _ in range(3)]
    dripping = [_raw(tight) for _ in range(3)]
    for sock in dripping:
        sock.sendall(b"GET /agc/api.php?function=version HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    for _ in range(3):  # keep dripping header lines past the deadline
        time.sleep(0.25)
        for sock in dripping:
            try:
                sock.sendall(b"X-a: b\r\n")
            except OSError:
                pass
    assert all(_closed_within(sock, 2) for sock in silent + dripping)
    assert time.monotonic() - started < 3
    assert httpx.get(f"{tight.base_url}/agc/api.php", params={"function": "version"}).status_code == 200


def test_an_oversized_request_head_is_refused(tight):
    sock = _raw(tight)
    sock.sendall(b"GET /agc/api.php HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4096 + b"\r\n")
    sock.settimeout(2)
    assert sock.recv(100).startswith(b"HTTP/1.1 431")


def test_a_slow_body_is_cut_off(tight, db):
    """M9: the body must arrive within the body deadline (408), and nothing is stored."""
    sock = _raw(tight)
    sock.sendall(b"POST /agc/api.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 100\r\n\r\nfunction=version")
    sock.settimeout(3)
    assert sock.recv(100).startswith(b"HTTP/1.1 408")
    assert db.count("vicidial_api_log") == 0


def test_connections_beyond_the_limit_get_503(tight):
    held = [_raw(tight) for _ in range(8)]
    try:
        r = httpx.get(f"{tight.base_url}/agc/api.php", params={"function": "version"})
        assert r.status_code == 503
    finally:
        for sock in held:
            sock.close()


def test_a_client_leaving_mid_body_is_one_log_line(tight, caplog):
    """L3: no traceback, one line."""
    caplog.set_level(logging.INFO)
    sock = _raw(tight)
    sock.sendall(b"POST /agc/api.php HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nfunction=ver")
    time.sleep(0.1)
    sock.close()
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and not any("disconnected" in r.getMessage() for r in caplog.records):
        time.sleep(0.05)
    mine = [r for r in caplog.records if "disconnected mid-request" in r.getMessage()]
    assert len(mine) == 1
    assert not [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]


def test_host_headers_do_not_write_rows(tight, db):
    """M10: distinct Host headers (names and ports) add no vicidial_webservers / vicidial_urls rows."""
    with httpx.Client(base_url=tight.base_url) as client:
        for i in range(30):
            client.get("/agc/api.php", params={"function": "version"}, headers={"Host": f"h{i}.example:{1000 + i}"})
    assert db.count("vicidial_webservers") == 1 and db.count("vicidial_urls") == 1
    scheme = "https" if "443" in str(tight.port) else "http"  # upstream's rule; the port is ephemeral
    assert db.row("vicidial_urls")["url"] == f"{scheme}://127.0.0.1:{tight.port}/agc/api.php"


def test_encoded_password_name_is_masked(api, db, backend):
    """M8: `p%61ss=` authenticates (it decodes to `pass`) and is masked in the log like `pass=`."""
    query = "source=test&user=6666&p%61ss=1234&function=external_pause&agent_user=1000&value=PAUSE&pass=9876"
    backend.client.get(f"/agc/api.php?{query}")
    url = db.row("vicidial_api_urls")["url"]
    assert "1234" not in url and "9876" not in url
    assert url == ("source=test&user=6666&p%61ss=XXXXXXXX&function=external_pause&agent_user=1000&value=PAUSE"
                   "&pass=XXXXXXXX")
    r = backend.client.post("/agc/api.php", data=AUTH | {"function": "version2"}, params={"p%61ss": "x"})
    assert "1234" not in db.rows("vicidial_api_urls")[-1]["url"] if r.text else True
