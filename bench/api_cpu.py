"""CPU time of one api.php request inside the process, without sockets or a load generator.

    .venv/bin/python bench/api_cpu.py --database sqlite --requests 3000
    PYTHONPATH=/path/to/other/tree/src .venv/bin/python bench/api_cpu.py   # the same for another version of the code

On a machine shared with other work, wrk's requests a second move with everything else that runs; the CPU time
this process spends per request (`time.process_time`, the database driver's threads included; MariaDB's own work
is not) is a steadier figure for comparing two versions of the request path. The app is the service's own
(`create_app`: every middleware and the route), called through httpx's ASGI transport; requests rotate over
`--agents` logged-in agents. Scenarios: `external_pause` with `user`/`pass`, and `external_pause_key` with an API
key (when this version of the code has keys). Every answer is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import sqlalchemy as sa

from openagc.config import Settings
from openagc.service import create_app
from openagc.store.database import make_sync_engine
from openagc.store.demo import seed_demo
from openagc.store.migrate import upgrade
from openagc.store.schema import vicidial_live_agents, vicidial_users

MARIADB_ROOT = os.environ.get("OPENAGC_BENCH_MARIADB", "mysql+pymysql://root@127.0.0.1:3306")
FIRST_AGENT = 2000


def prepare(kind: str, workdir: Path, agents: int) -> str:
    if kind == "sqlite":
        url = str(workdir / "cpu.db")
    else:
        admin = sa.create_engine(MARIADB_ROOT, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.exec_driver_sql("DROP DATABASE IF EXISTS openagc_bench_cpu")
            c.exec_driver_sql("CREATE DATABASE openagc_bench_cpu CHARACTER SET utf8mb4")
        admin.dispose()
        url = f"{MARIADB_ROOT}/openagc_bench_cpu".replace("mysql+pymysql", "mysql+asyncmy")
    engine = make_sync_engine(url)
    upgrade(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        seed_demo(conn)
        template = dict(conn.execute(sa.select(vicidial_users).where(vicidial_users.c.user == "1000")).mappings().one())
        template.pop("user_id", None)
        for i in range(agents):
            user = str(FIRST_AGENT + i)
            conn.execute(vicidial_users.insert().values(template | {"user": user, "custom_three": ""}))
            conn.execute(vicidial_live_agents.insert().values(
                user=user, server_ip="10.10.10.15", conf_exten=str(8700000 + i), extension=f"SIP/{user}",
                status="PAUSED", lead_id=0, campaign_id="TESTCAMP", uniqueid="", callerid="", channel="",
                random_id=1, closer_campaigns="", comments=""))
    engine.dispose()
    return url


def make_key(url: str) -> str | None:
    if importlib.util.find_spec("openagc.integrations.keys") is None:
        return None
    from openagc.integrations import keys

    engine = make_sync_engine(url)
    with engine.begin() as conn:
        _, token = keys.create(conn, user="6666", name="bench", rate=100_000_000)
    engine.dispose()
    return token


async def run(url: str, requests: int, agents: int, token: str | None) -> dict[str, float]:
    app = create_app(Settings(database=url, engine=False, server_name="bench", hostname="bench"))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
    out: dict[str, float] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:
        scenarios = {"external_pause": ({"user": "6666", "pass": "1234"}, {})}
        if token:  # only when this version's api.php takes keys
            probe = await client.get("/agc/api.php", params={"source": "bench", "function": "external_pause",
                                                              "agent_user": "1000", "value": "PAUSE"},
                                     headers={"Authorization": f"Bearer {token}"})
            if "Invalid Username/Password" not in probe.text:
                scenarios["external_pause_key"] = ({}, {"Authorization": f"Bearer {token}"})
        for name, (credentials, headers) in scenarios.items():
            samples = []
            for _ in range(3):  # the first round warms caches up; the median of the three is reported
                cpu = time.process_time()
                for i in range(requests):
                    params = {"source": "bench", "function": "external_pause",
                              "agent_user": str(FIRST_AGENT + i % agents), "value": "PAUSE"} | credentials
                    r = await client.get("/agc/api.php", params=params, headers=headers)
                    if not r.text.startswith("SUCCESS: external_pause function set"):
                        raise SystemExit(f"{name}: unexpected answer {r.status_code} {r.text!r}")
                samples.append((time.process_time() - cpu) / requests * 1e6)
            out[name] = statistics.median(samples)
    await app.state.services.db.dispose()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--database", choices=["sqlite", "mariadb"], default="sqlite")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--agents", type=int, default=100)
    args = ap.parse_args()
    url = prepare(args.database, Path(tempfile.mkdtemp(prefix="openagc-bench-cpu-")), args.agents)
    token = make_key(url)
    import openagc

    results = asyncio.run(run(url, args.requests, args.agents, token))
    where = Path(openagc.__file__).resolve().parents[1]
    for name, micros in results.items():
        print(f"| {name} | {args.database} | {micros:.0f} µs CPU a request | {args.requests} × 3 | {where} |")


if __name__ == "__main__":
    main()
