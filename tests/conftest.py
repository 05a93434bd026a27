"""Fixtures: every API test runs once on SQLite and once on MariaDB, through a live HTTP server.

Also here: the engine server on the simulated switch (`engine_env`, `eng`; `tests/engine/conftest.py`), shared by
the engine tests and the scenario list, and the Asterisk tier's fixtures (`tests/asterisk/tier.py`) with its
deselection: tests marked `asterisk` (everything under tests/asterisk, the Asterisk variant of `tests/scenarios`)
run only when an Asterisk is found, else the run ends with one line saying so.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from openagc.engine import states
from tests.asterisk.tier import ASTERISK, NOT_RUN, asterisk, observer, tier, tier_env, tier_root  # noqa: F401
from tests.support import Api, Backend, Db, live_agent_row

if TYPE_CHECKING:
    from tests.engine.conftest import EngineEnv

BACKENDS = ("sqlite", "mariadb")
TIER = Path(__file__).parent / "asterisk"
_NOT_RUN_KEY = pytest.StashKey[bool]()


_RUN_TMPDIR = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    # Everything the run writes to a temporary place (the simulated switch's recordings, servers started as
    # processes, Chromium's profile, pytest's own tmp_path) goes into one directory of this run, removed at the end
    # of a passing run and kept (its path printed) after a failing one.
    run_tmpdir = tempfile.mkdtemp(prefix="openagc-tests-")
    os.environ["TMPDIR"] = run_tmpdir
    tempfile.tempdir = run_tmpdir
    config.stash[_RUN_TMPDIR] = run_tmpdir
    config.addinivalue_line("markers", "asterisk: needs a real Asterisk (tests/asterisk and the Asterisk variant of "
                            "tests/scenarios; without one they are deselected and the run says so in one line)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if TIER in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.asterisk)
    if ASTERISK is not None:
        return
    dropped = [i for i in items if i.get_closest_marker("asterisk") is not None]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i.get_closest_marker("asterisk") is None]
        config.stash[_NOT_RUN_KEY] = True


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if config.stash.get(_NOT_RUN_KEY, False):
        terminalreporter.write_line(NOT_RUN)
    if exitstatus != 0 and _RUN_TMPDIR in config.stash:
        terminalreporter.write_line(f"this run's temporary files are kept in {config.stash[_RUN_TMPDIR]}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    run_tmpdir = session.config.stash.get(_RUN_TMPDIR, None)
    if run_tmpdir is not None and exitstatus == 0:
        shutil.rmtree(run_tmpdir, ignore_errors=True)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    b = Backend(request.param, str(tmp_path_factory.mktemp(f"db-{request.param}") / "openagc.db"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def db(backend: Backend) -> Db:
    backend.reset()
    return Db(backend.sync)


@pytest.fixture
def api(backend: Backend, db: Db) -> Api:
    return Api(backend.client)


@pytest.fixture
def login(db: Db):
    """Put an agent in `vicidial_live_agents` as a logged-in agent (engine off): `login("1000", status=...)`."""

    def _login(user: str = "1000", **overrides: Any) -> dict[str, Any]:
        row = live_agent_row(user, **overrides)
        db.insert("vicidial_live_agents", **row)
        return row

    return _login


@pytest.fixture(scope="session")
def engine_env(backend: Backend) -> Iterator[EngineEnv]:
    """The engine server of `backend` on a simulated switch in virtual time (one per database)."""
    from tests.engine.conftest import EngineEnv

    env = EngineEnv(backend)
    try:
        yield env
    finally:
        env.client.close()


@pytest.fixture
def eng(engine_env: EngineEnv, db: Db) -> Iterator[EngineEnv]:
    """`engine_env` with a fresh database, engine and switch; the engine stops after the test, so it never
    acts on what later tests (API tests with the engine off) write into the same database. Every move of an agent
    or a transfer the engine made meanwhile must be one `engine/states.py` declares."""
    states.UNDECLARED.clear()
    engine_env.fresh()
    yield engine_env
    stop = engine_env.services.extra.pop("engine_stop", None)
    if stop is not None:
        # Stopping waits for the engine's work in flight (at most its stop grace, 10 s); the bound leaves room for a
        # loaded machine. (A 20 s bound once timed out here: SQLite reads then took the write lock, see
        # store/database.py; they no longer do.)
        engine_env.run(stop(), timeout=60)
    assert not states.UNDECLARED, f"moves not in the state table (engine/states.py): {dict(states.UNDECLARED)}"
