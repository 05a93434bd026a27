"""Shared by the benchmarks: a fresh database with the demo data, and `openagc serve` in its own process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
if not os.environ.get("PYTHONPATH"):  # PYTHONPATH=<another tree>/src measures that version of the code
    sys.path.insert(0, str(ROOT / "src"))

from openagc.store.database import make_sync_engine  # noqa: E402
from openagc.store.demo import seed_demo  # noqa: E402
from openagc.store.migrate import upgrade  # noqa: E402

MARIADB_ROOT = os.environ.get("OPENAGC_BENCH_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")


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
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env=os.environ | (env or {}),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.5 if workers > 1 else 0.1)
                return proc
        except OSError:
            time.sleep(0.1)
    stop(proc)
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(proc.pid, signal.SIGKILL)


def drop_database(kind: str, name: str) -> None:
    """Drop the MariaDB database `fresh_database` made (an SQLite file goes with its directory)."""
    if kind == "sqlite":
        return
    admin = sa.create_engine(MARIADB_ROOT, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
    admin.dispose()


def _cpu_of(stat: str) -> float:
    """utime + stime in seconds from the text of /proc/<pid>/stat."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def group_cpu(pgid: int) -> float:
    """CPU seconds so far of every live process in process group `pgid` (a server and its workers)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[2]) == pgid:
                total += _cpu_of(stat)
    return total


def mariadb_cpu() -> float | None:
    """MariaDB's CPU seconds so far (`mariadbd`/`mysqld` on this machine), None without one: it counts whatever
    else the server does meanwhile, so take it on a quiet server."""
    for name in ("mariadbd", "mysqld"):
        found = subprocess.run(["pidof", name], capture_output=True, text=True).stdout.split()
        if found:
            return _cpu_of(Path(f"/proc/{found[0]}/stat").read_text())
    return None


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


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
