"""bench/group_commit.py: every request's rows are written, one transaction each or several in one (no timing is
asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import MARIADB_SERVER

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("shape", ["shared", "serial"])
def test_a_small_run_writes_every_requests_rows_alone_and_grouped(tmp_path, shape):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "group_commit.py"), "--requests", "64",
                          "--batch", "1,4", "--rounds", "1", "--connections", "2", "--shape", shape],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path,
                         env=os.environ | {"OPENAGC_BENCH_MARIADB": MARIADB_SERVER})
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.split(" | ") for line in run.stdout.splitlines() if line.startswith(("| 1 |", "| 4 |"))]
    assert [r[0] for r in rows] == ["| 1", "| 4"]
    assert all(r[-1] == "yes |" for r in rows), run.stdout
    assert f"{shape} statements" in run.stdout
