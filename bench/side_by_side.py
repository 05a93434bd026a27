"""Side by side: the same Agent API scenarios against two servers, alternately, every answer checked.

    .venv/bin/python bench/side_by_side.py --ours spawn --database mysql+asyncmy://root@127.0.0.1:3306/upstream_bench \\
        --reference http://127.0.0.1:8090 --rounds 3 --duration 10

`--ours` and `--reference` are base URLs (either may be left out to run one side); `--ours spawn` starts
`openagc serve --engine off --workers N` on `--database` (or on a fresh MariaDB database with the demo data).
Each round runs every scenario on both sides, the side that goes first alternating, with
`wrk -t2 -c16 -d{duration}s --latency` and bench/side_by_side.lua, which rotates the requests over `--agents`
logged-in agents and checks every body against the exact line expected of that side (upstream's and openagc's
differ only where docs/compatibility.md says so: the bad-credentials line). A side with any wrong answer, any
socket error or non-200, or an answer count that does not add up is marked FAILED. With `--database` (the
database both servers share) the agents are (re)created before the run and reset to PAUSED with empty
external_* columns, and the api log emptied, before every measured run.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from common import (
    FIRST_AGENT,
    add_agents,
    cpu_seconds,
    free_port,
    fresh_database,
    machine,
    parse_wrk,
    serve,
    stop,
)

from openagc.store.database import make_sync_engine
from openagc.store.schema import openagc_commands, vicidial_api_log, vicidial_api_urls, vicidial_live_agents

LUA = Path(__file__).with_name("side_by_side.lua")
OURS, REFERENCE = "openagc", "upstream"  # the flavour of answers each side gives
DIAL = "value=7275551212&phone_code=1&search=YES&preview=NO&focus=YES"


@dataclass(frozen=True)
class Kind:
    """One request of a scenario and the answers each flavour must give (templates; see `lua_pattern`)."""

    name: str
    query: str
    answers: dict[str, tuple[str, ...]]


def same(*templates: str) -> dict[str, tuple[str, ...]]:
    return {OURS: templates, REFERENCE: templates}


def _kinds() -> dict[str, tuple[Kind, ...]]:
    auth = "source=bench&user={user}&pass={password}"
    status = Kind(
        "status_A",
        f"{auth}&function=external_status&value=A&agent_user={{agent}}",
        same("SUCCESS: external_status function set - A|{agent}\n"),
    )

    def pause(value: str) -> Kind:
        return Kind(
            f"pause_{value}",
            f"{auth}&function=external_pause&value={value}&agent_user={{agent}}",
            same(f"SUCCESS: external_pause function set - {value}|{{epoch}}|{{agent}}\n"),
        )

    dial = Kind(
        "dial",
        f"{auth}&function=external_dial&{DIAL}&agent_user={{agent}}",
        same("SUCCESS: external_dial function set - 7275551212|{agent}|1|YES|NO|YES||{epoch}||||\n"),
    )
    bad = Kind(
        "bad_password",
        "source=bench&user={bad_user}&pass={bad_password}&function=external_pause&value=PAUSE&agent_user={agent}",
        {
            # docs/compatibility.md: openagc echoes no password, oracle flags or SQL
            OURS: ("ERROR: Invalid Username/Password: |{bad_user}|\n",),
            REFERENCE: (
                "ERROR: Invalid Username/Password: |{bad_user}|{bad_password}|0|1|BAD|0|api|SELECT count(*) from "
                "vicidial_users where user='{bad_user}' and pass='{bad_password}' and user_level > 0 and active='Y' "
                "and ( (failed_login_count < 10) or (UNIX_TIMESTAMP(last_login_date) < {lock_over}) );|\n",
                # from the 10th failure in 15 minutes the user is locked (the right password is refused too)
                "ERROR: Invalid Username/Password: |{bad_user}|{bad_password}|0|1|LOCK|\n",
            ),
        },
    )
    version = Kind(
        "version", "function=version", same("VERSION: {version}|BUILD: {build}|DATE: {date}|EPOCH: {epoch}\n")
    )
    return {
        "version": (version,),
        "external_pause": (pause("PAUSE"),),
        "external_status": (status,),
        "external_dial": (dial,),
        "bad_password": (bad,),
        # a CRM driving a floor: each agent in turn gets a disposition, a pause, a manual dial and a resume
        "crm_mix": (status, pause("PAUSE"), dial, pause("RESUME")),
    }


SCENARIOS = _kinds()
CAPTURES = ("agent", "epoch", "lock_over")  # numbers side_by_side.lua tests by name; other fields are filled in
DATE = "%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d"
LUA_MAGIC = set("^$()%.[]*+-?")


def lua_literal(text: str) -> str:
    return "".join(f"%{c}" if c in LUA_MAGIC else c for c in text)


def lua_pattern(template: str, values: dict[str, str]) -> tuple[str, list[str]]:
    """An anchored Lua pattern for a whole answer, and the name of each of its captures."""
    parts, captures = ["^"], []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(lua_literal(literal))
        if name in CAPTURES:
            parts.append("(%d+)")
            captures.append(name)
        elif name == "date":
            parts.append(DATE)
        elif name is not None:
            parts.append(lua_literal(values[name]))
    return "".join(parts) + "$", captures


def lua_value(value: object) -> str:
    """Python data as a Lua literal (strings through JSON's escapes, which Lua shares for ASCII)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_value(k)}] = {lua_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua_value(v) for v in value) + "}"
    if isinstance(value, str):
        if not value.isascii():
            raise ValueError(f"non-ASCII text in a wrk script: {value!r}")
        return json.dumps(value)
    return str(value)


def wrk_script(kinds: tuple[Kind, ...], flavour: str, values: dict[str, str], agents: int, slack: int = 5) -> str:
    """side_by_side.lua with its CONFIG: the requests of `kinds` and the answers `flavour` must give."""
    config_kinds = []
    for kind in kinds:
        head, marker, tail = f"/agc/api.php?{kind.query}".partition("{agent}")
        entry: dict[str, object] = {
            "name": kind.name,
            "head": head.format(**values),
            "patterns": [
                {"lua": pattern, "roles": roles}
                for pattern, roles in (lua_pattern(t, values) for t in kind.answers[flavour])
            ],
        }
        if marker:
            entry["tail"] = tail.format(**values)
        config_kinds.append(entry)
    config = {"first_agent": FIRST_AGENT, "agents": agents, "slack": slack, "kinds": config_kinds}
    return f"CONFIG = {lua_value(config)}\n" + LUA.read_text()


@dataclass
class Run:
    """One wrk run of one scenario against one side, and what its answers showed."""

    side: str
    scenario: str
    stats: dict[str, float]
    kinds: dict[str, tuple[int, int]]  # kind: (requests sent, right answers)
    wrong: int
    samples: list[str] = field(default_factory=list)
    connections: int = 16

    @property
    def problems(self) -> list[str]:
        found = []
        if self.wrong:
            found.append(f"{self.wrong} wrong answers")
        answered = sum(ok for _, ok in self.kinds.values()) + self.wrong
        if answered != self.stats["requests"]:
            found.append(f"{answered} answers checked of {self.stats['requests']:.0f}")
        if self.stats["non2xx"] or self.stats["socket_errors"]:
            found.append(f"{self.stats['non2xx']:.0f} non-2xx, {self.stats['socket_errors']:.0f} socket errors")
        for name, (sent, ok) in self.kinds.items():
            # requests in flight when wrk stopped (or cut by a reconnect) are sent but never answered
            if not 0 <= sent - ok <= 2 * self.connections + self.wrong:
                found.append(f"{name}: {ok} right answers to {sent} requests")
        if not self.stats["requests"]:
            found.append("no requests")
        return found


def parse_checks(text: str) -> tuple[dict[str, tuple[int, int]], int, list[str]]:
    """The CHECK / WRONG / SAMPLE lines side_by_side.lua's done() prints."""
    kinds = {m[1]: (int(m[2]), int(m[3])) for m in re.finditer(r"^CHECK (\S+) sent=(\d+) ok=(\d+)$", text, re.M)}
    m = re.search(r"^WRONG (\d+)$", text, re.M)
    samples = re.findall(r"^SAMPLE (.*)$", text, re.M)
    return kinds, int(m[1]) if m else -1, samples


def run_wrk(base: str, script: Path, args: argparse.Namespace) -> tuple[dict[str, float], str]:
    out = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.connections}",
            f"-d{args.duration}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(script),
            base.rstrip("/") + "/",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_wrk(out.stdout), out.stdout


