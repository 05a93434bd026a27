"""Shared by the benchmarks: a fresh database with the demo data, and `openagc serve` in its own process."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):  # PYTHONPATH=<another tree>/src measures that version of the code
    sys.path.insert(0, str(ROOT / "src"))

from openagc.store.database import make_sync_engine  # noqa: E402
from openagc.store.demo import seed_demo  # noqa: E402
from openagc.store.migrate import upgrade  # noqa: E402
from openagc.store.schema import vicidial_live_agents, vicidial_users  # noqa: E402

MARIADB_ROOT = os.environ.get("OPENAGC_BENCH_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")
FIRST_AGENT = 2000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database(kind: str, workdir: Path, name: str = "openagc_bench") -> str:
    """Create, migrate and seed a database; returns the URL `openagc serve --database` takes."""
    if kind == "sqlite":
        url = str(workdir / f"{name}.db")
    else:
        admin = sa.create_engine(MARIADB_ROOT, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
            c.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
        admin.dispose()
        url = f"{MARIADB_ROOT}/{name}".replace("mysql+pymysql", "mysql+asyncmy")
    engine = make_sync_engine(url)
    upgrade(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        seed_demo(conn)
    engine.dispose()
    return url


def add_agents(conn: sa.Connection, count: int, first: int = FIRST_AGENT) -> None:
    """Agents `first`… (copies of demo user 1000), logged in, PAUSED, with no lead; existing ones are replaced."""
    users = [str(first + i) for i in range(count)]
    conn.execute(sa.delete(vicidial_live_agents).where(vicidial_live_agents.c.user.in_(users)))
    conn.execute(sa.delete(vicidial_users).where(vicidial_users.c.user.in_(users)))
    template = dict(conn.execute(sa.select(vicidial_users).where(vicidial_users.c.user == "1000")).mappings().one())
    template.pop("user_id", None)
    for i, user in enumerate(users):
        conn.execute(vicidial_users.insert().values(template | {"user": user, "custom_three": ""}))
        conn.execute(
            vicidial_live_agents.insert().values(
                user=user,
                server_ip="10.10.10.15",
                conf_exten=str(8700000 + i),
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


def serve(
    url: str,
    port: int,
    *,
    engine: str = "off",
    workers: int = 1,
    redis_url: str = "",
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start `openagc serve` and wait until it accepts connections."""
    cmd = [
        str(ROOT / ".venv/bin/openagc"),
        "serve",
        "--database",
        url,
        "--engine",
        engine,
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    if redis_url:
        cmd += ["--redis-url", redis_url]
    # its log goes to a file (`server_log`): a pipe nobody reads would block the server once 64 KB were written
    with tempfile.NamedTemporaryFile(prefix="openagc-serve-", suffix=".log", delete=False) as log:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
            env=os.environ | (env or {}),
        )
    LOGS[proc.pid] = Path(log.name)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {server_log(proc)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5 if workers > 1 else 0.1)
                return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError("server did not start")


LOGS: dict[int, Path] = {}  # server pid → the file its log goes to


def server_log(proc: subprocess.Popen) -> str:
    """What a server started by `serve` has logged so far."""
    path = LOGS.get(proc.pid)
    return path.read_text(errors="replace") if path and path.exists() else ""


def stop(proc: subprocess.Popen) -> None:
    """Stop a server started by `serve` (its log file goes with it)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)
    path = LOGS.pop(proc.pid, None)
    if path is not None:
        path.unlink(missing_ok=True)


def drop_database(kind: str, name: str) -> None:
    """Drop the MariaDB database `fresh_database` made (an SQLite file goes with its directory)."""
    if kind == "sqlite":
        return
    admin = sa.create_engine(MARIADB_ROOT, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    admin.dispose()


def mariadb_cpu() -> float | None:
    """MariaDB's CPU seconds so far (`mariadbd`/`mysqld` on this machine), None without one: it counts whatever
    else the server does meanwhile, so take it on a quiet server."""
    for name in ("mariadbd", "mysqld"):
        found = subprocess.run(["pidof", name], capture_output=True, text=True).stdout.split()
        if found:
            return cpu_seconds(int(found[0]))
    return None


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, seconds) `pid` and its descendants have used so far."""
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        except (OSError, IndexError, ValueError):
            pass
    return total / os.sysconf("SC_CLK_TCK")


def parse_wrk(text: str) -> dict[str, float]:
    """requests, rps, p50 and p99 (ms), non2xx and socket errors from `wrk --latency` output."""
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
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = float(m.group(1)) if m else 0.0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = float(sum(int(g) for g in m.groups())) if m else 0.0
    return out


def machine() -> str:
    """A one-line description of this machine for the results table."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Python {sys.version.split()[0]}"
