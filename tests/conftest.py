"""Fixtures: every API test runs once on SQLite and once on MariaDB, through a live HTTP server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import Api, Backend, Db, live_agent_row

BACKENDS = ("sqlite", "mariadb")


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
