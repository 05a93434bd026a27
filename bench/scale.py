"""Scale: N logged-in simulated agents; API p99 under load, memory per idle session, idle sweep cost.

    .venv/bin/python bench/scale.py --database sqlite --agents 1000,2000,5000
    .venv/bin/python bench/scale.py --database mariadb --agents 1000,2000,5000
    .venv/bin/python bench/scale.py --agents 200 --idle-seconds 5 --duration 5      # smoke check
    .venv/bin/python bench/scale.py --database mariadb --agents 5000 --engines 2 --api-workers 2   # scale-out

For each N the script creates a fresh database with N more agents (users 90000…, copies of user 1000, each
with its own phone and a spare `vicidial_conferences` row), starts `openagc serve --engine on` (simulated
switch) in its own process and:

1. measures the server's CPU over `--idle-seconds` with no agent logged in, and its RSS (VmRSS);
2. logs the N agents in through `POST /agent/login` (`--login-concurrency` requests in flight; in-group
   TEST_IN, not blended, so no auto-dialing) and makes them ready (`POST /agent/ready` → CLOSER); a login
   answered 503 "no free conference" (concurrent logins on MariaDB) or "database busy, try again" is sent again
   and counted as a retry;
3. once every agent is CLOSER, measures RSS again → KB per idle session = (RSS after − RSS before) / N;
   the agents log in in two halves, and the second half's growth / (N/2) is also shown: the marginal
   cost of a session without the one-off allocations (code paths, caches) of the first logins;
4. measures the server's CPU (utime + stime) over `--idle-seconds` with no API traffic: what the engine's
   wake-ups and sweep (every `OPENAGC_SWEEP_SECONDS`, `--sweep-seconds`) cost with N idle agents;
5. sends `--traffic-rate` requests/s of that traffic alone for `--duration` seconds and reports their
   latency (the API's p50/p99 at a steady, realistic rate with N agents logged in);
6. runs background traffic (`--traffic-rate` requests/s of random `external_pause` PAUSE/RESUME and
   `external_status` over the N agents, each waking a session) while `wrk` drives `external_pause` PAUSE
   (`source=bench`, agent_user rotating over the N agents) for `--duration` seconds; then checks that
   every wrk request wrote a SUCCESS `vicidial_api_log` row (the traffic's rows carry `source=traffic`).

With `--engines K` (K ≥ 1) the API and the engines run apart, as in the scale-out deployment: one
`openagc serve --engine off --workers --api-workers` process takes the Agent API traffic, K `openagc serve
--engine on` processes share the agents (engine/shards.py), all woken through Redis (`--redis-url`); the logins
go to the engines in turn. CPU and RSS are then the engines' (each engine's idle CPU is shown too), and the
table gains a column: the shards each engine holds.

The simulated switch only accepts inbound callers in-process (`SimulatedSwitch.inject_inbound`), so the
traffic is driven through the Agent API instead. Prints a Markdown table row per N and a `machine:` line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa
from common import cpu_seconds, free_port, fresh_database, machine, parse_wrk, percentile, serve, stop, tree

from openagc.store import command_records
from openagc.store.database import make_sync_engine
from openagc.store.demo import SERVER_IP
from openagc.store.schema import (
    openagc_commands,
    phones,
    vicidial_api_log,
    vicidial_conferences,
    vicidial_live_agents,
    vicidial_users,
)

FIRST_AGENT = 90000  # above every demo user, also as a string (the readiness query compares strings)
FIRST_CONF = 8700000
LOGIN_ATTEMPTS = 50
AUTH = "user=6666&pass=1234"
BENCH_QUERY = f"source=bench&{AUTH}&function=external_pause&value=PAUSE&agent_user="
EXPECTED = ("SUCCESS", "external_pause function set")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- database ---------------------------------------------------------------------------------------------


def prepare(kind: str, workdir: Path, agents: int) -> str:
    """A fresh database with agents 90000… (user 1000's row), a phone each and a spare conference each."""
    url = fresh_database(kind, workdir, name="openagc_scale")
    engine = make_sync_engine(url)
    with engine.begin() as conn:
        user = dict(conn.execute(sa.select(vicidial_users).where(vicidial_users.c.user == "1000")).mappings().one())
        user.pop("user_id", None)
        phone = dict(conn.execute(sa.select(phones).where(phones.c.login == "1000")).mappings().one())
        users, phone_rows, confs = [], [], []
        for i in range(agents):
            name = str(FIRST_AGENT + i)
            users.append(user | {"user": name, "full_name": f"Scale {name}", "phone_login": name, "custom_three": ""})
            phone_rows.append(
                phone
                | {
                    "extension": name,
                    "dialplan_number": name,
                    "voicemail_id": name,
                    "login": name,
                    "fullname": f"Phone {name}",
                }
            )
            confs.append({"conf_exten": FIRST_CONF + i, "server_ip": SERVER_IP, "extension": "", "leave_3way": "0"})
        for table, rows in ((vicidial_users, users), (phones, phone_rows), (vicidial_conferences, confs)):
            for start in range(0, len(rows), 1000):
                conn.execute(sa.insert(table), rows[start : start + 1000])
    engine.dispose()
    return url


def count_status(url: str, statuses: tuple[str, ...]) -> int:
    engine = make_sync_engine(url)
    with engine.connect() as c:
        n = c.execute(
            sa.select(sa.func.count())
            .select_from(vicidial_live_agents)
            .where(vicidial_live_agents.c.status.in_(statuses), vicidial_live_agents.c.user >= str(FIRST_AGENT))
        ).scalar()
    engine.dispose()
    return int(n or 0)


def bench_log_rows(url: str) -> list[tuple[str, str]]:
    L = vicidial_api_log.c
    engine = make_sync_engine(url)
    with engine.connect() as c:
        rows = c.execute(sa.select(L.result, L.result_reason).where(L.source == "bench")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def queued_commands(url: str) -> int:
    """Command records not yet carried out: the engine's backlog."""
    engine = make_sync_engine(url)
    with engine.connect() as c:
        n = c.execute(sa.select(sa.func.count()).select_from(openagc_commands)
                      .where(openagc_commands.c.state == command_records.QUEUED)).scalar()
    engine.dispose()
    return int(n or 0)


def drained(url: str, limit: float = 300.0) -> tuple[int, float, int]:
    """The engine's backlog now, the seconds until it is carried out, and what is still left after `limit`."""
    backlog, t0 = queued_commands(url), time.monotonic()
    left = backlog
    while left and time.monotonic() - t0 < limit:
        time.sleep(0.25)
        left = queued_commands(url)
    return backlog, time.monotonic() - t0, left


def clear_logs(url: str) -> None:
    engine = make_sync_engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("DELETE FROM vicidial_api_log")
        c.exec_driver_sql("DELETE FROM vicidial_api_urls")
    engine.dispose()


# --- the server process -------------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])  # kB
        except OSError:
            pass
    return total / 1024


def idle_cpu_percent(pid: int, seconds: float) -> float:
    """CPU % of one core the server spends over `seconds` with no requests."""
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (cpu_seconds(pid) - c0) / (time.monotonic() - t0)


# --- driving the agents ----------------------------------------------------------------------------------


@dataclass
class Logins:
    failures: int = 0
    retries: int = 0  # logins answered 503 ("no free conference", "database busy, try again") and sent again
    login_s: float = 0.0
    ready_s: float = 0.0


async def login_all(base: str, users: list[str], concurrency: int, out: Logins) -> None:
    """Log `users` in and make them ready, adding to `out`."""
    limit = asyncio.Semaphore(concurrency)
    tokens: dict[str, str] = {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    def failed(what: str, r: httpx.Response) -> None:
        out.failures += 1
        if out.failures <= 3:
            print(f"{what}: {r.status_code} {r.text[:200]}", file=sys.stderr)

    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:

        async def login(user: str) -> None:
            body = {
                "user": user,
                "pass": "1234",
                "phone_login": user,
                "phone_pass": "test",
                "campaign": "TESTCAMP",
                "ingroups": ["TEST_IN"],
                "blended": False,
            }
            for attempt in range(LOGIN_ATTEMPTS):
                async with limit:
                    r = await client.post("/agent/login", json=body)
                if r.status_code == 200 and "token" in r.json():
                    tokens[user] = r.json()["token"]
                    return
                if r.status_code != 503 or attempt == LOGIN_ATTEMPTS - 1 or not (
                        "conference" in r.text or "try again" in r.text):
                    failed(f"login {user}", r)
                    return
                # concurrent logins on MariaDB can all miss a free conference (see the report), or exhaust their
                # retries of a deadlock on a loaded machine ("database busy, try again"): try again
                out.retries += 1
                await asyncio.sleep(random.uniform(0.01, 0.1))

        async def ready(user: str) -> None:
            async with limit:
                r = await client.post("/agent/ready", headers={"Authorization": f"Bearer {tokens[user]}"})
            if r.status_code != 200:
                failed(f"ready {user}", r)

        t0 = time.monotonic()
        await asyncio.gather(*(login(u) for u in users))
        t1 = time.monotonic()
        await asyncio.gather(*(ready(u) for u in tokens))
        t2 = time.monotonic()
    out.login_s += t1 - t0
    out.ready_s += t2 - t1


class Traffic(threading.Thread):
    """Random external_pause PAUSE/RESUME and external_status over the agents at about `rate` requests/s."""

    def __init__(self, base: str, agents: int, rate: float, seed: int = 1) -> None:
        super().__init__(daemon=True)
        self.base, self.agents, self.rate = base, agents, rate
        self.rng = random.Random(seed)
        self.halt = threading.Event()
        self.sent = self.success = self.refused = self.failed = 0
        self.latencies_ms: list[float] = []

    def run(self) -> None:
        if self.rate <= 0:
            return
        period = 1.0 / self.rate
        due = time.monotonic()
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self.halt.is_set():
                agent = FIRST_AGENT + self.rng.randrange(self.agents)
                pick = self.rng.random()
                if pick < 0.45:
                    query = "function=external_pause&value=RESUME"
                elif pick < 0.9:
                    query = "function=external_pause&value=PAUSE"
                else:
                    query = "function=external_status&value=A"
                try:
                    started = time.perf_counter()
                    text = client.get(f"/agc/api.php?source=traffic&{AUTH}&{query}&agent_user={agent}").text
                    self.latencies_ms.append((time.perf_counter() - started) * 1000)
                    self.sent += 1
                    # RESUME of an agent that is not paused is refused by the API, as upstream's
                    self.success += text.startswith("SUCCESS")
                    self.refused += text.startswith("ERROR")
                except httpx.HTTPError:
                    self.failed += 1
                due += period
                self.halt.wait(max(0.0, due - time.monotonic()))


def rotate_script(workdir: Path, agents: int) -> Path:
    path = workdir / "scale_rotate.lua"
    path.write_text(
        "local n = 0\n"
        "request = function()\n"
        f"  n = (n + 1) % {agents}\n"
        f"  return wrk.format('GET', '/agc/api.php?{BENCH_QUERY}' .. ({FIRST_AGENT} + n))\n"
        "end\n"
    )
    return path


# --- one N ---------------------------------------------------------------------------------------------------


def shards_held(url: str) -> list[int]:
    """Shards leased to each live engine, most first."""
    from openagc.store.schema import openagc_engine_leases as leases

    engine = make_sync_engine(url)
    with engine.connect() as c:
        holders = [r[0] for r in c.execute(sa.select(leases.c.holder).where(
            leases.c.name.startswith("shard:"), leases.c.holder != ""))]
    engine.dispose()
    return sorted(Counter(holders).values(), reverse=True)


def start_apart(url: str, engines: int, api_workers: int, redis_url: str, procs: list[subprocess.Popen],
                env: dict[str, str] | None = None) -> tuple[list[str], str]:
    """The scale-out layout: `engines` engine processes and one API process (`--engine off`, `api_workers`
    workers), woken through Redis, each added to `procs` as it starts (the caller stops them); returns the engines'
    base URLs and the API's."""
    engine_bases = []
    for _ in range(engines):
        port = free_port()
        procs.append(serve(url, port, engine="on", redis_url=redis_url, env=env))
        engine_bases.append(f"http://127.0.0.1:{port}")
    port = free_port()
    procs.append(serve(url, port, engine="off", workers=api_workers, redis_url=redis_url, env=env))
    return engine_bases, f"http://127.0.0.1:{port}"


def log_in_turns(engine_bases: list[str], users: list[str], concurrency: int, out: Logins) -> None:
    """Log `users` in (and make them ready) through the engines in turn."""
    for i, base in enumerate(engine_bases):
        asyncio.run(login_all(base, users[i::len(engine_bases)], concurrency, out))


def run_one(args: argparse.Namespace, agents: int) -> tuple[str, bool]:
    workdir = Path(tempfile.mkdtemp(prefix="openagc-bench-"))
    url = prepare(args.database, workdir, agents)
    env = {"OPENAGC_SWEEP_SECONDS": str(args.sweep_seconds)} if args.sweep_seconds else {}
    procs: list[subprocess.Popen] = []
    try:
        if args.engines:  # the API and K engines apart, woken through Redis
            engine_bases, base = start_apart(url, args.engines, args.api_workers, args.redis_url, procs, env)
            engines = procs[:-1]
        else:  # one process: API and engine
            port = free_port()
            procs.append(serve(url, port, engine="on", env=env))
            engines, base = list(procs), f"http://127.0.0.1:{port}"
            engine_bases = [base]

        def engines_cpu(seconds: float) -> tuple[float, list[float]]:
            c0, t0 = [cpu_seconds(p.pid) for p in engines], time.monotonic()
            time.sleep(seconds)
            each = [100 * (cpu_seconds(p.pid) - c) / (time.monotonic() - t0) for p, c in zip(engines, c0, strict=True)]
            return sum(each), each

        def engines_rss() -> float:
            return sum(rss_mb(p.pid) for p in engines)

        time.sleep(2 + args.engines)  # the engines divide the shards (one renewal each)
        empty_cpu, _ = engines_cpu(args.idle_seconds)
        rss_before = engines_rss()
        # two halves: the second one's RSS growth is the marginal cost, without one-off warm-up allocations
        users = [str(FIRST_AGENT + i) for i in range(agents)]
        half = agents // 2
        logins = Logins()

        def log_in(some: list[str]) -> None:
            log_in_turns(engine_bases, some, args.login_concurrency, logins)

        log_in(users[:half])
        time.sleep(1)
        rss_mid = engines_rss()
        log_in(users[half:])
        deadline = time.monotonic() + 60
        while count_status(url, ("READY", "CLOSER")) < agents and time.monotonic() < deadline:
            time.sleep(0.5)
        idle = count_status(url, ("READY", "CLOSER"))
        time.sleep(2)
        rss_after = engines_rss()
        sweep_cpu, sweep_each = engines_cpu(args.idle_seconds)
        held = shards_held(url)

        # steady traffic alone: the API's latency at a realistic rate with N agents logged in
        steady = Traffic(base, agents, args.traffic_rate, seed=2)
        steady.start()
        time.sleep(args.duration)
        steady.halt.set()
        steady.join(30)
        steady_p50, steady_p99 = percentile(steady.latencies_ms, 50), percentile(steady.latencies_ms, 99)

        clear_logs(url)
        traffic = Traffic(base, agents, args.traffic_rate)
        traffic.start()
        wrk = subprocess.run(
            [
                "wrk",
                f"-t{args.threads}",
                f"-c{args.connections}",
                f"-d{args.duration}s",
                "--latency",
                "-s",
                str(rotate_script(workdir, agents)),
                f"{base}/",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        traffic.halt.set()
        traffic.join(30)
        backlog, drain_s, left = drained(url)
        stats = parse_wrk(wrk.stdout)
        time.sleep(0.5)
        rows = bench_log_rows(url)
        correct = all(r == EXPECTED for r in rows)
        counted = stats["requests"] <= len(rows) <= stats["requests"] + args.connections
        ok = correct and counted and stats["non2xx"] == 0 and logins.failures == 0 and idle == agents
        ok = ok and left == 0
        kb = (rss_after - rss_before) * 1024 / agents
        marginal = (rss_after - rss_mid) * 1024 / max(1, agents - half)
        row = (
            f"| {agents} | {args.database} | {rss_before:.1f} | {rss_after:.1f} | {kb:.1f} | {sweep_cpu:.1f} "
            f"| {stats.get('p50', 0):.2f} | {stats.get('p99', 0):.2f} | {stats['rps']:.0f} | {'yes' if ok else 'NO'} "
            f"| {marginal:.1f} | {logins.login_s:.1f} + {logins.ready_s:.1f} ({logins.retries} retries) "
            f"| {empty_cpu:.1f} "
            f"| {traffic.sent} ({traffic.success} ok, {traffic.refused} refused, {traffic.failed} failed) "
            f"| {steady_p50:.2f} | {steady_p99:.2f} "
            f"| {args.engines or 'in-process'}: shards {held}, idle CPU % each {[round(c, 1) for c in sweep_each]} "
            f"| {backlog} | {drain_s:.1f} |"
        )
        if not ok:
            print(
                f"N={agents}: login/ready failures {logins.failures}, idle agents {idle}/{agents}, "
                f"wrk requests {stats['requests']:.0f}, log rows {len(rows)}, all SUCCESS {correct}, "
                f"non-2xx {stats['non2xx']:.0f}",
                file=sys.stderr,
            )
        return row, ok
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="sqlite")
    ap.add_argument("--agents", default="1000,2000,5000", help="comma-separated agent counts")
    ap.add_argument("--login-concurrency", type=int, default=16, help="login/ready requests in flight")
    ap.add_argument("--idle-seconds", type=float, default=20, help="idle interval for the CPU measurements")
    ap.add_argument("--sweep-seconds", type=float, default=0, help="OPENAGC_SWEEP_SECONDS (0: the default)")
    ap.add_argument("--duration", type=int, default=15, help="wrk seconds")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--traffic-rate", type=float, default=50, help="background API requests/s")
    ap.add_argument("--engines", type=int, default=0,
                    help="engine processes apart from the API (0: one process runs the API and the engine)")
    ap.add_argument("--api-workers", type=int, default=2, help="API worker processes with --engines")
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="Redis for wake-ups with --engines")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    from openagc.config import Settings

    sweep = args.sweep_seconds or Settings().sweep_seconds
    print(
        f"machine: {machine()}; sweep every {sweep:g} s; idle CPU over {args.idle_seconds:g} s; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s external_pause PAUSE; "
        f"background traffic {args.traffic_rate:g} req/s; logins {args.login_concurrency} in flight"
    )
    print(
        "| N | db | RSS before MB | RSS after MB | KB per idle session | idle sweep CPU % | API p50 ms | p99 ms "
        "| req/s | all correct | KB per session, 2nd half | login + ready s | CPU % no agents | background requests "
        "| steady-rate p50 ms | steady-rate p99 ms | engines | commands queued at wrk's end | carried out within s |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    failed = False
    for agents in (int(a) for a in args.agents.split(",")):
        row, ok = run_one(args, agents)
        failed |= not ok
        print(row, flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
