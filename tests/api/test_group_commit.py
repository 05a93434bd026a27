"""Group commit through api.php: requests that queue together commit together, and each is answered as if alone.

The agents' rows are held by another transaction (a write lock on SQLite, row locks on MariaDB) while the requests
arrive, so the first requests wait inside their transactions and the rest queue behind them; once it ends, the
queued ones are committed in shared transactions. Every answer, command and log row is checked.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY as METRICS

from openagc.api import pipeline
from openagc.store.schema import vicidial_live_agents, vicidial_users
from tests.support import AUTH, Backend, Db, api_batch_statements, wait_for

AGENTS = [str(2000 + i) for i in range(12)]
EPOCH = 1768473000  # FROZEN_AT


def _batches() -> float:
    return METRICS.get_sample_value("openagc_group_commit_bodies_count") or 0.0


@contextmanager
def agents_held(db: Db, users: list[str], caller: bool = False) -> Iterator[None]:
    """Another writer holds `users`' live rows (and the caller's `vicidial_users` row if `caller`; on SQLite, the
    database's write lock) until the block ends."""
    L, U = vicidial_live_agents.c, vicidial_users.c
    with db.engine.begin() as conn:
        conn.execute(sa.update(vicidial_live_agents).where(L.user.in_(users)).values(external_pause=""))
        if caller:  # what a refused password writes (its failure's notes)
            conn.execute(sa.update(vicidial_users).where(U.user == AUTH["user"]).values(custom_one=""))
        yield


def _ask(backend: Backend, params: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=backend.server.base_url, timeout=60) as client:
        return client.get("/agc/api.php", params=params)


@contextmanager
def queued(backend: Backend, db: Db, requests: list[dict[str, str]], caller: bool = False) -> Iterator[list]:
    """Send `requests` at once while the agents (and the caller, if `caller`) are held; yields their responses once
    all are answered."""
    commits = backend.services.commits
    _ask(backend, {"function": "version"})  # the server's and the page's log ids are known before the agents are held
    before = commits.received
    with ThreadPoolExecutor(len(requests)) as pool:
        with agents_held(db, AGENTS, caller):
            futures = [pool.submit(_ask, backend, r) for r in requests]
            wait_for(lambda: commits.received == before + len(requests), timeout=20, what="every request handed over")
        yield [f.result(timeout=60) for f in futures]


def pause(agent: str, value: str = "PAUSE") -> dict[str, str]:
    return AUTH | {"function": "external_pause", "agent_user": agent, "value": value}


def test_queued_requests_commit_together_and_each_gets_its_own_answer(api, db, login, backend):
    for agent in AGENTS:
        login(agent, status="PAUSED" if agent == AGENTS[1] else "READY")
    requests = [pause(a) for a in AGENTS]
    requests[1] = pause(AGENTS[1], "RESUME")  # allowed: that agent is paused
    requests[2] = pause(AGENTS[2], "RESUME")  # refused: that agent is not paused
    requests[3] = pause(AGENTS[3]) | {"pass": "wrong"}  # bad credentials
    before = _batches()
    with queued(backend, db, requests) as responses:
        texts = [r.text for r in responses]
    assert texts[1] == f"SUCCESS: external_pause function set - RESUME|{EPOCH}|{AGENTS[1]}\n"
    assert texts[2] == f"ERROR: external_pause agent is not paused - RESUME|{AGENTS[2]}\n"
    assert texts[3] == "ERROR: Invalid Username/Password: |6666|\n"
    for i in (0, *range(4, len(AGENTS))):
        assert texts[i] == f"SUCCESS: external_pause function set - PAUSE|{EPOCH}|{AGENTS[i]}\n"
    columns = {r["user"]: r["external_pause"] for r in db.rows("vicidial_live_agents")}
    assert columns[AGENTS[1]] == f"RESUME!{EPOCH}" and columns[AGENTS[2]] == columns[AGENTS[3]] == ""
    assert all(columns[a] == f"PAUSE!{EPOCH}" for i, a in enumerate(AGENTS) if i not in (1, 2, 3))
    logs = db.logs()
    assert sorted(r["agent_user"] for r in logs if r["function"] == "external_pause") == AGENTS  # one row each
    records = db.rows("openagc_commands")
    assert sorted(r["user"] for r in records) == sorted(a for i, a in enumerate(AGENTS) if i not in (2, 3))
    by_log = {r["api_id"]: r["agent_user"] for r in logs}
    assert all(by_log[r["api_log_id"]] == r["user"] for r in records)  # each linked to its own request's log row
    assert _batches() - before < len(requests)  # some requests shared a transaction


