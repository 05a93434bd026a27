"""The sweep's query per engine: what finding one engine's agents with a command costs as the engines share them.

    .venv/bin/python bench/sweep_query.py --database mariadb --agents 5000 --engines 1,2,4 --repeats 300

A fresh database with `--agents` rows in `vicidial_live_agents` (users 90000…, idle, 1 % with a command column
set, as plain SQL writes them). For each engine count K, an `Engine` on that database is given the shards the
first of K engines would hold (`shards.fair_share`, no other engine running: the leases are set in memory) and its
own sessions (`Engine.rebuild`), and `Engine.pending_users` — the sweep's query, the one the engine runs — is
timed `--repeats` times: wall time per call, this process's CPU per call (time.process_time: building the
statement, the driver, reading the rows), and on MariaDB the rows the server read per call (the global
`Handler_read_key` + `Handler_read_next` + `Handler_read_rnd_next`: server-wide counters, so run it on a quiet
server). With `--db-pid` (MariaDB's process: `pgrep -x mariadbd`), the server's own CPU per call too (its
utime + stime from /proc: likewise server-wide). The last line times what every sweep also did before (reading
every user of the table). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from common import cpu_seconds, fresh_database, machine

from openagc.config import Settings
from openagc.engine.runtime import Engine
from openagc.engine.shards import fair_share, shard_of
from openagc.services import Services
from openagc.store.database import Database, make_sync_engine
from openagc.store.demo import SERVER_IP
from openagc.store.schema import vicidial_live_agents
from openagc.switch.simulated import SimulatedSwitch

FIRST_AGENT = 90000
READS = ("Handler_read_key", "Handler_read_next", "Handler_read_rnd_next")  # rows found by key, index, scan


def prepare(kind: str, workdir: Path, agents: int) -> str:
    url = fresh_database(kind, workdir, name="openagc_sweep")
    engine = make_sync_engine(url)
    rows = [{"user": str(FIRST_AGENT + i), "server_ip": SERVER_IP, "conf_exten": str(8700000 + i),
             "extension": f"SIP/{FIRST_AGENT + i}", "status": "CLOSER", "lead_id": 0, "campaign_id": "TESTCAMP",
             "closer_campaigns": " TEST_IN -", "external_status": "A" if i % 100 == 0 else ""}
            for i in range(agents)]
    with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            conn.execute(sa.insert(vicidial_live_agents), rows[start : start + 1000])
    engine.dispose()
    return url


async def rows_read(db: Database) -> int | None:
    if not str(db.url).startswith(("mysql", "mariadb")):
        return None
    async with db.connect() as conn:
        rows = await conn.execute(sa.text("SHOW GLOBAL STATUS LIKE 'Handler_read%'"))  # a fixed statement
        return sum(int(value) for name, value in rows if name in READS)


async def measure(url: str, engines: int, repeats: int, shards: int, db_pid: int | None
                  ) -> tuple[int, int, float, float, float | None, float | None]:
    settings = Settings(database=url, engine=True, engine_shards=shards)
    services = Services(settings=settings, db=Database(url))
    engine = Engine(services, SimulatedSwitch(server_ip=SERVER_IP, clock=services.clock))
    names = [f"engine:{i}" for i in range(engines)]
    share = fair_share(shards, names, names[0])
    engine.shards.owned = frozenset(range(share))
    engine.shards._valid_until = time.monotonic() + 3600  # held, as far as this measurement is concerned
    await engine.rebuild()
    try:
        found = await engine.pending_users()
        assert all(shard_of(u, shards) < share for u in found)
        before = await rows_read(services.db)
        server0 = cpu_seconds(db_pid) if db_pid else None
        cpu0, t0 = time.process_time(), time.perf_counter()
        for _ in range(repeats):
            await engine.pending_users()
        wall, cpu = (time.perf_counter() - t0) / repeats, (time.process_time() - cpu0) / repeats
        server = None if server0 is None or db_pid is None else (cpu_seconds(db_pid) - server0) / repeats * 1000
        after = await rows_read(services.db)
        read = None if before is None or after is None else (after - before) / repeats
        return len(engine.sessions), len(found), wall * 1000, cpu * 1000, read, server
    finally:
        await services.db.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="mariadb")
    ap.add_argument("--agents", type=int, default=5000)
    ap.add_argument("--engines", default="1,2,4", help="comma-separated engine counts")
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--shards", type=int, default=64)
    ap.add_argument("--db-pid", type=int, help="the database server's process, for its CPU per query")
    args = ap.parse_args()
    url = prepare(args.database, Path(tempfile.mkdtemp(prefix="openagc-sweep-")), args.agents)
    print(f"machine: {machine()}; {args.agents} agents, {args.database}, {args.shards} shards, "
          f"{args.repeats} calls each")
    print("| engines | this engine's agents | with a command | ms per query | CPU ms per query | rows read per query "
          "| server CPU ms per query |")
    print("|---|---|---|---|---|---|---|")
    for k in (int(x) for x in args.engines.split(",")):
        own, found, wall, cpu, read, server = asyncio.run(measure(url, k, args.repeats, args.shards, args.db_pid))
        print(f"| {k} | {own} | {found} | {wall:.2f} | {cpu:.2f} | {'—' if read is None else f'{read:.0f}'} "
              f"| {'—' if server is None else f'{server:.2f}'} |", flush=True)
    wall, cpu, read = asyncio.run(every_user(url, args.repeats))
    print(f"| (before: every sweep also read every user) | {args.agents} | — | {wall:.2f} | {cpu:.2f} "
          f"| {'—' if read is None else f'{read:.0f}'} | — |")


async def every_user(url: str, repeats: int) -> tuple[float, float, float | None]:
    """What each sweep also did before the engines shared the agents: read every user of the table."""
    db = Database(url)
    try:
        before = await rows_read(db)
        cpu0, t0 = time.process_time(), time.perf_counter()
        for _ in range(repeats):
            async with db.connect() as conn:
                {r[0] for r in await conn.execute(sa.select(vicidial_live_agents.c.user))}
        wall, cpu = (time.perf_counter() - t0) / repeats, (time.process_time() - cpu0) / repeats
        after = await rows_read(db)
        return wall * 1000, cpu * 1000, None if before is None or after is None else (after - before) / repeats
    finally:
        await db.dispose()


if __name__ == "__main__":
    main()
