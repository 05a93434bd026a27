"""API throughput and latency with wrk, checked against the api log so a fast wrong answer cannot pass.

    .venv/bin/python bench/api_wrk.py --database sqlite --workers 1 --duration 15
    .venv/bin/python bench/api_wrk.py --database mariadb --workers 2 --duration 15

For each scenario the script starts `openagc serve --engine off` in its own process(es), runs
`wrk -t2 -c16 -d{duration}s --latency`, then counts the vicidial_api_log rows the run wrote and checks
that every one carries the expected result. Prints a Markdown table row per scenario.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from openagc.store.database import make_sync_engine  # noqa: E402
from openagc.store.demo import seed_demo  # noqa: E402
from openagc.store.migrate import upgrade  # noqa: E402
from openagc.store.schema import vicidial_api_log, vicidial_live_agents  # noqa: E402

AUTH = "source=bench&user=6666&pass=1234"
AGENTS = [str(n) for n in range(1000, 1002)]
SCENARIOS = {
    # name: (query, expected result, expected reason)
    "version": ("function=version", "SUCCESS", ""),
    "external_pause": (
        f"{AUTH}&function=external_pause&agent_user=1000&value=PAUSE",
        "SUCCESS",
        "external_pause function set",
    ),
    "external_status": (
        f"{AUTH}&function=external_status&agent_user=1000&value=A",
        "SUCCESS",
        "external_status function set",
    ),
    "external_dial": (
        f"{AUTH}&function=external_dial&agent_user=1000&value=7275551212&phone_code=1"
        "&search=YES&preview=NO&focus=YES",
        "SUCCESS",
        "external_dial function set",
    ),
    "bad_password": (
        "source=bench&user=6666&pass=wrong99&function=external_pause&agent_user=1000&value=PAUSE",
        "ERROR",
        "Invalid Username/Password",
    ),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        url = str(workdir / "bench.db")
    else:
        admin = sa.create_engine("mysql+pymysql://root@127.0.0.1:3306", isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql("DROP DATABASE IF EXISTS openagc_bench")
            c.exec_driver_sql("CREATE DATABASE openagc_bench CHARACTER SET utf8mb4")
        admin.dispose()
        url = "mysql+asyncmy://root@127.0.0.1:3306/openagc_bench"
    engine = make_sync_engine(url)
    upgrade(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        seed_demo(conn)
        for i, user in enumerate(AGENTS):
            conn.execute(
                vicidial_live_agents.insert().values(
                    user=user,
                    server_ip="10.10.10.15",
                    conf_exten=str(8600051 + i),
                    extension=f"SIP/{user}",
                    status="PAUSED",
                    lead_id=0,
                    campaign_id="TESTCAMP",
                    uniqueid="",
                    callerid="",
                    channel="",
                    random_id=1,
                    closer_campaigns="",
                    comments="",
                )
            )
    engine.dispose()
    return url


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


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    cmd = [
        str(ROOT / ".venv/bin/openagc"),
        "serve",
        "--database",
        url,
        "--engine",
        "off",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5 if workers > 1 else 0.1)
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server did not start: {proc.stderr.read().decode() if proc.stderr else ''}")


def parse_wrk(text: str) -> dict[str, float]:
    out: dict[str, float] = {}
    m = re.search(r"(\d+) requests in", text)
    out["requests"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if m:
            value = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            out[f"p{pct}"] = value
    out["non2xx"] = (
        float(re.search(r"Non-2xx or 3xx responses: (\d+)", text).group(1)) if "Non-2xx" in text else 0
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="sqlite")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--duration", type=int, default=15)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="openagc-bench-"))
    url = prepare(args.database, workdir)
    port = free_port()
    proc = start_server(url, port, args.workers)
    print("| scenario | db | workers | req/s | p50 ms | p99 ms | requests | log rows | all correct |")
    print("|---|---|---|---|---|---|---|---|---|")
    failed = False
    try:
        for name in args.scenarios.split(","):
            query, result, reason = SCENARIOS[name]
            clear_logs(url)
            wrk = subprocess.run(
                [
                    "wrk",
                    f"-t{args.threads}",
                    f"-c{args.connections}",
                    f"-d{args.duration}s",
                    "--latency",
                    f"http://127.0.0.1:{port}/agc/api.php?{query}",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            stats = parse_wrk(wrk.stdout)
            time.sleep(0.5)
            rows = log_rows(url)
            correct = all(r == (result, reason) for r in rows)
            # every answered request wrote its row; requests cut off when wrk stopped may add a few more
            counted = stats["requests"] <= len(rows) <= stats["requests"] + args.connections
            ok = correct and counted and stats["non2xx"] == 0
            failed |= not ok
            print(
                f"| {name} | {args.database} | {args.workers} | {stats['rps']:.0f} | {stats.get('p50', 0):.2f} "
                f"| {stats.get('p99', 0):.2f} | {stats['requests']:.0f} | {len(rows)} | {'yes' if ok else 'NO'} |",
                flush=True,
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
