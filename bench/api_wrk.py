"""API throughput and latency with wrk, checked against the api log so a fast wrong answer cannot pass.

    .venv/bin/python bench/api_wrk.py --database sqlite --workers 1 --duration 15
    .venv/bin/python bench/api_wrk.py --database mariadb --workers 2 --duration 15

For each scenario the script starts `openagc serve --engine off` in its own process(es), runs
`wrk -t2 -c16 -d{duration}s --latency`, then counts the vicidial_api_log rows the run wrote and checks
that every one carries the expected result. Prints a Markdown table row per scenario.

The agent-level scenarios spread their requests over `--agents` logged-in agents (a wrk Lua script turns
`{agent}` into the next agent), as a CRM driving a floor of agents does; `--agents 1` hammers one agent,
whose row lock then serialises every request.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import (
    FIRST_AGENT,
    add_agents,
    cpu_seconds,
    drop_database,
    free_port,
    fresh_database,
    machine,
    mariadb_cpu,
    parse_wrk,
    serve,
    stop,
)

from openagc.store.database import make_sync_engine
from openagc.store.schema import vicidial_api_log

AUTH = "source=bench&user=6666&pass=1234"
DATABASE = f"openagc_bench_wrk_{os.getpid()}"  # this run's own (other runs may share the MariaDB server)
SCENARIOS = {
    # name: (query, expected result, expected reason)
    "version": ("function=version", "SUCCESS", ""),
    "external_pause": (
        f"{AUTH}&function=external_pause&agent_user={{agent}}&value=PAUSE",
        "SUCCESS",
        "external_pause function set",
    ),
    "external_status": (
        f"{AUTH}&function=external_status&agent_user={{agent}}&value=A",
        "SUCCESS",
        "external_status function set",
    ),
    "external_dial": (
        f"{AUTH}&function=external_dial&agent_user={{agent}}&value=7275551212&phone_code=1&search=YES&preview=NO&focus=YES",
        "SUCCESS",
        "external_dial function set",
    ),
    # The same through an API key (Authorization: Bearer, a rate high enough never to refuse: the bucket is taken).
    "external_pause_key": (
        "source=bench&function=external_pause&agent_user={agent}&value=PAUSE",
        "SUCCESS",
        "external_pause function set",
    ),
    "bad_password": (
        "source=bench&user=6666&pass=wrong99&function=external_pause&agent_user={agent}&value=PAUSE",
        "ERROR",
        "Invalid Username/Password",
    ),
}


def prepare(kind: str, workdir: Path, agents: int) -> str:
    """A fresh database whose agents 2000… are logged in, PAUSED, with no lead."""
    url = fresh_database(kind, workdir, DATABASE)
    engine = make_sync_engine(url)
    with engine.begin() as conn:
        add_agents(conn, agents)
    engine.dispose()
    return url


def api_key(url: str) -> str:
    """A key of the API user 6666 for the `_key` scenarios."""
    from openagc.integrations import keys

    engine = make_sync_engine(url)
    with engine.begin() as conn:
        _, token = keys.create(conn, user="6666", name="bench", rate=100_000_000)
    engine.dispose()
    return token


def log_rows(url: str) -> list[tuple[str, str]]:
    engine = make_sync_engine(url)
    with engine.connect() as c:
        rows = c.execute(sa.select(vicidial_api_log.c.result, vicidial_api_log.c.result_reason)).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def clear_logs(url: str) -> None:
    engine = make_sync_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("DELETE FROM vicidial_api_log")
        c.exec_driver_sql("DELETE FROM vicidial_api_urls")
    engine.dispose()


def rotate_agents_script(workdir: Path, query: str, agents: int) -> Path:
    """A wrk Lua script whose every request names the next of the `agents` agents."""
    path = workdir / "rotate.lua"
    head, _, tail = f"/agc/api.php?{query}".partition("{agent}")
    if not _:  # a request that names no agent (version) is the same every time
        path.write_text(f"request = function()\n  return wrk.format('GET', '{head}')\nend\n")
        return path
    path.write_text(
        "local n = 0\n"
        "request = function()\n"
        f"  n = (n + 1) % {agents}\n"
        f"  return wrk.format('GET', '{head}' .. ({FIRST_AGENT} + n) .. '{tail}')\n"
        "end\n"
    )
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--agents", type=int, default=100, help="logged-in agents the requests are spread over")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="openagc-bench-"))
    url = prepare(args.database, workdir, args.agents)
    port = free_port()
    token = api_key(url)
    proc = serve(url, port, workers=args.workers)
    print(f"machine: {machine()}; wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {args.agents} agents")
    print("| scenario | db | workers | req/s | p50 ms | p99 ms | requests | log rows | all correct "
          "| server CPU µs/req | MariaDB CPU µs/req |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    try:
        for name in args.scenarios.split(","):
            query, result, reason = SCENARIOS[name]
            clear_logs(url)
            cpu, db_cpu = cpu_seconds(proc.pid), mariadb_cpu() if args.database == "mariadb" else None
            wrk = subprocess.run(
                [
                    "wrk",
                    f"-t{args.threads}",
                    f"-c{args.connections}",
                    f"-d{args.duration}s",
                    "--latency",
                    *(["-H", f"Authorization: Bearer {token}"] if name.endswith("_key") else []),
                    "-s",
                    str(rotate_agents_script(workdir, query, args.agents)),
                    f"http://127.0.0.1:{port}/",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            stats = parse_wrk(wrk.stdout)
            per = 1e6 / max(stats["requests"], 1)
            cpu = (cpu_seconds(proc.pid) - cpu) * per
            db = f"{(mariadb_cpu() - db_cpu) * per:.0f}" if db_cpu is not None else "—"
            time.sleep(0.5)
            rows = log_rows(url)
            correct = all(r == (result, reason) for r in rows)
            # every answered request wrote its row; requests cut off when wrk stopped may add a few more
            counted = stats["requests"] <= len(rows) <= stats["requests"] + args.connections
            ok = correct and counted and stats["non2xx"] == 0
            failed |= not ok
            print(
                f"| {name} | {args.database} | {args.workers} | {stats['rps']:.0f} | {stats.get('p50', 0):.2f} "
                f"| {stats.get('p99', 0):.2f} | {stats['requests']:.0f} | {len(rows)} | {'yes' if ok else 'NO'} "
                f"| {cpu:.0f} | {db} |",
                flush=True,
            )
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
        drop_database(args.database, DATABASE)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
