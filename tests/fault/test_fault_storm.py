"""Issue 11 item 4: commands survive faults, proven from the database alone.

Two API processes (`openagc serve --engine off`) and an engine process (`--engine on`, the simulated switch) on
one fresh MariaDB database and one Redis; eight agents log in through the engine's `/agent/login`; six threads
send conflicting commands (dial, pause, resume, hangup, disposition, 3-way dial, park, recording, DTMF) through
both API processes with `format=json`; the engine is killed with SIGKILL mid-storm, stays down 2 s while the storm
goes on, and a new one starts on the same database (its reconciliation ends the calls the dead switch had); the
storm goes on 8 s more, stops, and the run waits until no command is queued. Then `harness.audit` checks, from
the database: a final record for every SUCCESS, a record for every SUCCESS api log row, each applied command's
effect exactly once and no other command's, nothing carried out past its validity (see `audit`'s docstring).
Validities are short (`dial=3,call=3,pause=8,status=8`) so the whole tier takes well under two minutes.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fault.harness import RunConfig, reachable, run

pytestmark = pytest.mark.fault


def test_commands_survive_an_engine_kill_mid_storm(tmp_path: Path, fault_summary: list[str]) -> None:
    why = reachable()
    if why is not None:
        fault_summary.append(f"fault tier not run: {why}")
        pytest.skip(why)
    started = time.monotonic()
    result = run(RunConfig(), tmp_path, log=print)
    figures = result.audit.figures
    line = f"fault tier ({time.monotonic() - started:.0f} s): {result.audit.summary()}"
    fault_summary.append(line)
    print(line)
    print(json.dumps({k: figures[k] for k in ("by_function", "reasons", "written_while_down")}, indent=1))
    assert not result.audit.failures, (
        f"{len(result.audit.failures)} failures (answers and rows in {tmp_path / 'fault-dump.json'}):\n"
        + "\n".join(result.audit.failures[:30]))
    assert figures["success"] > 100 and figures["by_state"].get("applied", 0) > 50  # a storm, not a trickle
