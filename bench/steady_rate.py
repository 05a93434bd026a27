"""Latency at steady request rates (an open loop), openagc and a reference side by side, every answer checked.

    .venv/bin/python bench/steady_rate.py --ours spawn --reference http://127.0.0.1:8090 \\
        --database mysql+asyncmy://root@127.0.0.1:3306/upstream_bench --rates 100,200,400 --duration 10

wrk keeps a fixed number of requests in flight, so its latency is that of a saturated server. Here requests are
sent on a schedule instead (request i at start + i / rate, whatever the answers before it did), each on a free
keep-alive connection of a pool, and its latency is counted from its scheduled time: a server that falls behind
shows it in the tail (no coordinated omission). The scenarios, the agents they rotate over, the expected answers
of each side and the reset between runs are `side_by_side.py`'s; an answer is right when its status is 200 and its
body is exactly the line expected, naming the agent asked for. `late p99` is how far behind its schedule this
generator sent a request (its own lag, not the server's): a figure above a few milliseconds means the rate was too
much for the generator and the row says little.

The client is a few lines of HTTP/1.1 over asyncio streams (GET, keep-alive, Content-Length or chunked answers),
not httpx: httpx's pool spent 3.3 ms of CPU a request here, a third of a core at 100 req/s on the machine that runs
the servers.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import string
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from common import FIRST_AGENT, machine, percentile
from side_by_side import (
    OURS,
    REFERENCE,
    SCENARIOS,
    Kind,
    add_side_arguments,
    check_side_arguments,
    reset,
    server_values,
    sides_of,
)

DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"


def answer_pattern(template: str, values: dict[str, str]) -> re.Pattern[str]:
    """A whole-answer regex for a side_by_side template: `agent`, `epoch` and `lock_over` captured as numbers."""
    parts = []
    for literal, name, _, _ in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name in ("agent", "epoch", "lock_over"):
            parts.append(rf"(?P<{name}>\d+)")
        elif name == "date":
            parts.append(DATE)
        elif name is not None:
            parts.append(re.escape(values[name]))
    return re.compile("".join(parts) + r"\Z")


def right(patterns: list[re.Pattern[str]], status: int, body: str, agent: int, slack: float = 5) -> bool:
    """Status 200 and a body matching one pattern, for the agent asked for, with an epoch of now."""
    if status != 200:
        return False
    for pattern in patterns:
        m = pattern.match(body)
        if m is None:
            continue
        fields = m.groupdict()
        if "agent" in fields and int(fields["agent"]) != agent:
            return False
        if "epoch" in fields and abs(int(fields["epoch"]) - time.time()) > slack:
            return False
        return True
    return False


class Connection:
    """One keep-alive HTTP/1.1 connection: a GET and its answer (status, body)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, path: str) -> tuple[int, str]:
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = dict(line.split(":", 1) for line in head[1:] if ":" in line)
        headers = {k.strip().lower(): v.strip() for k, v in headers.items()}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
                body += (await reader.readexactly(size + 2))[:-2]
            await reader.readuntil(b"\r\n")
        else:
            body = await reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            writer.close()
            self.streams = None
        return status, body.decode()

    def close(self) -> None:
        if self.streams is not None:
            self.streams[1].close()


@dataclass
class Outcome:
    """One side at one rate."""

    side: str
    scenario: str
    rate: float
    sent: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    late_ms: list[float] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def row(self) -> str:
        lat, late = self.latencies_ms or [0.0], self.late_ms or [0.0]
        ok = "yes" if not (self.wrong or self.errors) and len(self.latencies_ms) == self.sent else "NO"
        return (f"| {self.scenario} | {self.rate:.0f} | {self.side} | {self.sent} | {len(self.latencies_ms)} | "
                f"{percentile(lat, 50):.2f} | {percentile(lat, 99):.2f} | {max(lat):.2f} | "
                f"{percentile(late, 99):.2f} | {len(self.wrong)} | {len(self.errors)} | {ok} |")


async def run_rate(base: str, kinds: tuple[Kind, ...], flavour: str, values: dict[str, str], agents: int,
                   rate: float, duration: float, connections: int, scenario: str, side: str) -> Outcome:
    """Send `rate` requests a second for `duration` seconds on a schedule and check each answer."""
    patterns = {k.name: [answer_pattern(t, values) for t in k.answers[flavour]] for k in kinds}
    out = Outcome(side, scenario, rate)
    loop = asyncio.get_running_loop()
    url = urlsplit(base)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(url.hostname or "127.0.0.1", url.port or 80))
    prefix = url.path.rstrip("/") + "/agc/api.php?"

    async def one(i: int, scheduled: float) -> None:
        kind = kinds[i % len(kinds)]
        agent = FIRST_AGENT + (i // len(kinds)) % agents
        out.late_ms.append((loop.time() - scheduled) * 1000)
        connection = await pool.get()  # waiting for a free connection counts in the latency
        try:
            status, body = await asyncio.wait_for(connection.get(prefix + kind.query.format(agent=agent, **values)),
                                                  10)
        except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as exc:
            connection.close()
            connection.streams = None
            out.errors.append(f"{type(exc).__name__}: {exc}")
            return
        finally:
            pool.put_nowait(connection)
        out.latencies_ms.append((loop.time() - scheduled) * 1000)
        if not right(patterns[kind.name], status, body, agent):
            out.wrong.append(f"{status} {body[:200]!r}")

    try:
        tasks = []
        start = loop.time() + 0.1
        for i in range(int(rate * duration)):
            scheduled = start + i / rate
            await asyncio.sleep(max(0.0, scheduled - loop.time()))
            tasks.append(asyncio.create_task(one(i, scheduled)))
            out.sent += 1
        await asyncio.gather(*tasks)
    finally:
        while not pool.empty():
            pool.get_nowait().close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_side_arguments(ap, "external_pause")
    ap.add_argument("--rates", default="100,200,400", help="requests a second, comma-separated")
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--connections", type=int, default=64, help="keep-alive connections of the pool")
    args = ap.parse_args()
    check_side_arguments(ap, args)
    workdir = Path(tempfile.mkdtemp(prefix="openagc-steady-"))
    outcomes = []
    try:
        with sides_of(args, workdir) as sides:
            flavours = {"ours": OURS, "reference": REFERENCE}
            values = {side: server_values(base, args) for side, base in sides.items()}
            print(f"machine: {machine()}; open loop, {args.duration:g} s a run, pool of {args.connections} "
                  f"connections, {args.agents} agents; " + ", ".join(f"{k} {v}" for k, v in sides.items()))
            print("| scenario | rate req/s | side | sent | answered | p50 ms | p99 ms | max ms | late p99 ms | "
                  "wrong | errors | all correct |")
            print("|---|---|---|---|---|---|---|---|---|---|---|---|")
            for scenario in args.scenarios.split(","):
                for rate in (float(r) for r in args.rates.split(",")):
                    for side, base in sides.items():
                        reset(args.database, args.agents)
                        outcome = asyncio.run(run_rate(base, SCENARIOS[scenario], flavours[side], values[side],
                                                       args.agents, rate, args.duration, args.connections,
                                                       scenario, side))
                        outcomes.append(outcome)
                        print(outcome.row(), flush=True)
                        for sample in (outcome.wrong + outcome.errors)[:3]:
                            print(f"    {sample}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if any(o.wrong or o.errors for o in outcomes) else 0)


if __name__ == "__main__":
    main()
