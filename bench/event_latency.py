"""Event latency: an event's commit → its receipt by a client of `GET /api/v1/events` (Server-Sent Events).

    .venv/bin/python bench/event_latency.py --database sqlite --events 300 --mode engine
    .venv/bin/python bench/event_latency.py --database mariadb --events 300 --mode writer --redis-url redis://127.0.0.1:6379/0

`openagc serve` runs in its own process on a fresh database with the demo data; the client reads the stream in a
thread of this process. Two sources of events:

* `engine` — the engine's own events (one process: API, engine and stream): agent 1000 logs in and the script
  toggles it PAUSE / RESUME through `/agc/api.php`, one command at a time; each toggle's `agent.state` event is
  timed from its `time` (taken in the engine's transaction, just before its commit) to its receipt.
* `writer` — events appended by another process (this script, as a second openagc process would): each one
  committed, its commit time taken right after, then waited for. Without `--redis-url` the server's once-a-second
  look at the log wakes the stream (each event is written at a random moment of that second); with it, this script
  publishes the wake-up through the Redis bridge as an engine process does.

Prints n, p50, p99 and max in milliseconds. Same machine, same clock. A measurement, asserted nowhere.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
from common import free_port, fresh_database, machine, percentile, serve, stop  # (puts src/ on the path)

from openagc.bus import Bus, RedisBridge
from openagc.store import event_log
from openagc.store.database import Database
from openagc.store.event_log import EVENTS_TOPIC, NewEvent


class Reader:
    """The stream, read in a thread: each event's id → (its `time` in ms, the wall clock at receipt in ms)."""

    def __init__(self, base: str, params: dict[str, str]) -> None:
        self.got: dict[int, tuple[float, float]] = {}
        self.ready = threading.Event()
        self.cond = threading.Condition()
        self._client = httpx.Client(base_url=base, timeout=None, auth=("6666", "1234"))
        self._thread = threading.Thread(target=self._run, args=(params,), daemon=True)
        self._thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the stream did not open")

    def _run(self, params: dict[str, str]) -> None:
        with self._client.stream("GET", "/api/v1/events", params=params) as response:
            response.raise_for_status()
            self.ready.set()
            for line in response.iter_lines():
                if line.startswith("data:"):
                    now = time.time() * 1000
                    event = json.loads(line[5:])
                    stamp = datetime.fromisoformat(event["time"]).timestamp() * 1000
                    with self.cond:
                        self.got[event["id"]] = (stamp, now)
                        self.cond.notify_all()

    def wait_for(self, check, timeout: float = 10.0):
        with self.cond:
            if not self.cond.wait_for(lambda: check(self.got), timeout):
                raise RuntimeError("an event did not arrive in time")
            return check(self.got)


def engine_mode(base: str, n: int) -> list[float]:
    client = httpx.Client(base_url=base, timeout=30)
    r = client.post("/agent/login", json={"user": "1000", "pass": "1234", "phone_login": "1000",
                                          "phone_pass": "test", "campaign": "TESTCAMP"})
    r.raise_for_status()
    reader = Reader(base, {"agent": "1000", "type": "agent.state"})
    api = {"source": "bench", "user": "6666", "pass": "1234", "agent_user": "1000", "function": "external_pause"}
    latencies = []
    for i in range(n):
        seen = len(reader.got)
        client.get("/agc/api.php", params=api | {"value": "RESUME" if i % 2 == 0 else "PAUSE"}).raise_for_status()
        newest = reader.wait_for(lambda got, seen=seen: max(got) if len(got) > seen else None)
        stamp, received = reader.got[newest]
        latencies.append(received - stamp)
    return latencies


async def writer_mode(base: str, url: str, n: int, redis_url: str) -> list[float]:
    reader = Reader(base, {"type": "call.ended"})
    db = Database(url)
    bus = Bus()
    bridge = RedisBridge(bus, redis_url, topics=(EVENTS_TOPIC,)) if redis_url else None
    if bridge is not None:
        await bridge.start()
    latencies = []
    try:
        for i in range(n):
            if bridge is None:  # at a random moment of the server's once-a-second look (not just after one)
                await asyncio.sleep(random.uniform(0, 1))
            async with db.begin() as conn:
                ids = await event_log.append(conn, [NewEvent("call.ended", "1000", "TESTCAMP", "AGENTS",
                                                             {"seq": i})], int(time.time() * 1000))
            committed = time.time() * 1000
            bus.publish(EVENTS_TOPIC, ids[-1])  # forwarded to the server when a bridge is attached
            await asyncio.to_thread(reader.wait_for, lambda got, want=ids[-1]: want in got)
            latencies.append(reader.got[ids[-1]][1] - committed)
    finally:
        if bridge is not None:
            await bridge.stop()
        await db.dispose()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "mariadb"), default="sqlite")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--mode", choices=("engine", "writer"), default="engine")
    parser.add_argument("--redis-url", default="")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        url = fresh_database(args.database, Path(work), name="openagc_bench_events")
        port = free_port()
        env = {"OPENAGC_COMMAND_WATCH": "off"}  # no stock watcher: the events come from the engine or this script
        proc = serve(url, port, engine="on" if args.mode == "engine" else "off", redis_url=args.redis_url, env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            if args.mode == "engine":
                latencies = engine_mode(base, args.events)
            else:
                latencies = asyncio.run(writer_mode(base, url, args.events, args.redis_url))
        finally:
            stop(proc)
    print(machine())
    redis = " + Redis" if args.redis_url else ""
    print(f"{args.mode}{redis} on {args.database}: n={len(latencies)}  p50 {percentile(latencies, 50):.1f} ms  "
          f"p99 {percentile(latencies, 99):.1f} ms  max {max(latencies):.1f} ms")


if __name__ == "__main__":
    main()
