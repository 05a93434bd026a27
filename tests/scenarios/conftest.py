"""The scenario list runs on every switch: the simulated one on SQLite and MariaDB (every run), Asterisk on SQLite
(marked `asterisk`: only when an Asterisk is found; `make test-asterisk` records its AMI transcripts)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scenarios.driver import LiveDriver
from tests.support import Backend

#: A scenario module's `pytestmark`: each test once per switch (and database).
ON_EVERY_SWITCH = pytest.mark.parametrize(("backend", "drv"), [
    pytest.param("sqlite", "simulated", id="simulated-sqlite"),
    pytest.param("mariadb", "simulated", id="simulated-mariadb"),
    pytest.param("sqlite", "asterisk", id="asterisk", marks=pytest.mark.asterisk),
], indirect=True)


@pytest.fixture
def drv(request: pytest.FixtureRequest, backend: Backend) -> Iterator[LiveDriver]:
    """The scenario's switch: `SimulatedDriver` on the engine fixtures' server of `backend`, or `AsteriskDriver` on
    the tier (its own SQLite database; `backend` is only set up)."""
    driver: LiveDriver
    if request.param == "asterisk":
        from tests.scenarios.asterisk import AsteriskDriver

        driver = AsteriskDriver(request.getfixturevalue("tier"))
    else:
        from tests.scenarios.simulated import SimulatedDriver

        driver = SimulatedDriver(request.getfixturevalue("eng"), request.getfixturevalue("db"))
    try:
        yield driver
    finally:
        driver.close()  # type: ignore[attr-defined]
