"""The fault harness: real `openagc serve` processes on one MariaDB database and one Redis, a storm of conflicting
commands, `kill -9` of the engine mid-storm and a restart, then an audit from the database alone.

Used by the fault tier (`tests/fault/test_fault_storm.py`, a short run in `make test`) and by the larger run
(`bench/fault_storm.py`). The pieces:

* `Cluster` — a fresh MariaDB database (created here, `openagc init-db` and `openagc seed --demo` through the CLI,
  extra agents as `openagc simulate` adds them), two API processes (`--engine off`) and one engine process
  (`--engine on`, the simulated switch) or several sharing the agents (`RunConfig.engines`), all with
  `--redis-url` and short engine leases (`LEASE`); every child dies with the process that started it
  (`PR_SET_PDEATHSIG`) and the database is dropped at the end.
* `Storm` — threads sending `format=json` commands through both API processes, for every agent at random:
  external_dial, external_pause PAUSE / RESUME, external_hangup, external_status, transfer_conference,
  park_call, recording, send_dtmf. Values that leave a trace carry a token of their own (a dialled number, DTMF
  digits, a recording suffix) so the audit can tell one command's effect from another's.
* `audit` — what the database says, checked against every answer (see its docstring for each check).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from openagc.store.command_records import FAMILIES as FAMILY_OF_COLUMN
from openagc.store.command_records import parse_validity
from tests.support import MARIADB_SERVER, drop_database

ROOT = Path(__file__).resolve().parents[2]
OPENAGC = str(Path(sys.executable).with_name("openagc"))
REDIS_URL = os.environ.get("OPENAGC_TEST_REDIS", "redis://127.0.0.1:6379/0")
AUTH = {"source": "fault", "user": "6666", "pass": "1234"}
CAMPAIGN = "TESTCAMP"
#: Short validities keep the tier short: a deferred pause or disposition waits at most 8 s.
VALIDITY = "dial=3,call=3,pause=8,status=8,screen=10"
#: Engine leases (engine/shards.py): a killed engine's agents are taken over within LEASE + RENEW seconds.
LEASE, RENEW = 2.0, 0.5
FINAL = frozenset({"applied", "rejected", "expired", "superseded", "delivered"})
FUNCTIONS = ("external_dial", "external_pause", "external_hangup", "external_status", "transfer_conference",
             "park_call", "recording", "send_dtmf")



def reachable() -> str | None:
    """None when MariaDB and Redis both answer, else why not (one line)."""
    try:
        admin = sa.create_engine(MARIADB_SERVER, connect_args={"connect_timeout": 3})
        with admin.connect() as c:
            c.exec_driver_sql("SELECT 1")
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"MariaDB unreachable at {MARIADB_SERVER}: {type(exc).__name__}"
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001
        return f"Redis unreachable at {REDIS_URL}: {type(exc).__name__}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child: SIGKILL when the process that started it dies, however it dies (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except OSError:
        pass


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


# --- processes ------------------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    port: int
    popen: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Cluster:
    """One fresh MariaDB database, two API processes and an engine process sharing Redis."""

    def __init__(self, workdir: Path, *, agents: int, validity: str = VALIDITY, redis_url: str = REDIS_URL) -> None:
        self.workdir = workdir
        self.validity_text = validity
        self.validity = parse_validity(validity)
        self.redis_url = redis_url
        self.dbname = f"openagc_fault_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.sync_url = f"{MARIADB_SERVER}/{self.dbname}"
        self.url = self.sync_url.replace("mysql+pymysql", "mysql+asyncmy")
        self.procs: list[Proc] = []
        self.engines: list[Proc] = []  # running, oldest first
        self.apis: list[Proc] = []
        self.engine_starts = 0
        self.admin = sa.create_engine(MARIADB_SERVER, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as c:
            c.exec_driver_sql(f"CREATE DATABASE {self.dbname} CHARACTER SET utf8mb4")
        self.db = sa.create_engine(self.sync_url, pool_pre_ping=True)
        self._cli("init-db")
        self._cli("seed", "--demo")
        self.agents = asyncio.run(self._ensure_agents(agents))

    def _cli(self, *args: str) -> None:
        subprocess.run([OPENAGC, *args, "--database", self.url], cwd=ROOT, check=True, capture_output=True,
                       timeout=120, preexec_fn=_die_with_parent)

    async def _ensure_agents(self, count: int) -> list[str]:
        from openagc.engine.simulate import ensure_agents
        from openagc.store.database import Database

        db = Database(self.url)
        try:
            return await ensure_agents(db, count)
        finally:
            await db.dispose()

    def _env(self) -> dict[str, str]:
        keep = {k: v for k, v in os.environ.items() if not k.startswith("OPENAGC_")}
        return keep | {"OPENAGC_COMMAND_VALIDITY": self.validity_text, "PYTHONUNBUFFERED": "1",
                       "OPENAGC_ENGINE_LEASE_SECONDS": str(LEASE), "OPENAGC_ENGINE_RENEW_SECONDS": str(RENEW)}

    def start(self, name: str, *, engine: bool) -> Proc:
        port = free_port()
        log = self.workdir / f"{name}.log"
        cmd = [OPENAGC, "serve", "--database", self.url, "--engine", "on" if engine else "off", "--port", str(port),
               "--redis-url", self.redis_url]
        with open(log, "ab") as out:
            popen = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self._env(), preexec_fn=_die_with_parent)
        proc = Proc(name, port, popen, log)
        self.procs.append(proc)
        deadline = time.monotonic() + 60
        while True:  # up once api.php answers (the engine's start, reconciliation included, runs before that)
            if popen.poll() is not None:
                raise RuntimeError(f"{name} exited with {popen.returncode}: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{proc.base}/agc/api.php", params={"function": "version"}, timeout=2).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.1)

    def start_apis(self, count: int = 2) -> list[Proc]:
        self.apis = [self.start(f"api{i + 1}", engine=False) for i in range(count)]
        return self.apis

    def start_engine(self) -> Proc:
        self.engine_starts += 1
        proc = self.start(f"engine{self.engine_starts}", engine=True)
        self.engines.append(proc)
        return proc

    def kill_engine(self) -> int:
        """`kill -9` the oldest engine process (its simulated switch, and every call on it, die with it); its pid."""
        proc = self.engines.pop(0)
        proc.popen.send_signal(signal.SIGKILL)
        proc.popen.wait(10)
        return proc.popen.pid

    def shards_of(self, pid: int) -> int:
        """Shards still leased to the engine process `pid` (holders are `engine:<host>:<pid>:<random>`)."""
        return sum(1 for r in self.rows("SELECT holder FROM openagc_engine_leases WHERE name LIKE 'shard:%'")
                   if f":{pid}:" in r["holder"])

    def login(self, user: str) -> dict[str, Any]:
        r = httpx.post(f"{self.engines[0].base}/agent/login", timeout=30, json={
            "user": user, "pass": "1234", "phone_login": user, "phone_pass": "test", "campaign": CAMPAIGN,
            "ingroups": [], "blended": False})
        r.raise_for_status()
        return r.json()

    def rows(self, sql: str, **params: Any) -> list[dict[str, Any]]:
        with self.db.connect() as c:
            return [dict(r) for r in c.execute(sa.text(sql), params).mappings()]

    def wait_for(self, condition: Any, *, timeout: float, what: str, every: float = 0.2) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout:g} s for {what}")
            time.sleep(every)

    def queued(self) -> int:
        return int(self.rows("SELECT COUNT(*) AS n FROM openagc_commands WHERE state = 'queued'")[0]["n"])

    def close(self) -> None:
        for proc in self.procs:
            if proc.popen.poll() is None:
                proc.popen.terminate()
        for proc in self.procs:
            try:
                proc.popen.wait(10)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(5)
        self.db.dispose()
        if os.environ.get("OPENAGC_FAULT_KEEP_DB"):  # debugging: look at the database after the run
            print(f"database kept: {self.dbname}")
        else:
            drop_database(self.admin, self.dbname)
        self.admin.dispose()


# --- the storm ------------------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One api.php call of the storm and what it answered."""

    api: str
    agent: str
    function: str
    params: dict[str, str]
    token: str  # what identifies this command's effect ("" when it leaves no trace of its own)
    sent: float
    took_ms: float
    status: int  # HTTP status (0: no answer — the connection failed)
    result: str = ""
    command_id: int | None = None
    body: str = ""