def server_values(base: str, args: argparse.Namespace) -> dict[str, str]:
    """The fields of the expected answers: credentials, and the VERSION and BUILD this server reports."""
    with urllib.request.urlopen(f"{base.rstrip('/')}/agc/api.php?function=version", timeout=10) as reply:
        line = reply.read().decode()
    m = re.match(r"VERSION: (\S+)\|BUILD: (\S+)\|", line)
    if not m:
        raise SystemExit(f"{base}: no version line: {line!r}")
    return {
        "version": m[1],
        "build": m[2],
        "user": args.user,
        "password": args.password,
        "bad_user": args.bad_user,
        "bad_password": args.bad_password,
    }


def reset(database: str | None, agents: int) -> None:
    """Agents back to PAUSED with no lead and no pending external_* command; the api log emptied, and the agents'
    command records removed (else openagc's drop-in watcher would end them all as delivered at the start of the
    next run, a burst of work that is no part of the scenario)."""
    if not database:
        return
    engine = make_sync_engine(database)
    users = [str(FIRST_AGENT + i) for i in range(agents)]
    L = vicidial_live_agents.c
    with engine.begin() as conn:
        conn.execute(
            sa.update(vicidial_live_agents)
            .where(L.user.in_(users))
            .values(status="PAUSED", lead_id=0, external_pause="", external_status="", external_dial="")
        )
        conn.execute(sa.delete(vicidial_api_log))
        conn.execute(sa.delete(vicidial_api_urls))
        if sa.inspect(conn).has_table(openagc_commands.name):
            conn.execute(sa.delete(openagc_commands).where(openagc_commands.c.user.in_(users)))
    engine.dispose()