def test_a_request_that_fails_is_answered_500_alone_and_the_others_of_its_batch_are_applied(
        api, db, login, backend, monkeypatch):
    for agent in AGENTS:
        login(agent)
    spec = pipeline.REGISTRY["external_status"]

    async def broken(call: pipeline.Call) -> None:
        await call.update_agent(external_status="A")
        raise RuntimeError("a bug in the handler")

    monkeypatch.setitem(pipeline.REGISTRY, "external_status", dataclasses.replace(spec, handler=broken))
    requests = [pause(a) for a in AGENTS]
    requests[5] = AUTH | {"function": "external_status", "agent_user": AGENTS[5], "value": "A"}
    with queued(backend, db, requests) as responses:
        statuses = [r.status_code for r in responses]
    assert statuses[5] == 500 and statuses.count(200) == len(AGENTS) - 1
    assert db.row("vicidial_live_agents", user=AGENTS[5])["external_status"] == ""  # its write rolled back
    assert db.count("vicidial_api_log", function="external_status") == 0
    assert db.count("vicidial_api_log", function="external_pause") == len(AGENTS) - 1
    assert db.count("openagc_commands") == len(AGENTS) - 1


@pytest.mark.parametrize("function", ["force_fronter_leave_3way", "force_fronter_audio_stop"])
def test_functions_that_call_a_remote_cluster_run_in_their_own_transaction(api, db, function):
    """They may wait seconds on the remote cluster: grouped, they would hold up every request of their batch."""
    before = _batches()
    assert api(function, value="LOCAL_ONLY", agent_user="1000").startswith("ERROR: ")
    assert _batches() == before and db.last_log()["function"] == function[:20]  # upstream's column is 20 wide
    api("external_pause", agent_user="1000", value="PAUSE")
    assert _batches() == before + 1


@contextmanager
def caller_reads(backend: Backend) -> Iterator[list[str]]:
    """The reads of callers' rows api.php's batches send inside the block, once it ends: "shared" (several
    requests' in one statement) or "alone"."""
    reads: list[str] = []
    with api_batch_statements(backend) as sent:
        yield reads
    reads.extend("shared" if "UNION ALL" in sql else "alone" for sql in sent if "FROM vicidial_users" in sql)


def test_queued_requests_of_one_api_user_read_their_callers_and_agents_together(api, db, login, backend):
    for agent in AGENTS:
        login(agent, status="PAUSED" if agent == AGENTS[4] else "READY")
    requests = [pause(a) for a in AGENTS]
    requests[4] = pause(AGENTS[4], "RESUME")  # read ahead: the agent's row says it is paused
    with caller_reads(backend) as seen, queued(backend, db, requests) as responses:
        texts = [r.text for r in responses]
    for i, agent in enumerate(AGENTS):
        value = "RESUME" if i == 4 else "PAUSE"
        assert texts[i] == f"SUCCESS: external_pause function set - {value}|{EPOCH}|{agent}\n"
    assert "shared" in seen and len(seen) < len(requests)  # some requests' reads were one statement


def test_after_a_bad_password_in_a_batch_the_callers_rows_are_read_again(api, db, login, backend):
    """A refused password counts a failure on the caller's rows: the requests after it in its batch read them
    themselves (twelve wrong passwords: ten counted, then locked)."""
    for agent in AGENTS:
        login(agent)
    requests = [pause(a) | {"pass": "wrong"} for a in AGENTS]
    with caller_reads(backend) as seen, queued(backend, db, requests, caller=True) as responses:
        texts = [r.text for r in responses]
    assert texts == ["ERROR: Invalid Username/Password: |6666|\n"] * len(AGENTS)
    assert db.row("openagc_login_failures", user="6666")["failures"] == 10
    codes = [row["data"].split("|")[1] for row in db.logs() if row["function"] == "external_pause"]
    assert sorted(codes) == ["BAD"] * 10 + ["LOCK"] * 2
    # a shared read served only the first of its batch; every request after it read for itself
    assert "shared" in seen and seen.count("alone") + seen.count("shared") == len(AGENTS)
