"""bench/side_by_side.py: its answer checks (the real wrk script against a stub server) and its report arithmetic.

No timing is asserted: the stub only has to answer, rightly or wrongly.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from argparse import Namespace
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import side_by_side as sbs  # noqa: E402
from common import parse_wrk  # noqa: E402

WRK_OUTPUT = """\
Running 10s test @ http://127.0.0.1:8090/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    35.10ms   12.01ms 150.22ms   80.00%
    Req/Sec   230.11     40.20   310.00     70.00%
  Latency Distribution
     50%   31.25ms
     75%   40.00ms
     90%   52.00ms
     99%    1.20s
  4600 requests in 10.01s, 1.01MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:    459.54
Transfer/sec:    103.30KB
CHECK pause_PAUSE sent=4616 ok=4590
WRONG 10
SAMPLE "200 ERROR: agent_user is not logged in - 2007\\
"
"""


def test_parse_wrk_reads_rate_percentiles_and_errors():
    stats = parse_wrk(WRK_OUTPUT)
    assert stats["requests"] == 4600
    assert stats["rps"] == 459.54
    assert stats["p50"] == 31.25
    assert stats["p99"] == 1200.0
    assert stats["non2xx"] == 4
    assert stats["socket_errors"] == 3


def test_parse_checks_reads_the_scripts_counts():
    kinds, wrong, samples = sbs.parse_checks(WRK_OUTPUT)
    assert kinds == {"pause_PAUSE": (4616, 4590)}
    assert wrong == 10
    assert samples == ['"200 ERROR: agent_user is not logged in - 2007\\']


def test_lua_pattern_is_the_whole_line_with_its_captures():
    pattern, roles = sbs.lua_pattern("SUCCESS: external_pause function set - PAUSE|{epoch}|{agent}\n", {})
    assert pattern == "^SUCCESS: external_pause function set %- PAUSE|(%d+)|(%d+)\n$"
    assert roles == ["epoch", "agent"]
    pattern, roles = sbs.lua_pattern("VERSION: {version}|DATE: {date}", {"version": "2.14-82"})
    assert pattern == "^VERSION: 2%.14%-82|DATE: %d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d$"
    assert roles == []


def _run(side: str, rps: float, p99: float, cpu: float, *, wrong: int = 0, requests: int = 1000) -> sbs.Run:
    stats = {"rps": rps, "p50": p99 / 2, "p99": p99, "requests": requests, "non2xx": 0, "socket_errors": 0}
    stats["cpu_ms"] = cpu
    return sbs.Run(side, "external_pause", stats, {"pause_PAUSE": (requests + 3, requests - wrong)}, wrong)


def test_summary_takes_medians_and_the_ratio_of_ours_to_the_reference():
    runs = [
        _run("ours", 600, 40, 1.0),
        _run("reference", 400, 30, 2.0),
        _run("ours", 500, 50, 1.5),
        _run("reference", 500, 20, 2.5),
        _run("ours", 700, 45, 1.2),
        _run("reference", 450, 25, 3.0),
    ]
    table = sbs.summary_table(runs, ["ours", "reference"])
    ours, reference, ratios = "600 | 22.50 | 45.00 | 1.20 | 0", "450 | 12.50 | 25.00 | 2.50 | 0", "1.33 | 0.48"
    assert table[2] == f"| external_pause | {ours} | {reference} | {ratios} |"


def test_one_wrong_answer_marks_the_side_failed_in_the_summary():
    runs = [_run("ours", 600, 40, 1.0), _run("reference", 400, 30, 2.0), _run("ours", 650, 40, 1.0, wrong=1)]
    assert runs[2].problems == ["1 wrong answers"]
    assert not runs[0].problems
    row = sbs.summary_table(runs, ["ours", "reference"])[2]
    assert "| 1 FAILED |" in row
    assert row.count("FAILED") == 1


def test_answers_that_do_not_add_up_fail_the_side():
    run = _run("ours", 600, 40, 1.0)
    run.stats["requests"] = 1010  # wrk counted answers the script never checked
    assert run.problems == ["1000 answers checked of 1010"]
    run = _run("ours", 600, 40, 1.0)
    run.kinds["pause_PAUSE"] = (1100, 1000)  # a hundred requests of this kind never got their answer
    assert run.problems == ["pause_PAUSE: 1000 right answers to 1100 requests"]


# --- the wrk script itself, against a stub that answers as upstream would (or wrongly) -------------------------

Answer = Callable[[dict[str, str], int], str]


def right(q: dict[str, str], n: int) -> str:
    epoch = int(time.time())
    if q["function"] == "external_status":
        return f"SUCCESS: external_status function set - {q['value']}|{q['agent_user']}\n"
    if q["function"] == "external_pause":
        return f"SUCCESS: external_pause function set - {q['value']}|{epoch}|{q['agent_user']}\n"
    if q["function"] == "external_dial":
        return f"SUCCESS: external_dial function set - {q['value']}|{q['agent_user']}|1|YES|NO|YES||{epoch}||||\n"
    raise AssertionError(q)


@contextmanager
def stub(answer: Answer) -> Iterator[str]:
    count = [0]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802
            count[0] += 1
            query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
            body = answer(query, count[0]).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def measure(scenario: str, answer: Answer, tmp_path: Path) -> sbs.Run:
    values = {"user": "6666", "password": "1234", "bad_user": "6667", "bad_password": "x", "version": "", "build": ""}
    script = tmp_path / "s.lua"
    script.write_text(sbs.wrk_script(sbs.SCENARIOS[scenario], sbs.REFERENCE, values, agents=5))
    args = Namespace(threads=1, connections=2, duration=1)
    with stub(answer) as base:
        stats, output = sbs.run_wrk(base, script, args)
    kinds, wrong, samples = sbs.parse_checks(output)
    return sbs.Run("reference", scenario, stats, kinds, wrong, samples, args.connections)


needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@needs_wrk
def test_right_answers_pass(tmp_path):
    run = measure("crm_mix", right, tmp_path)
    assert run.stats["requests"] > 0
    assert run.problems == []
    assert set(run.kinds) == {"status_A", "pause_PAUSE", "dial", "pause_RESUME"}


@needs_wrk
def test_every_fifth_answer_naming_another_agent_fails_the_side(tmp_path):
    def sometimes_wrong(q: dict[str, str], n: int) -> str:
        return right(q | {"agent_user": "1000"} if n % 5 == 0 else q, n)  # 1000: not one of the rotated agents

    run = measure("external_status", sometimes_wrong, tmp_path)
    assert run.wrong > 0
    assert f"{run.wrong} wrong answers" in run.problems
    assert "1000" in run.samples[0]


@needs_wrk
def test_a_stale_epoch_is_a_wrong_answer(tmp_path):
    run = measure("external_pause", lambda q, n: right(q, n).replace("|17", "|16", 1), tmp_path)
    assert run.wrong == run.stats["requests"] > 0


@needs_wrk
def test_the_answer_to_another_request_of_the_mix_fails_the_side(tmp_path):
    # every RESUME is answered as if it were a PAUSE: each line is well formed, but the RESUMEs go unanswered
    run = measure("crm_mix", lambda q, n: right(q | {"value": q["value"].replace("RESUME", "PAUSE")}, n), tmp_path)
    assert run.wrong == 0
    sent, ok = run.kinds["pause_RESUME"]
    assert ok == 0 < sent
    assert any(p.startswith("pause_RESUME: 0 right answers") for p in run.problems)
