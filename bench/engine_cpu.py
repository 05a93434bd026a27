"""CPU time of one command carried out: the api.php request and the engine's transaction, in one process.

    .venv/bin/python bench/engine_cpu.py --database sqlite --requests 1000
    .venv/bin/python bench/engine_cpu.py --database mariadb --requests 1000
    PYTHONPATH=/path/to/other/tree/src .venv/bin/python bench/engine_cpu.py   # another version of the code
    valgrind --tool=callgrind --instr-atstart=no .venv/bin/python bench/engine_cpu.py --callgrind \
        --database sqlite --requests 200   # "Collected" / 200: instructions a command

`bench/api_cpu.py` measures the request alone (engine off); here the service runs with its engine on the simulated
switch (`create_app` with `engine=True`, its lifespan started), so each request's command is carried out too: the
API request wakes the engine through the bus, and the round waits until the engine has nothing in flight
(`Watcher.idle`) before the next request. The engine's periodic sweep is off (`sweep_seconds` 3600: `scale.py`
measures it). The requests alternate `external_pause` PAUSE and RESUME over `--agents` logged-in agents, so every
command changes the agent's state (agent-log rows, the command's record, the integrators' events); the campaign's
lists are emptied so that a ready agent is never dialled. Each command's outcome is checked in its record
(`openagc_commands`: every one applied). Subtract `api_cpu.py`'s figure for `external_pause` to get the engine's
share. MariaDB's own CPU over the same commands is printed too, as in `api_cpu.py`; on SQLite the database's work
is inside this process (aiosqlite's threads) and counted with it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from api_cpu import AUTH, Client
from api_wrk import DATABASE, FIRST_AGENT, prepare
from common import drop_database, mariadb_cpu

from openagc.config import Settings
from openagc.service import create_app
from openagc.store.database import make_sync_engine
from openagc.store.schema import openagc_commands, vicidial_hopper, vicidial_lists

EXPECTED = "SUCCESS: external_pause function set"


def no_dialling(url: str) -> None:
    """No lead can be dialled: a ready agent waits (the commands alone are measured)."""
    engine = make_sync_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.delete(vicidial_hopper))
        conn.execute(sa.update(vicidial_lists).values(active="N"))
    engine.dispose()


def outcomes(url: str) -> dict[str, int]:
    engine = make_sync_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(openagc_commands.c.state, sa.func.count()).group_by(openagc_commands.c.state))
        found = {state: int(n) for state, n in rows}
    engine.dispose()
    return found


async def run(url: str, requests: int, agents: int, callgrind: bool) -> tuple[float, float | None]:
    """(this process's µs CPU a command, MariaDB's µs CPU a command or None), medians of 3 rounds."""
    # no periodic sweep: the API's wake-ups carry the commands, and a sweep's cost would count per command as time
    # passes (callgrind runs the process ~50 times slower)
    app = create_app(Settings(database=url, engine=True, server_name="bench", hostname="bench",
                              sweep_seconds=3600))
    client = Client(app)
    mariadb = not url.endswith(".db")
    async with app.router.lifespan_context(app):
        watcher = app.state.services.extra["engine"].watcher
        await watcher.idle()
        words = {}  # the agent's next word: PAUSE after RESUME, RESUME after PAUSE (they start paused)

        async def round_of() -> None:
            for i in range(requests):
                agent = str(FIRST_AGENT + i % agents)
                word = words.get(agent, "RESUME")
                words[agent] = "PAUSE" if word == "RESUME" else "RESUME"
                query = {"source": "bench", "function": "external_pause", "value": word, "agent_user": agent} | AUTH
                status, text = await client.get(query, {})
                if not text.startswith(EXPECTED):
                    raise SystemExit(f"unexpected answer {status} {text!r}")
                await watcher.idle()

        if callgrind:  # one round warms up; callgrind counts the instructions of the next one only
            await round_of()
            subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], check=True, capture_output=True)
            await round_of()
            subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], check=True, capture_output=True)
            return 0.0, None
        samples, server = [], []
        for _ in range(3):  # the first round warms caches up; the median of the three is reported
            cpu, db_cpu = time.process_time(), mariadb_cpu() if mariadb else None
            await round_of()
            samples.append((time.process_time() - cpu) / requests * 1e6)
            if db_cpu is not None:
                server.append((mariadb_cpu() - db_cpu) / requests * 1e6)
    return statistics.median(samples), statistics.median(server) if server else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="sqlite")
    ap.add_argument("--requests", type=int, default=1000, help="commands a round (even: each agent ends paused)")
    ap.add_argument("--agents", type=int, default=100)
    ap.add_argument("--callgrind", action="store_true",
                    help="under `valgrind --tool=callgrind --instr-atstart=no`: count one round")
    args = ap.parse_args()
    url = prepare(args.database, Path(tempfile.mkdtemp(prefix="openagc-bench-engine-")), args.agents)
    no_dialling(url)
    import openagc

    try:
        micros, server = asyncio.run(run(url, args.requests, args.agents, args.callgrind))
        states = outcomes(url)
    finally:
        drop_database(args.database, DATABASE)
    rounds = 2 if args.callgrind else 3
    if states != {"applied": rounds * args.requests}:
        raise SystemExit(f"not every command was applied: {states}")
    where = Path(openagc.__file__).resolve().parents[1]
    db = f"{server:.0f} µs" if server is not None else "—"
    print(f"| external_pause PAUSE/RESUME, engine on | {args.database} | {micros:.0f} µs | {db} | "
          f"{args.requests} × {rounds} | all applied | {where} |")


if __name__ == "__main__":
    main()