#: (function, weight): dials and call controls against pauses, resumes, hangups and dispositions.
MIX = (("external_dial", 18), ("external_pause:PAUSE", 10), ("external_pause:RESUME", 12), ("external_hangup", 5),
       ("external_status", 12), ("transfer_conference", 9), ("park_call", 12), ("recording", 10), ("send_dtmf", 10))


class Storm:
    """Threads sending conflicting commands through the API processes until stopped."""

    def __init__(self, apis: list[Proc], agents: list[str], *, threads_per_api: int = 3, seed: int = 11,
                 think_ms: float = 40.0) -> None:
        self.apis, self.agents = apis, agents
        self.threads_per_api = threads_per_api
        self.think = think_ms / 1000  # a thread waits up to this long between two commands (uniformly drawn)
        self.answers: list[Answer] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._serial = itertools.count(1)
        self._seed = seed
        names, weights = zip(*MIX, strict=True)
        self._names, self._weights = list(names), list(weights)

    def _command(self, rng: random.Random) -> tuple[str, dict[str, str], str]:
        n = next(self._serial)
        kind = rng.choices(self._names, self._weights)[0]
        if kind == "external_dial":  # a number of its own (312 90 nnnnn), a new lead each time: no DNC number
            number = f"31290{n:05d}"
            return kind, {"value": number, "phone_code": "1", "search": "NO", "preview": "NO", "focus": "YES"}, number
        if kind.startswith("external_pause"):
            return "external_pause", {"value": kind.split(":")[1]}, ""
        if kind == "external_hangup":
            return kind, {"value": "1"}, ""
        if kind == "external_status":
            return kind, {"value": "NI"}, ""
        if kind == "transfer_conference":
            if rng.random() < 0.7:  # a 3-way leg to a number of its own (312 91 nnnnn)
                number = f"31291{n:05d}"
                return kind, {"value": "DIAL_WITH_CUSTOMER", "phone_number": number}, number
            return kind, {"value": "HANGUP_XFER"}, ""
        if kind == "park_call":
            return kind, {"value": "PARK_CUSTOMER" if rng.random() < 0.7 else "GRAB_CUSTOMER"}, ""
        if kind == "recording":
            if rng.random() < 0.6:
                suffix = f"F{n}"
                return kind, {"value": "START", "stage": suffix}, suffix
            return kind, {"value": "STOP"}, ""
        digits = f"9{n:07d}"  # send_dtmf: digits of its own
        return kind, {"value": digits}, digits

    def _run(self, api: Proc, index: int) -> None:
        rng = random.Random(self._seed * 1000 + index)
        with httpx.Client(base_url=api.base, timeout=15) as client:
            while not self._stop.is_set():
                agent = rng.choice(self.agents)
                function, params, token = self._command(rng)
                query = AUTH | {"function": function, "agent_user": agent, "format": "json"} | params
                sent = time.time()
                started = time.perf_counter()
                answer = Answer(api.name, agent, function, params, token, sent, 0.0, 0)
                try:
                    r = client.get("/agc/api.php", params=query)
                    answer.status = r.status_code
                    answer.body = r.text[:300]
                    with contextlib.suppress(ValueError):
                        doc = r.json()
                        answer.result = str(doc.get("result", ""))
                        answer.command_id = doc.get("command_id")
                except httpx.HTTPError as exc:
                    answer.body = f"{type(exc).__name__}: {exc}"[:300]
                answer.took_ms = (time.perf_counter() - started) * 1000
                with self._lock:
                    self.answers.append(answer)
                self._stop.wait(rng.uniform(0, self.think))

    def start(self) -> None:
        for api_index, api in enumerate(self.apis):
            for t in range(self.threads_per_api):
                thread = threading.Thread(target=self._run, args=(api, api_index * 100 + t), daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


# --- the audit ------------------------------------------------------------------------------------------------


@dataclass
class Audit:
    failures: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)

    def summary(self) -> str:
        f = self.figures
        states = " ".join(f"{k}={v}" for k, v in sorted(f["by_state"].items()))
        return (f"{f['answers']} answers ({f['success']} SUCCESS, http {f['http']}), {f['records']} records: {states}; "
                f"time to outcome p50 {f['p50_ms']:.0f} ms p99 {f['p99_ms']:.0f} ms max {f['max_ms']:.0f} ms; "
                f"effects checked: {f['effects']}")


