"""bench/engine_capacity.py: two engines share the agents and every command sent is applied once by an engine
(no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_bus import _redis_up

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not _redis_up(), reason="Redis is not running on 127.0.0.1:6379 (make test starts it)")
def test_a_small_run_of_two_engines_applies_every_command_once(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "engine_capacity.py"), "--database", "sqlite",
                          "--agents", "6", "--engines", "2", "--duration", "4", "--rate-per-agent", "0.5"],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    row = run.stdout.strip().splitlines()[-2].split(" | ")
    assert row[0] == "| 2" and row[2:5] == ["6", "3", "12"]  # engines, agents, commands/s, commands sent
    assert row[8] == "{'applied': 12}" and row[11] == "[32, 32]" and row[-1] == "yes |"
