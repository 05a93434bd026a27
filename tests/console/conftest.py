"""Browser fixtures: headless Chromium through Playwright, over the engine server of each database.

The console tests run on SQLite and on MariaDB, like every engine test: `eng` (tests/conftest.py) gives each test a
fresh database, engine and virtual-time switch of the session's backend, and `page` a fresh browser context.

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

CHROMIUM = os.environ.get("OPENAGC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}


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
def phone_page(browser: Any, eng: EngineEnv) -> Iterator[Any]:
    """A phone-sized page (390×844, touch)."""
    context = browser.new_context(viewport=NARROW, base_url=eng.server.base_url, is_mobile=True, has_touch=True)
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
