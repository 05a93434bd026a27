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

The second run has two engine processes sharing the agents (engine/shards.py, leases of 2 s): the older one is
killed mid-storm, the survivor takes its shards over within the lease, carries its agents on (every agent has a
command applied after the takeover), and a new engine joins 5 s after the kill; the same audit holds.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.fault.harness import RunConfig, reachable, run

pytestmark = pytest.mark.fault


@pytest.mark.parametrize("config", [RunConfig(), RunConfig(engines=2, down_seconds=5.0)], ids=["one", "two_engines"])
def test_commands_survive_an_engine_kill_mid_storm(config: RunConfig, tmp_path: Path,
                                                    fault_summary: list[str]) -> None:
    why = reachable()
    if why is not None:
        fault_summary.append(f"fault tier not run: {why}")
        pytest.skip(why)
    started = time.monotonic()
    result = run(config, tmp_path, log=print)
    figures = result.audit.figures
    line = (f"fault tier, {config.engines} engine(s) ({time.monotonic() - started:.0f} s): "
            f"{result.audit.summary()}" + (f"; taken over after {figures['takeover_s']} s" if config.engines > 1
                                           else ""))
    fault_summary.append(line)
    print(line)
    print(json.dumps({k: figures[k] for k in ("by_function", "reasons", "written_while_down", "takeover_s")},
                     indent=1))
    assert not result.audit.failures, (
        f"{len(result.audit.failures)} failures (answers and rows in {tmp_path / 'fault-dump.json'}):\n"
        + "\n".join(result.audit.failures[:30]))
    assert figures["success"] > 100 and figures["by_state"].get("applied", 0) > 50  # a storm, not a trickle