def _floor_s(ms: int) -> int:
    return ms // 1000


def _epoch(value: Any) -> int:
    """A DATETIME the engine wrote (local time, whole seconds) as a Unix epoch."""
    return int(time.mktime(value.timetuple()))


def audit(cluster: Cluster, answers: list[Answer], restarts: list[tuple[float, float]] = (),
          taken_over: list[float] = ()) -> Audit:
    """From the database alone, against every answer of the storm:

    1. every SUCCESS answer carries a `command_id` whose record exists, is the agent's and the function's, and is
       in a final state; no record at all is still `queued`; no answer was a 5xx;
    2. every SUCCESS `vicidial_api_log` row of a storm function has a record linked to it (`api_log_id`);
    3. effects, by the token each command carried — applied ⇔ exactly one trace, anything else ⇔ none:
       * external_dial (a number of its own): one `user_call_log` MANUAL_DIALNOW row with that number for that
         agent, and one `vicidial_dial_log` row with its caller code;
       * transfer_conference DIAL_WITH_CUSTOMER (a number of its own): one `user_call_log` XFER_3WAY row;
       * send_dtmf (digits of its own): one `vicidial_user_dial_log` row with those digits;
       * recording START (a suffix of its own): at most one `recording_log` row with that suffix, none unless
         applied (a START while a recording runs is applied without a new row: upstream's screen does the same);
    4. effects counted per agent: applied external_hangup = `vicidial_manager` Hangup rows the agent's hangup
       writes (caller id HLvdcW…); applied PARK_CUSTOMER = `park_log` rows; applied external_status =
       dispositioned `vicidial_agent_log` rows; agent-log rows opened outside a disposition ≤ applied PAUSE ≤
       those + rows opened by a disposition (a PAUSE asked during a call is carried out by the disposition and
       opens no row of its own);
    5. nothing fired after its validity: every trace in 3 is dated no later than its command's `created` +
       its family's validity (whole seconds, as the engine dates rows), every `applied` record ended within it
       (plus 1 s: the engine checks the validity when its transaction starts and dates the outcome at its end);
    6. the kill happened mid-storm: commands were written while no engine ran, and each new engine carried out
       commands written after it started; with several engines (`taken_over`: when the survivors held every shard
       of the killed one, epoch seconds), every agent had a command applied that was written after the takeover
       and before the new engine started: the survivors carried the dead engine's agents on.
    """
    out = Audit()
    validity = cluster.validity
    cmds = {int(r["command_id"]): r for r in cluster.rows("SELECT * FROM openagc_commands")}
    by_state = Counter(r["state"] for r in cmds.values())
    success = [a for a in answers if a.result == "SUCCESS"]
    http = Counter(a.status for a in answers)
    broken = [(a.status, a.function, a.body) for a in answers if a.status >= 500 or a.status == 0]
    out.check(not broken, f"{len(broken)} answers were a 5xx or none at all: {broken[:5]}")

    # 1. every SUCCESS has a record in a final state
    for a in success:
        record = cmds.get(a.command_id) if isinstance(a.command_id, int) else None
        if record is None:
            out.failures.append(f"SUCCESS without a record: {a.function} {a.agent} {a.params} → {a.body!r}")
            continue
        out.check(record["user"] == a.agent and record["function"] == a.function,
                  f"record {a.command_id} is {record['user']}/{record['function']}, answer {a.agent}/{a.function}")
        out.check(record["state"] in FINAL, f"record {a.command_id} still {record['state']}: {record}")
    out.check(by_state.get("queued", 0) == 0,
              f"{by_state.get('queued', 0)} records still queued: "
              f"{[r for r in cmds.values() if r['state'] == 'queued'][:5]}")
    ids = [a.command_id for a in success]
    out.check(len(ids) == len(set(ids)), "two SUCCESS answers carry the same command_id")

    # 2. every SUCCESS api-log row of a command function has a linked record
    logs = [r for r in cluster.rows("SELECT api_id, function, agent_user, result FROM vicidial_api_log "
                                    "WHERE result = 'SUCCESS'") if r["function"] in FUNCTIONS]
    linked = Counter(int(r["api_log_id"]) for r in cmds.values() if r["api_log_id"])
    unlinked = [r for r in logs if linked[int(r["api_id"])] == 0]
    out.check(not unlinked, f"{len(unlinked)} SUCCESS api log rows with no record: {unlinked[:5]}")
    out.check(len(logs) == len(success), f"{len(logs)} SUCCESS api log rows, {len(success)} SUCCESS answers")

    def too_late(record: dict[str, Any], at_epoch: int) -> bool:
        family = FAMILY_OF_COLUMN.get(record["command"], "call")
        return at_epoch > _floor_s(int(record["created_ms"]) + validity[family] * 1000)

    # 3. effects by token
    ucl = defaultdict(list)
    for r in cluster.rows("SELECT user, call_type, phone_number, callerid, call_date FROM user_call_log"):
        ucl[(r["call_type"], r["phone_number"])].append(r)
    dial_log = Counter(r["caller_code"] for r in cluster.rows("SELECT caller_code FROM vicidial_dial_log"))
    dtmf = defaultdict(list)
    for r in cluster.rows("SELECT user, caller_code, call_date FROM vicidial_user_dial_log WHERE call_type = 'SYS'"):
        dtmf[r["caller_code"]].append(r)
    recordings = cluster.rows("SELECT user, filename, start_time FROM recording_log")
    effects = Counter()
    for a in success:
        record = cmds.get(a.command_id)
        if record is None or not a.token:
            continue
        applied = record["state"] == "applied"
        if a.function == "external_dial":
            traces = [r for r in ucl[("MANUAL_DIALNOW", a.token)] if r["user"] == a.agent]
            out.check(len(traces) == (1 if applied else 0),
                      f"dial {a.command_id} ({record['state']}) has {len(traces)} user_call_log rows")
            for r in traces:
                out.check(dial_log[r["callerid"]] == 1, f"dial {a.command_id}: {dial_log[r['callerid']]} dial log rows")
                out.check(not too_late(record, _epoch(r["call_date"])),
                          f"dial {a.command_id} fired at {r['call_date']}, created {record['created']}")
            effects["dial"] += len(traces)
        elif a.function == "transfer_conference":
            traces = [r for r in ucl[("XFER_3WAY", a.token)] if r["user"] == a.agent]
            out.check(len(traces) == (1 if applied else 0),
                      f"3-way dial {a.command_id} ({record['state']}) has {len(traces)} user_call_log rows")
            out.check(not any(too_late(record, _epoch(r["call_date"])) for r in traces),
                      f"3-way dial {a.command_id} fired after its validity")
            effects["3way"] += len(traces)
        elif a.function == "send_dtmf":
            traces = [r for r in dtmf[a.token] if r["user"] == a.agent]
            out.check(len(traces) == (1 if applied else 0),
                      f"dtmf {a.command_id} ({record['state']}) has {len(traces)} user dial log rows")
            out.check(not any(too_late(record, _epoch(r["call_date"])) for r in traces),
                      f"dtmf {a.command_id} sent after its validity")
            effects["dtmf"] += len(traces)
        elif a.function == "recording":
            traces = [r for r in recordings if r["filename"].endswith(a.token) and r["user"] == a.agent]
            out.check(len(traces) <= (1 if applied else 0),
                      f"recording {a.command_id} ({record['state']}) has {len(traces)} recording_log rows")
            out.check(not any(too_late(record, _epoch(r["start_time"])) for r in traces),
                      f"recording {a.command_id} started after its validity")
            effects["recording"] += len(traces)

    # 4. effects counted per agent
    applied = defaultdict(Counter)
    for r in cmds.values():
        if r["state"] == "applied":
            applied[r["user"]][(r["command"], r["value"].split("!")[0])] += 1
    hangups = Counter(r["callerid"][-4:] for r in cluster.rows(
        "SELECT callerid FROM vicidial_manager WHERE action = 'Hangup' AND callerid LIKE 'HLvdcW%'"))
    parks = Counter(r["user"] for r in cluster.rows("SELECT user FROM park_log"))
    agent_log = defaultdict(list)
    for r in cluster.rows("SELECT agent_log_id, user, status, sub_status FROM vicidial_agent_log "
                          "ORDER BY agent_log_id"):
        agent_log[r["user"]].append(r)
    for user in cluster.agents:
        done = applied[user]
        out.check(done[("external_hangup", "1")] == hangups[user[-4:]],
                  f"{user}: {done[('external_hangup', '1')]} hangups applied, {hangups[user[-4:]]} Hangup rows")
        out.check(done[("external_park", "PARK_CUSTOMER")] == parks[user],
                  f"{user}: {done[('external_park', 'PARK_CUSTOMER')]} parks applied, {parks[user]} park_log rows")
        rows = agent_log[user]
        dispositioned = sum(1 for r in rows if r["status"])
        statuses = sum(n for (column, _), n in done.items() if column == "external_status")
        out.check(statuses == dispositioned,
                  f"{user}: {statuses} dispositions applied, {dispositioned} dispositioned agent log rows")
        after_idle = sum(1 for prev, r in itertools.pairwise(rows) if not prev["status"])
        after_dispo = sum(1 for prev, r in itertools.pairwise(rows) if prev["status"])
        pauses = done[("external_pause", "PAUSE")]
        out.check(after_idle <= pauses <= after_idle + after_dispo,
                  f"{user}: {pauses} pauses applied, {after_idle} agent log rows opened by a pause, "
                  f"{after_dispo} by a disposition")
        out.check(sum(1 for r in rows if r["sub_status"] == "LOGIN") == 1, f"{user}: not one LOGIN row")
        effects["hangup"] += hangups[user[-4:]]
        effects["park"] += parks[user]
        effects["dispo"] += dispositioned
        effects["pause rows"] += after_idle

    # 5. every applied record ended within its validity
    for r in cmds.values():
        if r["state"] == "applied":
            family = FAMILY_OF_COLUMN.get(r["command"], "call")
            took = int(r["ended_ms"]) - int(r["created_ms"])
            out.check(took <= validity[family] * 1000 + 1000,
                      f"record {r['command_id']} ({r['command']} {r['value'][:20]}) applied {took} ms after it was "
                      f"written, validity {validity[family]} s")

    # 6. the kill was mid-storm
    down = Counter()
    for killed, up in restarts:
        during = [r for r in cmds.values() if killed * 1000 <= int(r["created_ms"]) < up * 1000]
        down.update(r["state"] for r in during)
        out.check(bool(during), f"no command was written while the engine was down ({killed:.1f}–{up:.1f})")
        after = [r for r in cmds.values() if r["state"] == "applied" and r["ended_by"] == "engine"
                 and int(r["created_ms"]) >= up * 1000]
        out.check(bool(after), f"the engine started at {up:.1f} applied no command written after it started")
    for (_, up), took in zip(restarts, taken_over, strict=False):
        carried = {r["user"] for r in cmds.values() if r["state"] == "applied" and took * 1000 <= int(r["created_ms"])
                   < up * 1000}
        missing = sorted(set(cluster.agents) - carried)
        out.check(not missing, f"agents with no command applied between the takeover ({took:.1f}) and the next "
                  f"engine ({up:.1f}): {missing}")

    # applied while an engine ran (written outside the downtimes): the wake-up and the transaction, per family
    applied_ms: dict[str, list[int]] = defaultdict(list)
    for r in cmds.values():
        created = int(r["created_ms"])
        if r["state"] == "applied" and not any(k * 1000 <= created < u * 1000 for k, u in restarts):
            applied_ms[FAMILY_OF_COLUMN.get(r["command"], "call")].append(int(r["ended_ms"]) - created)

    times = [int(r["ended_ms"]) - int(r["created_ms"]) for r in cmds.values() if r["ended_ms"] is not None]
    by_function: dict[str, Counter] = defaultdict(Counter)
    for a in success:
        record = cmds.get(a.command_id)
        if record is not None:
            by_function[a.function][record["state"]] += 1
    out.figures = {
        "answers": len(answers), "success": len(success), "http": dict(http), "records": len(cmds),
        "by_state": dict(by_state), "by_function": {k: dict(v) for k, v in by_function.items()},
        "p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99), "max_ms": max(times or [0]),
        "effects": dict(effects), "written_while_down": dict(down), "applied_ms_by_family": dict(applied_ms),
        "reasons": dict(Counter(f"{r['state']}: {r['reason']}" for r in cmds.values()
                                if r["state"] in ("rejected", "expired")).most_common(12)),
    }
    return out