@dataclass(frozen=True)
class Summary:
    """One side's runs of one scenario: medians over the rounds, wrong answers summed, failed if any run was."""

    rps: float
    p50: float
    p99: float
    cpu_ms: float | None
    wrong: int
    failed: bool

    @classmethod
    def of(cls, runs: list[Run]) -> Summary:
        def median(key: str) -> float:
            return statistics.median(r.stats.get(key, float("nan")) for r in runs)

        return cls(
            median("rps"),
            median("p50"),
            median("p99"),
            median("cpu_ms") if all("cpu_ms" in r.stats for r in runs) else None,
            sum(max(r.wrong, 0) for r in runs),
            any(r.problems for r in runs),
        )


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "–"


def summary_table(runs: list[Run], sides: list[str]) -> list[str]:
    """Markdown: per scenario each side's medians and wrong answers; with two sides, ours / reference ratios."""
    columns = ["scenario"]
    for side in sides:
        columns += [f"{side} req/s", f"{side} p50 ms", f"{side} p99 ms", f"{side} CPU ms/req", f"{side} wrong"]
    if len(sides) == 2:
        columns += ["req/s ours/ref", "CPU/req ours/ref"]
    lines = ["| " + " | ".join(columns) + " |", "|---" * len(columns) + "|"]
    for scenario in dict.fromkeys(r.scenario for r in runs):
        got = [Summary.of([r for r in runs if r.scenario == scenario and r.side == side]) for side in sides]
        cells = [scenario]
        for s in got:
            cpu = f"{s.cpu_ms:.2f}" if s.cpu_ms is not None else "–"
            cells += [f"{s.rps:.0f}", f"{s.p50:.2f}", f"{s.p99:.2f}", cpu, f"{s.wrong}{' FAILED' if s.failed else ''}"]
        if len(sides) == 2:
            cells += [ratio(got[0].rps, got[1].rps), ratio(got[0].cpu_ms, got[1].cpu_ms)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def round_line(number: int, run: Run) -> str:
    s = run.stats
    verdict = "; ".join(run.problems) or "all right"
    cpu = " | ".join(f"{s[k]:.2f}" if k in s else "–" for k in ("cpu_ms", "db_cpu_ms"))
    return (
        f"| {number} | {run.scenario} | {run.side} | {s['rps']:.0f} | {s.get('p50', 0):.2f} | {s.get('p99', 0):.2f} "
        f"| {cpu} | {s['requests']:.0f} | {run.wrong} | {verdict} |"
    )


@contextmanager
def our_server(args: argparse.Namespace, workdir: Path) -> Iterator[str | None]:
    """The `--ours` base URL; with `spawn`, an `openagc serve --engine off` started (and stopped) here,
    whose process tree `--ours-pids` then names."""
    if args.ours != "spawn":
        yield args.ours
        return
    if not args.database:
        args.database = fresh_database("mariadb", workdir, name="openagc_side_by_side")
    port = free_port()
    proc = serve(args.database, port, workers=args.workers)
    args.ours_pids = str(proc.pid)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(proc)


def pids(text: str | None) -> list[int]:
    return [int(p) for p in (text or "").split(",") if p.strip()]


def cpu_ms(roots: list[int]) -> float:
    return 1000 * sum(cpu_seconds(pid) for pid in roots)


def measure(sides: dict[str, str], args: argparse.Namespace, workdir: Path, emit: Callable[[str], None]) -> list[Run]:
    values = {side: server_values(base, args) for side, base in sides.items()}
    flavour = {"ours": OURS, "reference": REFERENCE}
    roots = {"ours": pids(args.ours_pids), "reference": pids(args.reference_pids), "db": pids(args.db_pid)}
    runs: list[Run] = []

    def script(side: str, scenario: str) -> Path:
        path = workdir / f"{side}.lua"
        path.write_text(wrk_script(SCENARIOS[scenario], flavour[side], values[side], args.agents))
        return path

    if args.warmup:  # connections opened, caches filled, workers spawned: not measured
        for side, base in sides.items():
            for scenario in args.scenarios.split(","):
                run_wrk(base, script(side, scenario), argparse.Namespace(**vars(args) | {"duration": args.warmup}))
    emit("| round | scenario | side | req/s | p50 ms | p99 ms | CPU ms/req | db ms/req | requests | wrong | verdict |")
    emit("|---|---|---|---|---|---|---|---|---|---|---|")
    for number in range(1, args.rounds + 1):
        for scenario in args.scenarios.split(","):
            order = list(sides) if number % 2 else list(reversed(sides))
            for side in order:
                path = script(side, scenario)
                reset(args.database, args.agents)
                before = {k: cpu_ms(v) for k, v in roots.items()}
                stats, output = run_wrk(sides[side], path, args)
                served = max(stats["requests"], 1)
                if roots[side]:
                    stats["cpu_ms"] = (cpu_ms(roots[side]) - before[side]) / served
                if roots["db"]:
                    stats["db_cpu_ms"] = (cpu_ms(roots["db"]) - before["db"]) / served
                kinds, wrong, samples = parse_checks(output)
                run = Run(side, scenario, stats, kinds, wrong, samples, args.connections)
                runs.append(run)
                emit(round_line(number, run))
                for sample in samples:
                    emit(f"    wrong answer from {side}: {sample}")
    return runs


def add_side_arguments(ap: argparse.ArgumentParser, scenarios: str) -> None:
    """The options this script and steady_rate.py share: the two sides, their database, the agents, credentials."""
    ap.add_argument("--ours", help="base URL of openagc, or `spawn` to start it here")
    ap.add_argument("--reference", help="base URL of the reference (upstream api.php)")
    ap.add_argument("--database", help="the database the servers share: agents set up and reset here")
    ap.add_argument("--workers", type=int, default=2, help="workers of a spawned openagc")
    ap.add_argument("--scenarios", default=scenarios, help=f"comma-separated, of {', '.join(SCENARIOS)}")
    ap.add_argument("--agents", type=int, default=100, help="logged-in agents 2000… the requests rotate over")
    ap.add_argument("--user", default="6666", help="API user")
    ap.add_argument("--password", default="1234")
    ap.add_argument("--bad-user", default="6667", help="user of the bad_password scenario (may get locked)")
    ap.add_argument("--bad-password", default="wrong99")


def check_side_arguments(ap: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not (args.ours or args.reference):
        ap.error("give --ours and/or --reference")
    if unknown := set(args.scenarios.split(",")) - set(SCENARIOS):
        ap.error(f"unknown scenarios {sorted(unknown)}; known: {', '.join(SCENARIOS)}")


@contextmanager
def sides_of(args: argparse.Namespace, workdir: Path) -> Iterator[dict[str, str]]:
    """{"ours": base URL, "reference": base URL} of the sides given (ours spawned if asked), with the agents set up
    in `--database`."""
    with our_server(args, workdir) as ours:
        if args.database:
            engine = make_sync_engine(args.database)
            with engine.begin() as conn:
                add_agents(conn, args.agents)
            engine.dispose()
        yield {k: v for k, v in (("ours", ours), ("reference", args.reference)) if v}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_side_arguments(ap, ",".join(SCENARIOS))
    ap.add_argument("--ours-pids", help="PIDs whose process trees are our server (CPU per request); set by spawn")
    ap.add_argument("--reference-pids", help="PIDs whose process trees are the reference (e.g. nginx's and php-fpm's)")
    ap.add_argument("--db-pid", help="the database server's PID (its CPU per request; shared, so noisy)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=1, help="seconds of each scenario on each side before round 1")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    check_side_arguments(ap, args)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="openagc-side-"))
    try:
        with sides_of(args, workdir) as sides:
            print(
                f"machine: {machine()}; wrk -t{args.threads} -c{args.connections} -d{args.duration}s, "
                f"{args.agents} agents, {args.rounds} rounds; " + ", ".join(f"{k} {v}" for k, v in sides.items())
            )
            runs = measure(sides, args, workdir, lambda line: print(line, flush=True))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print("\n".join(summary_table(runs, list(sides))))
    sys.exit(1 if any(r.problems for r in runs) else 0)


if __name__ == "__main__":
    main()
