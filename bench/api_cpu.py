"""CPU time of one api.php request inside the process, without sockets or a load generator.

    .venv/bin/python bench/api_cpu.py --database sqlite --requests 3000
    .venv/bin/python bench/api_cpu.py --database mariadb --scenarios version,external_pause,external_status
    .venv/bin/python bench/api_cpu.py --database mariadb --scenarios external_pause --profile /tmp/pause.prof
    PYTHONPATH=/path/to/other/tree/src .venv/bin/python bench/api_cpu.py   # the same for another version of the code
    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python bench/api_cpu.py --callgrind \
        --database sqlite --requests 300 --scenarios external_pause   # "Collected" / 300: instructions a request

On a machine shared with other work, wrk's requests a second move with everything else that runs; the CPU time this
process spends per request (`time.process_time`, the database driver's threads included; MariaDB's own work is not)
is a steadier figure for comparing two versions of the request path. The app is the service's own (`create_app`:
every middleware and the route), called directly as ASGI (no HTTP client's work counted); requests rotate over
`--agents` logged-in agents. Scenarios: `version`, `external_pause`, `external_status` and `external_dial` with
`user`/`pass`, and `external_pause_key` with an API key (when this version of the code has keys). Every answer is
checked. On MariaDB the server's own CPU time over the same requests (`/proc/<mariadbd>/stat`, utime + stime) is
printed too: it counts whatever else the server did meanwhile, so take it on a quiet server. `--profile` writes a
cProfile (CPU time) of one more round of each scenario (pstats format). `--callgrind` (under callgrind) counts the
instructions of one round after a warm-up round, independent of other work on the machine (this process only: on
SQLite the database's work included, on MariaDB not).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from api_wrk import DATABASE, FIRST_AGENT, prepare
from common import drop_database, mariadb_cpu

from openagc.config import Settings
from openagc.service import create_app
from openagc.store.database import make_sync_engine

AUTH = {"user": "6666", "pass": "1234"}
#: scenario → (parameters, the answer's expected start)
SCENARIOS = {
    "version": ({"function": "version"}, "VERSION: "),
    "external_pause": ({"function": "external_pause", "value": "PAUSE"} | AUTH,
                       "SUCCESS: external_pause function set"),
    "external_status": ({"function": "external_status", "value": "A"} | AUTH,
                        "SUCCESS: external_status function set"),
    "external_dial": ({"function": "external_dial", "value": "7275551212", "phone_code": "1", "search": "YES",
                       "preview": "NO", "focus": "YES"} | AUTH, "SUCCESS: external_dial function set"),
    "external_pause_key": ({"function": "external_pause", "value": "PAUSE"}, "SUCCESS: external_pause function set"),
}


def make_key(url: str) -> str | None:
    if importlib.util.find_spec("openagc.integrations.keys") is None:
        return None
    from openagc.integrations import keys

    engine = make_sync_engine(url)
    with engine.begin() as conn:
        _, token = keys.create(conn, user="6666", name="bench", rate=100_000_000)
    engine.dispose()
    return token


class Client:
    """Calls the ASGI app directly (a GET with a query string): no HTTP client's own work in the figures."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def get(self, query: dict[str, str], headers: dict[str, str]) -> tuple[int, str]:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": "/agc/api.php", "raw_path": b"/agc/api.php", "root_path": "",
            "query_string": urlencode(query).encode(), "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 40000),
            "headers": [(b"host", b"127.0.0.1:8080")] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        }
        status, body = 0, []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(body).decode()


async def run(url: str, requests: int, agents: int, token: str | None, names: list[str],
              profile: str | None, callgrind: bool = False) -> dict[str, tuple[float, float | None]]:
    """Per scenario: (this process's µs CPU a request, MariaDB's µs CPU a request or None), medians of 3 rounds."""
    app = create_app(Settings(database=url, engine=False, server_name="bench", hostname="bench"))
    out: dict[str, tuple[float, float | None]] = {}
    mariadb = not url.endswith(".db")
    client = Client(app)
    headers_of = {name: {} for name in names}
    if "external_pause_key" in names:
        headers_of["external_pause_key"] = {"Authorization": f"Bearer {token}"}
        _, probe = await client.get({"source": "bench", "function": "external_pause", "agent_user": "1000",
                                     "value": "PAUSE"}, headers_of["external_pause_key"])
        if not token or "Invalid Username/Password" in probe:  # this version's api.php takes no keys
            names = [n for n in names if n != "external_pause_key"]

    async def round_of(name: str) -> None:
        params, expected = SCENARIOS[name]
        for i in range(requests):
            query = {"source": "bench", "agent_user": str(FIRST_AGENT + i % agents)} | params
            status, text = await client.get(query, headers_of[name])
            if not text.startswith(expected):
                raise SystemExit(f"{name}: unexpected answer {status} {text!r}")

    for name in names:
        if callgrind:  # one round warms up; callgrind counts the instructions of the next one only
            await round_of(name)
            subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
            await round_of(name)
            subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)
            continue
        samples, server = [], []
        for _ in range(3):  # the first round warms caches up; the median of the three is reported
            cpu, db_cpu = time.process_time(), mariadb_cpu() if mariadb else None
            await round_of(name)
            samples.append((time.process_time() - cpu) / requests * 1e6)
            if db_cpu is not None:
                server.append((mariadb_cpu() - db_cpu) / requests * 1e6)
        out[name] = (statistics.median(samples), statistics.median(server) if server else None)
        if profile:
            profiler = cProfile.Profile(time.process_time)  # CPU time, not the time spent waiting for the database
            profiler.enable()
            await round_of(name)
            profiler.disable()
            profiler.dump_stats(f"{profile}.{name}")
    await app.state.services.db.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="sqlite")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--scenarios", default="external_pause,external_pause_key",
                    help=f"comma-separated, of {', '.join(SCENARIOS)}")
    ap.add_argument("--callgrind", action="store_true",
                    help="under `valgrind --tool=callgrind --instr-atstart=no`: count one round of one scenario")
    ap.add_argument("--profile", help="write a cProfile of one more round of each scenario to PROFILE.<scenario>")
    args = ap.parse_args()
    url = prepare(args.database, Path(tempfile.mkdtemp(prefix="openagc-bench-cpu-")), args.agents)
    token = make_key(url)
    import openagc

    names = [n for n in args.scenarios.split(",") if n]
    try:
        results = asyncio.run(run(url, args.requests, args.agents, token, names, args.profile, args.callgrind))
    finally:
        drop_database(args.database, DATABASE)
    where = Path(openagc.__file__).resolve().parents[1]
    for name, (micros, server) in results.items():
        db = f"{server:.0f} µs" if server is not None else "—"
        print(f"| {name} | {args.database} | {micros:.0f} µs | {db} | {args.requests} × 3 | {where} |")


if __name__ == "__main__":
    main()
