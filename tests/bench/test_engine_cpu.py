"""bench/engine_cpu.py: every command it sends is carried out by the engine and checked (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_small_run_carries_out_every_command_and_reports_its_cpu_a_command(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "engine_cpu.py"), "--database", "sqlite",
                          "--requests", "20", "--agents", "5"], capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    line = run.stdout.strip().splitlines()[-1]
    assert line.startswith("| external_pause PAUSE/RESUME, engine on | sqlite | ")
    assert "| 20 × 3 | all applied |" in line
