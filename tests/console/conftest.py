"""Browser fixtures: the engine server (as in tests/engine) and headless Chromium through Playwright.

The console tests run on SQLite only: the page talks to the same `/agent/` and `/console/api/` code on
both databases, and the database-specific paths are covered by the API and engine suites on both. Each
test gets a fresh database, engine and virtual-time switch (`eng`) and a fresh browser context (`page`).

Set `OPENAGC_SCREENSHOTS=<dir>` to have `test_main_screens` write the documentation screenshots there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.conftest import EngineEnv
from tests.support import Backend, Db

CHROMIUM = os.environ.get("OPENAGC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """SQLite only (overrides the two-database fixture of tests/conftest.py for this directory)."""
    b = Backend("sqlite", str(tmp_path_factory.mktemp("db-console") / "openagc.db"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def engine_env(backend: Backend) -> Iterator[EngineEnv]:
    env = EngineEnv(backend)
    try:
        yield env
    finally:
        env.client.close()


@pytest.fixture
def eng(engine_env: EngineEnv, db: Db) -> EngineEnv:
    engine_env.fresh()
    return engine_env


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, eng: EngineEnv) -> Iterator[Any]:
    context = browser.new_context(viewport=DESKTOP, base_url=eng.server.base_url)
    context.set_default_timeout(10_000)
    pg = context.new_page()
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture
def screenshots() -> Path | None:
    where = os.environ.get("OPENAGC_SCREENSHOTS")
    if not where:
        return None
    path = Path(where)
    path.mkdir(parents=True, exist_ok=True)
    return path
