"""The fault tier's harness, larger: more agents, a longer storm, several engine kills.

    .venv/bin/python bench/fault_storm.py --agents 20 --seconds 30 --kills 3
    .venv/bin/python bench/fault_storm.py --agents 20 --seconds 30 --kills 3 --engines 2 --down 6

Two API processes (`--engine off`) and an engine process (`--engine on`, simulated switch) on a fresh MariaDB
database and the local Redis; `--agents` agents log in; `--threads` threads per API process send conflicting
commands; every `--seconds` the engine is killed with SIGKILL, stays down `--down` seconds while the storm goes
on, and a new one starts on the same database; after the last restart the storm goes on `--seconds` more. Then
the audit of `tests/fault/harness.py` runs from the database (every check of the tier) and the figures are
printed as the tables of docs/benchmarks.md. Exits 1 if the audit failed (the failures are printed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from common import machine  # noqa: E402

from tests.fault.harness import VALIDITY, RunConfig, percentile, run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30.0, help="storm before each kill and after the last restart")
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--down", type=float, default=2.0, help="seconds the engine stays dead before the next starts")
    ap.add_argument("--threads", type=int, default=4, help="storm threads per API process")
    ap.add_argument("--think-ms", type=float, default=100.0, help="a thread waits up to this between commands")
    ap.add_argument("--validity", default=VALIDITY, help="OPENAGC_COMMAND_VALIDITY of the processes")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--engines", type=int, default=1,
                    help="engine processes sharing the agents; the oldest is killed, the others take over")
    args = ap.parse_args()
    config = RunConfig(agents=args.agents, seconds=args.seconds, kills=args.kills, down_seconds=args.down,
                       threads_per_api=args.threads, think_ms=args.think_ms, validity=args.validity, seed=args.seed,
                       engines=args.engines)
    workdir = Path(tempfile.mkdtemp(prefix="openagc-fault-"))
    result = run(config, workdir, log=print)
    audit, f = result.audit, result.audit.figures
    print(f"\nmachine: {machine()}")
    print(f"run: {result.seconds:.0f} s in all; {f['answers']} api.php answers ({f['success']} SUCCESS), "
          f"HTTP statuses {f['http']}; records {f['records']}")
    print("\n| outcome | commands |\n|---|---|")
    for state, n in sorted(f["by_state"].items(), key=lambda kv: -kv[1]):
        print(f"| {state} | {n} |")
    states = sorted({s for v in f["by_function"].values() for s in v})
    print("\n| function | " + " | ".join(states) + " |\n|---|" + "---|" * len(states))
    for function, counts in sorted(f["by_function"].items()):
        print(f"| {function} | " + " | ".join(str(counts.get(s, 0)) for s in states) + " |")
    print(f"\ntime to outcome (ended_ms - created_ms), every record: p50 {f['p50_ms']:.0f} ms, "
          f"p99 {f['p99_ms']:.0f} ms, max {f['max_ms']:.0f} ms")
    by_family = f["applied_ms_by_family"]
    for family, values in sorted(by_family.items()):
        print(f"applied {family}: {len(values)}, p50 {percentile(values, 50):.0f} ms, "
              f"p99 {percentile(values, 99):.0f} ms")
    print(f"effects found in the database: {f['effects']}")
    print(f"written while the engine was down: {f['written_while_down']}")
    if f["takeover_s"]:
        print(f"a killed engine's shards taken over after: {', '.join(f'{t:.2f} s' for t in f['takeover_s'])}")
    print(f"reasons: {f['reasons']}")
    if audit.failures:
        print(f"\nAUDIT FAILED: {len(audit.failures)} failures (dump in {workdir})")
        for failure in audit.failures[:50]:
            print(" -", failure)
        return 1
    print("\naudit: every check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
