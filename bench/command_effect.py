"""Command → effect latency: from the Agent API's answer to the engine's committed result.

    .venv/bin/python bench/command_effect.py --database sqlite --mode same --repeats 200
    .venv/bin/python bench/command_effect.py --database mariadb --mode split --repeats 200

`same`: one `openagc serve` process runs the API and the engine. `split`: the API runs in one process
(`--engine off`) and the engine in another, woken through Redis. Agent 1000 logs in through `/agent/`,
goes READY, and the benchmark alternates `external_pause` PAUSE and RESUME through `/agc/api.php`. The effect
is the engine's `state` event on `/agent/events` (sent after the engine's transaction commits), so each
figure includes the push to the client as well.
"""

from __future__ import annotations

import argparse
import json
import queue
import shutil
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import free_port, fresh_database, machine, percentile, serve, stop

API = "source=bench&user=6666&pass=1234&agent_user=1000&function=external_pause"


def listen(base: str, token: str, events: queue.Queue, ready: threading.Event) -> None:
    """Read the SSE stream in a thread; put (arrival time, state) for every state event."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        with httpx.stream("GET", f"{base}/agent/events", headers=headers, timeout=None) as response:
            kind = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "state":
                    ready.set()
                    events.put((time.perf_counter(), json.loads(line[6:])["state"]))
    except httpx.HTTPError:
        return  # the server stopped at the end of the run


def wait_status(events: queue.Queue, wanted: set[str], timeout: float = 10.0) -> float:
    deadline = time.perf_counter() + timeout
    while True:
        arrived, state = events.get(timeout=max(0.01, deadline - time.perf_counter()))
        if state.get("status") in wanted and not state.get("pending"):
            return arrived


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="sqlite")
    ap.add_argument("--mode", choices=["same", "split"], default="same")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = ap.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="openagc-bench-"))
    url = fresh_database(args.database, workdir)
    engine_port = free_port()
    redis = args.redis_url if args.mode == "split" else ""
    procs = [serve(url, engine_port, engine="on", redis_url=redis)]
    api_port = engine_port
    if args.mode == "split":
        api_port = free_port()
        procs.append(serve(url, api_port, engine="off", redis_url=redis))
    engine_base, api_base = f"http://127.0.0.1:{engine_port}", f"http://127.0.0.1:{api_port}"
    try:
        login = httpx.post(
            f"{engine_base}/agent/login",
            json={
                "user": "1000",
                "pass": "1234",
                "phone_login": "1000",
                "phone_pass": "test",
                "campaign": "TESTCAMP",
                "ingroups": ["TEST_IN"],
                "blended": False,
            },
            timeout=30,
        ).json()
        token = login["token"]
        events: queue.Queue = queue.Queue()
        ready = threading.Event()
        threading.Thread(target=listen, args=(engine_base, token, events, ready), daemon=True).start()
        ready.wait(10)
        httpx.post(f"{engine_base}/agent/ready", headers={"Authorization": f"Bearer {token}"}, timeout=30)
        wait_status(events, {"READY", "CLOSER"})
        latencies: list[float] = []
        with httpx.Client(base_url=api_base, timeout=30) as client:
            for i in range(args.repeats):
                value, wanted = ("PAUSE", {"PAUSED"}) if i % 2 == 0 else ("RESUME", {"READY", "CLOSER"})
                while not events.empty():
                    events.get_nowait()
                answer = client.get(f"/agc/api.php?{API}&value={value}")
                answered = time.perf_counter()
                assert answer.text.startswith("SUCCESS"), answer.text
                latencies.append((wait_status(events, wanted) - answered) * 1000)
        print(f"machine: {machine()}")
        print("| database | mode | repeats | p50 ms | p99 ms | max ms |")
        print("|---|---|---|---|---|---|")
        print(
            f"| {args.database} | {args.mode} | {len(latencies)} | {percentile(latencies, 50):.2f} "
            f"| {percentile(latencies, 99):.2f} | {max(latencies):.2f} |"
        )
    finally:
        for proc in procs:
            stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
