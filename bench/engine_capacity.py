"""Engine capacity: how many agents K engine processes carry, each held to a fixed share of a CPU.

    .venv/bin/python bench/engine_capacity.py --database mariadb --agents 500 --engines 1 --engine-cpu 25
    .venv/bin/python bench/engine_capacity.py --database mariadb --agents 1000 --engines 2 --engine-cpu 25
    .venv/bin/python bench/engine_capacity.py --database mariadb --agents 1000 --engines 1 --engine-cpu 25

The scale-out layout of `scale.py --engines K` (one `openagc serve --engine off` process with `--api-workers`
workers takes the Agent API traffic; K `openagc serve --engine on` processes share the agents through their shard
leases, woken through Redis), on one machine. Each engine process is then put in a cgroup of its own whose CPU
quota is `--engine-cpu` percent of one core (Linux cgroups, v1 `cpu` or v2 `cpu.max`; root needed): on a machine
with few cores, engines that would each have a machine of their own otherwise take CPU from one another, from the
API and from MariaDB, and K engines could only be compared with one if each is held to the same budget.

1. The `--agents` agents (users 90000…, as in `scale.py`) log in through the engines in turn and are made ready
   (CLOSER, no auto-dialing); then the quotas are set.
2. For `--duration` seconds every agent receives a command every `1 / --rate-per-agent` seconds, through
   `api.php` (`external_pause`, PAUSE and RESUME alternating per agent, so every command changes the agent's
   state; the agents' first commands spread over the first period). The load is `agents × rate` commands a
   second, sent on schedule whatever the answers' latency (`--in-flight` at most at once).
3. Every answer must be the SUCCESS line, and every command's record (`openagc_commands`) must end `applied` by the
   engine, each once (the script waits up to 60 s for the last ones). The command → effect latency of each command
   is its record's `ended_ms − created_ms` (the engine's commit against the API's); p50, p99 and the slowest are
   reported, with the engines' CPU over the phase and the time the quota held them back (`throttled`).

An engine's capacity is the load at which this latency stays low: run one engine with N agents and K engines
with K·N, both at the same quota, and compare their latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import httpx
import sqlalchemy as sa
from common import cpu_seconds, machine, percentile, server_log, stop, tree
from scale import AUTH, FIRST_AGENT, Logins, count_status, log_in_turns, prepare, shards_held, start_apart

from openagc.store.database import make_sync_engine
from openagc.store.schema import openagc_commands

EXPECTED = "SUCCESS: external_pause function set"
CGROUP_V1, CGROUP_V2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
PERIOD_US = 10_000  # a short period: a burst is held back for milliseconds, not tens of them
LATE_S = 0.1  # a command sent later than this after its time counts as a late send


class CpuQuota:
    """A cgroup holding processes to `percent` of one core (v1 `cpu.cfs_quota_us`, or v2 `cpu.max`)."""

    def __init__(self, name: str, percent: float) -> None:
        quota = int(PERIOD_US * percent / 100)
        if (CGROUP_V1 / "cpu.cfs_quota_us").exists():
            self.path = CGROUP_V1 / name
            self.path.mkdir()
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        elif (CGROUP_V2 / "cgroup.controllers").exists():
            (CGROUP_V2 / "cgroup.subtree_control").write_text("+cpu")
            self.path = CGROUP_V2 / name
            self.path.mkdir()
            (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}")
        else:
            raise SystemExit("no cgroup cpu controller found: --engine-cpu needs Linux cgroups (and root)")

    def hold(self, pid: int) -> None:
        for p in tree(pid):  # the process and its children (their threads follow the process)
            (self.path / "cgroup.procs").write_text(str(p))

    def throttled_s(self) -> float:
        stat = dict(line.split() for line in (self.path / "cpu.stat").read_text().splitlines())
        if "throttled_usec" in stat:  # v2
            return int(stat["throttled_usec"]) / 1e6
        return int(stat.get("throttled_time", 0)) / 1e9  # v1: nanoseconds

    def remove(self, parent_procs: Path) -> None:
        for pid in (self.path / "cgroup.procs").read_text().split():
            try:
                parent_procs.write_text(pid)
            except OSError:  # gone meanwhile
                pass
        self.path.rmdir()


async def drive(base: str, agents: int, rate_per_agent: float, seconds: float, in_flight: int
                ) -> tuple[Counter[str], int]:
    """Send each agent PAUSE, RESUME, … every 1/rate s for `seconds`; returns the answers' count and the number
    of requests sent more than `LATE_S` after their time (the driver fell behind: the load was not what it says)."""
    period = 1.0 / rate_per_agent
    answers: Counter[str] = Counter()
    limit = asyncio.Semaphore(in_flight)
    late = 0
    limits = httpx.Limits(max_connections=in_flight, max_keepalive_connections=in_flight)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def one(agent: int, value: str) -> None:
            async with limit:
                r = await client.get(f"/agc/api.php?source=bench&{AUTH}&function=external_pause&value={value}"
                                     f"&agent_user={agent}")
            answers[r.text.split(" - ")[0].strip()] += 1

        schedule = sorted((n * period + i * period / agents, FIRST_AGENT + i, "PAUSE" if n % 2 == 0 else "RESUME")
                          for i in range(agents) for n in range(int(seconds * rate_per_agent)))
        tasks = []
        t0 = time.monotonic()
        for at, agent, value in schedule:
            delay = t0 + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            elif delay < -LATE_S:
                late += 1
            tasks.append(asyncio.create_task(one(agent, value)))
        await asyncio.gather(*tasks)
    return answers, late


def records_since(url: str, since_ms: int) -> list[dict]:
    C = openagc_commands.c
    engine = make_sync_engine(url)
    with engine.connect() as c:
        rows = c.execute(sa.select(C.user, C.state, C.ended_by, C.created_ms, C.ended_ms).where(
            C.created_ms >= since_ms, C.command == "external_pause")).mappings().all()
    engine.dispose()
    return [dict(r) for r in rows]


def run(args: argparse.Namespace) -> bool:
    workdir = Path(tempfile.mkdtemp(prefix="openagc-capacity-"))
    url = prepare(args.database, workdir, args.agents)
    procs: list[subprocess.Popen] = []
    quotas: list[CpuQuota] = []
    try:
        engine_bases, base = start_apart(url, args.engines, args.api_workers, args.redis_url, procs)
        engines = procs[:-1]
        time.sleep(2 + args.engines)  # the engines divide the shards

        users = [str(FIRST_AGENT + i) for i in range(args.agents)]
        logins = Logins()
        log_in_turns(engine_bases, users, args.login_concurrency, logins)
        deadline = time.monotonic() + 60
        while count_status(url, ("CLOSER",)) < args.agents and time.monotonic() < deadline:
            time.sleep(0.5)
        ready = count_status(url, ("CLOSER",))
        held = shards_held(url)

        if args.engine_cpu:
            for n, proc in enumerate(engines):
                quota = CpuQuota(f"openagc-engine-{proc.pid}-{n}", args.engine_cpu)
                quota.hold(proc.pid)
                quotas.append(quota)
        time.sleep(2)
        throttled0 = [q.throttled_s() for q in quotas]
        cpu0, t0 = [cpu_seconds(p.pid) for p in engines], time.monotonic()
        since_ms = int(time.time() * 1000)
        answers, late = asyncio.run(drive(base, args.agents, args.rate_per_agent, args.duration, args.in_flight))
        sent = sum(answers.values())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = records_since(url, since_ms)
            if len(found) >= sent and all(r["state"] != "queued" for r in found):
                break
            time.sleep(0.5)
        elapsed = time.monotonic() - t0
        cpu = [100 * (cpu_seconds(p.pid) - c) / elapsed for p, c in zip(engines, cpu0, strict=True)]
        throttled = [q.throttled_s() - t for q, t in zip(quotas, throttled0, strict=True)]
        found = records_since(url, since_ms)
        states = Counter(r["state"] for r in found)
        by_engine = all(r["ended_by"] == "engine" for r in found if r["state"] == "applied")
        latency = [int(r["ended_ms"]) - int(r["created_ms"]) for r in found if r["ended_ms"] is not None]
        ok = (ready == args.agents and logins.failures == 0 and answers == Counter({EXPECTED: sent})
              and len(found) == sent and states == Counter({"applied": sent}) and by_engine)
        rate = args.agents * args.rate_per_agent
        print(f"| {args.engines} | {args.engine_cpu or 'none'} | {args.agents} | {rate:.0f} | {sent} "
              f"| {percentile(latency, 50):.0f} | {percentile(latency, 99):.0f} | {max(latency, default=0)} "
              f"| {dict(states)} | {[round(c, 1) for c in cpu]} | {[round(t, 1) for t in throttled]} | {held} "
              f"| {late} | {'yes' if ok else 'NO'} |")
        if not ok:
            print(f"ready {ready}/{args.agents}, login failures {logins.failures}, answers {dict(answers)}, "
                  f"records {len(found)}, states {dict(states)}, applied by the engine {by_engine}", file=sys.stderr)
            missed = sorted((int(r["created_ms"]) - since_ms, r["user"], r["state"]) for r in found
                            if r["state"] != "applied")
            print(f"not applied (ms after the start, agent, state): {missed[:20]}", file=sys.stderr)
            for n, proc in enumerate(engines):
                moved = [line for line in server_log(proc).splitlines() if "shards" in line or "ERROR" in line]
                print(f"engine {n}'s log, shards and errors: {moved[-20:]}", file=sys.stderr)
        return ok
    finally:
        for proc in procs:
            stop(proc)
        parent = (CGROUP_V1 if CGROUP_V1.exists() else CGROUP_V2) / "cgroup.procs"
        for quota in quotas:
            quota.remove(parent)
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="mariadb")
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--engines", type=int, default=1, help="engine processes sharing the agents")
    ap.add_argument("--engine-cpu", type=float, default=0, help="each engine's CPU quota, %% of one core (0: none)")
    ap.add_argument("--rate-per-agent", type=float, default=0.1, help="commands a second per agent")
    ap.add_argument("--duration", type=float, default=30, help="seconds of commands")
    ap.add_argument("--in-flight", type=int, default=64, help="requests in flight at most")
    ap.add_argument("--api-workers", type=int, default=2)
    ap.add_argument("--login-concurrency", type=int, default=16)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args()
    print("| engines | CPU quota % each | agents | commands/s | commands | effect p50 ms | effect p99 ms "
          "| slowest ms | records | engines' CPU % each | throttled s each | shards each | late sends | all applied |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    ok = run(args)
    print(f"machine: {machine()}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
