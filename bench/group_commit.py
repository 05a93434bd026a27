"""MariaDB's CPU for an `external_pause`'s statements: each request in its own transaction, or many in one.

    .venv/bin/python bench/group_commit.py --requests 4000 --batch 1,4,8,16

What would group commit (several requests' writes in one transaction, answered together after its COMMIT) save on
the database's side? This replays the statements api.php runs for an `external_pause` (the caller's row, the
agent's row, the command's UPDATE, the api log's two rows, the command's record and the UPDATE that supersedes an
older one, COMMIT) straight through the driver, from `--connections` threads (25 agents each), and divides
MariaDB's CPU (`/proc/<mariadbd>/stat`, utime + stime) by the requests:

* `--batch 1`: each request is its own transaction (what api.php does today);
* `--batch N`: N requests are one transaction, one COMMIT. With `--shape shared` (the default) its reads and writes
  are one statement per table (`IN` reads, a multi-row INSERT per log table and for the records, one UPDATE of the
  agents' command column per agent, one superseding UPDATE over the batch); with `--shape serial` each request
  runs its own statements, one after the other, and only the transaction is shared.

Only the database's share is measured: the client here is PyMySQL in threads, not the service. Every request's
rows are counted at the end (log rows, URL rows and records = requests). Take it on a quiet server: MariaDB's
counter includes whatever else it does meanwhile.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from common import FIRST_AGENT, add_agents, drop_database, fresh_database, machine, mariadb_cpu

from openagc.store.database import make_sync_engine
from openagc.store.schema import (
    openagc_commands,
    vicidial_api_log,
    vicidial_api_urls,
    vicidial_live_agents,
    vicidial_users,
)

SLICE = 25  # agents per connection: each connection's own, so that connections never wait for each other's rows
U, L, C = vicidial_users.c, vicidial_live_agents.c, openagc_commands.c


def log_row(agent: str, at: datetime) -> dict:
    return dict(user="6666", agent_user=agent, function="external_pause", value="PAUSE", result="SUCCESS",
                result_reason="external_pause function set", source="bench", data="", api_date=at,
                api_script="agent", run_time="0.001000", webserver=1, api_url=1)


def record_row(agent: str, at: datetime, log_id: int) -> dict:
    ms = int(at.timestamp() * 1000)
    return dict(user=agent, command="external_pause", value="PAUSE", function="external_pause", source="api",
                created=at, created_ms=ms, state="QUEUED", reason="", api_log_id=log_id)


def supersede(agents: list[str], below: int, at: datetime) -> sa.Update:
    return sa.update(openagc_commands).where(
        C.user.in_(agents), C.command == "external_pause", C.state == "QUEUED", C.command_id < below,
    ).values(state="SUPERSEDED", ended=at, ended_ms=int(at.timestamp() * 1000), ended_by="bench")


def one_batch(conn: sa.Connection, agents: list[str]) -> None:
    """`len(agents)` requests' statements in one transaction (the caller's transaction)."""
    at = datetime.now().replace(microsecond=0)
    conn.execute(sa.select(U.user, U.user_level, U.user_group).where(U.user == "6666")).all()
    conn.execute(sa.select(L.user, L.status, L.lead_id).where(L.user.in_(agents))).all()
    for agent in agents:
        conn.execute(sa.update(vicidial_live_agents).where(L.user == agent).values(external_pause="PAUSE"))
    first_log = conn.execute(sa.insert(vicidial_api_log), [log_row(a, at) for a in agents]
                             if len(agents) > 1 else log_row(agents[0], at)).lastrowid
    # InnoDB gives a multi-row INSERT consecutive ids (innodb_autoinc_lock_mode 1 or 2 with a simple INSERT); the
    # first is LAST_INSERT_ID().
    logs = [first_log + i for i in range(len(agents))]
    urls = [dict(api_id=i, api_date=at, remote_ip="127.0.0.1", url="function=external_pause") for i in logs]
    conn.execute(sa.insert(vicidial_api_urls), urls if len(urls) > 1 else urls[0])
    records = [record_row(a, at, i) for a, i in zip(agents, logs, strict=True)]
    first_record = conn.execute(sa.insert(openagc_commands), records if len(records) > 1 else records[0]).lastrowid
    conn.execute(supersede(agents, first_record, at))


def serial_batch(conn: sa.Connection, agents: list[str]) -> None:
    """`len(agents)` requests in one transaction, each with its own statements."""
    for agent in agents:
        one_batch(conn, [agent])


def worker(url: str, batch: int, requests: int, first: int, done: list[tuple[int, int]], serial: bool) -> None:
    """`requests` requests, `batch` at a time, over this connection's agents; a deadlock runs the batch again (as
    `Database.transaction` does). Appends (requests, retries)."""
    engine = make_sync_engine(url)
    sent = retries = 0
    with engine.connect() as conn:
        while sent < requests:
            agents = sorted({str(FIRST_AGENT + first + (sent + i) % SLICE) for i in range(batch)})
            try:
                with conn.begin():
                    (serial_batch if serial else one_batch)(conn, agents)
            except sa.exc.OperationalError as exc:
                if getattr(exc.orig, "args", (0,))[0] not in (1205, 1213):
                    raise
                retries += 1
                continue
            sent += len(agents)
    engine.dispose()
    done.append((sent, retries))


def measure(url: str, batch: int, requests: int, connections: int, serial: bool = False
            ) -> tuple[float, float, int, int]:
    """(MariaDB CPU µs per request, requests/s, requests, deadlocks retried)."""
    done: list[tuple[int, int]] = []
    share = requests // connections
    threads = [threading.Thread(target=worker, args=(url, batch, share, i * SLICE, done, serial))
               for i in range(connections)]
    cpu0, t0 = mariadb_cpu(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cpu1, wall = mariadb_cpu(), time.perf_counter() - t0
    total = sum(d[0] for d in done)
    assert cpu0 is not None and cpu1 is not None, "MariaDB's process was not found"
    assert len(done) == connections, "a connection failed"
    return (cpu1 - cpu0) * 1e6 / total, total / wall, total, sum(d[1] for d in done)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--batch", default="1,4,8,16", help="requests per transaction, comma-separated")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--shape", choices=("shared", "serial"), default="shared",
                    help="a batch's statements: one per table (shared) or each request's own (serial)")
    args = ap.parse_args()
    print(f"machine: {machine()}; {args.connections} connections, {SLICE} agents each, {args.requests} requests a run, "
          f"{args.shape} statements")
    print("| requests per transaction | MariaDB CPU µs per request (runs) | requests/s (runs) | deadlocks retried "
          "| rows all there |")
    print("|---|---|---|---|---|")
    name = f"openagc_bench_group_commit_{os.getpid()}"  # this run's own
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database("mariadb", Path(tmp), name)
        engine = make_sync_engine(url)
        with engine.begin() as conn:
            add_agents(conn, SLICE * args.connections)
        try:
            for batch in (int(b) for b in args.batch.split(",")):
                runs, complete = [], True
                for _ in range(args.rounds):
                    with engine.begin() as conn:
                        for table in (vicidial_api_log, vicidial_api_urls, openagc_commands):
                            conn.execute(sa.delete(table))
                    runs.append(measure(url, batch, args.requests, args.connections, args.shape == "serial"))
                    with engine.connect() as conn:
                        counts = [conn.execute(sa.select(sa.func.count()).select_from(t)).scalar()
                                  for t in (vicidial_api_log, vicidial_api_urls, openagc_commands)]
                    complete &= counts == [runs[-1][2]] * 3
                print(f"| {batch} | {', '.join(f'{r[0]:.0f}' for r in runs)} | "
                      f"{', '.join(f'{r[1]:.0f}' for r in runs)} | {', '.join(str(r[3]) for r in runs)} | "
                      f"{'yes' if complete else f'no: {counts}'} |",
                      flush=True)
        finally:
            engine.dispose()
            drop_database("mariadb", name)


if __name__ == "__main__":
    main()
