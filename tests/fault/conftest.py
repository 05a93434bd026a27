"""The fault tier's marker and its one summary line (the storm's figures, or why the tier did not run)."""

from __future__ import annotations

from typing import Any

import pytest

SUMMARY = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fault: real processes on MariaDB and Redis, the engine killed mid-storm "
                            "(tests/fault; skipped with one line when MariaDB or Redis is unreachable)")
    config.stash[SUMMARY] = []


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for line in config.stash.get(SUMMARY, []):
        terminalreporter.write_line(line)


@pytest.fixture
def fault_summary(request: pytest.FixtureRequest) -> list[str]:
    """Lines for the end of the run (`pytest_terminal_summary`)."""
    return request.config.stash[SUMMARY]