def dump(cluster: Cluster, answers: list[Answer], timeline: list[tuple[float, str]], workdir: Path) -> None:
    import json

    def rows(sql: str) -> list[dict[str, Any]]:
        return [{k: str(v) for k, v in r.items()} for r in cluster.rows(sql)]

    doc = {"timeline": timeline, "answers": [vars(a) for a in answers],
           "commands": rows("SELECT * FROM openagc_commands ORDER BY command_id"),
           "user_call_log": rows("SELECT * FROM user_call_log"),
           "user_dial_log": rows("SELECT * FROM vicidial_user_dial_log"),
           "agent_log": rows("SELECT * FROM vicidial_agent_log ORDER BY agent_log_id")}
    (workdir / "fault-dump.json").write_text(json.dumps(doc, indent=1, default=str))


# --- one run --------------------------------------------------------------------------------------------------


@dataclass
class RunConfig:
    agents: int = 8
    seconds: float = 8.0  # the storm before each kill, and after the last restart
    kills: int = 1
    down_seconds: float = 2.0  # the engine stays dead this long (the storm goes on) before a new one starts
    threads_per_api: int = 3
    think_ms: float = 100.0
    validity: str = VALIDITY
    seed: int = 11
    engines: int = 1  # engine processes sharing the agents; the oldest is killed, the others take its agents over


