"""bench/steady_rate.py: its schedule and its answer checks, against a stub server (no timing is asserted)."""

from __future__ import annotations

import asyncio
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import steady_rate  # noqa: E402
from side_by_side import REFERENCE, SCENARIOS  # noqa: E402

from tests.bench.test_side_by_side import Answer, right, stub  # noqa: E402

VALUES = {"user": "6666", "password": "1234", "bad_user": "6667", "bad_password": "x", "version": "", "build": ""}


def measure(base: str, scenario: str = "crm_mix", rate: float = 200, duration: float = 0.5) -> steady_rate.Outcome:
    return asyncio.run(steady_rate.run_rate(base, SCENARIOS[scenario], REFERENCE, VALUES, agents=5, rate=rate,
                                            duration=duration, connections=4, scenario=scenario, side="reference"))


def test_every_scheduled_request_is_sent_answered_and_checked():
    with stub(right) as base:
        out = measure(base)
    assert out.sent == 100
    assert len(out.latencies_ms) == 100
    assert out.wrong == [] and out.errors == []
    assert out.row().endswith("| 0 | 0 | yes |")


def test_an_answer_naming_another_agent_is_wrong():
    def sometimes_wrong(q: dict[str, str], n: int) -> str:
        other = str(int(q["agent_user"]) + 1)  # one of the rotated agents, but not the one asked for
        return right(q | {"agent_user": other} if n % 5 == 0 else q, n)

    with stub(sometimes_wrong) as base:
        out = measure(base, "external_status")
    assert len(out.wrong) == 20
    assert out.row().endswith("| 20 | 0 | NO |")


def test_a_stale_epoch_is_wrong():
    with stub(lambda q, n: right(q, n).replace("|17", "|16", 1)) as base:
        out = measure(base, "external_pause", duration=0.1)
    assert len(out.wrong) == out.sent == 20


def chunked(answer: Answer) -> ThreadingHTTPServer:
    """A stub answering in chunks of 7 bytes (as nginx in front of PHP-FPM does, with no Content-Length)."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            body = answer({k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}, 0).encode()
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 7):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(body[i:i + 7]), body[i:i + 7]))
            self.wfile.write(b"0\r\n\r\n")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_chunked_answers_are_read_whole():
    server = chunked(right)
    try:
        out = measure(f"http://127.0.0.1:{server.server_address[1]}", "crm_mix", duration=0.2)
    finally:
        server.shutdown()
        server.server_close()
    assert out.sent == len(out.latencies_ms) == 40
    assert out.wrong == [] and out.errors == []


def test_a_server_that_is_not_there_is_all_errors():
    with stub(right) as base:
        pass  # stopped: nothing listens on its port any more
    out = measure(base, "external_pause", duration=0.05)
    assert len(out.errors) == out.sent == 10
    assert out.latencies_ms == []
    assert out.row().endswith("| 0 | 10 | NO |")