@dataclass
class RunResult:
    audit: Audit
    answers: list[Answer]
    timeline: list[tuple[float, str]]
    seconds: float


def run(config: RunConfig, workdir: Path, log: Any = print) -> RunResult:
    """Start the cluster, log the agents in, storm, kill -9 the engine `kills` times (evenly within the storm,
    each followed by a new engine on the same database), stop, let the engine settle, audit."""
    started = time.monotonic()
    timeline: list[tuple[float, str]] = []

    def mark(what: str) -> None:
        timeline.append((time.monotonic() - started, what))
        log(f"[{time.monotonic() - started:6.1f} s] {what}")

    cluster = Cluster(workdir, agents=config.agents, validity=config.validity)
    try:
        cluster.start_apis(2)
        for _ in range(config.engines):
            cluster.start_engine()
        for user in cluster.agents:
            cluster.login(user)
        mark(f"{len(cluster.agents)} agents logged in; storm starts")
        storm = Storm(cluster.apis, cluster.agents, threads_per_api=config.threads_per_api, seed=config.seed,
                      think_ms=config.think_ms)
        storm.start()
        restarts: list[tuple[float, float]] = []  # (killed, new engine up), epoch seconds
        taken_over: list[float] = []  # the survivors hold every shard of the killed engine, epoch seconds
        for _ in range(config.kills):
            time.sleep(config.seconds)  # the storm runs meanwhile
            pid = cluster.kill_engine()
            killed = time.time()
            mark(f"engine killed (kill -9), {len(storm.answers)} answers so far")
            if cluster.engines:
                cluster.wait_for(lambda p=pid: cluster.shards_of(p) == 0, timeout=LEASE + 10, every=0.05,
                                 what="the other engines taking the killed one's shards")
                taken_over.append(time.time())
                mark(f"its shards taken over after {taken_over[-1] - killed:.2f} s (lease {LEASE:g} s)")
            time.sleep(max(0.0, killed + config.down_seconds - time.time()))
            cluster.start_engine()
            restarts.append((killed, time.time()))
            mark("a new engine is up")
        time.sleep(config.seconds)
        storm.stop()
        mark(f"storm stopped: {len(storm.answers)} answers")
        longest = max(cluster.validity.values()) + 15
        with contextlib.suppress(TimeoutError):  # the audit reports what is still queued
            cluster.wait_for(lambda: cluster.queued() == 0, timeout=longest, what="every command's outcome")
        mark(f"settled: {cluster.queued()} queued")
        result = audit(cluster, storm.answers, restarts, taken_over)
        result.figures["takeover_s"] = [t - k for (k, _), t in zip(restarts, taken_over, strict=False)]
        mark("audited")
        if result.failures:  # what the audit saw, kept for the report (the database is dropped)
            dump(cluster, storm.answers, timeline, workdir)
        return RunResult(result, storm.answers, timeline, time.monotonic() - started)
    finally:
        cluster.close()
