"""The hostile-input property suite (`tests/security/test_hostile_input.py`), run long.

    .venv/bin/python bench/hostile.py --examples 3000

Runs the same properties as `make test` (no 5xx, no SQL or traceback in an answer, no state change on an
ERROR-only answer, the password in no answer, api-log row or log record) with the `long` Hypothesis profile:
`--examples` generated requests per property and database (api.php on SQLite and MariaDB, `/agent/` and the
console on SQLite and MariaDB). Prints the requests sent, the failures and the run time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=3000, help="requests per property and database")
    parser.add_argument("-k", default="", help="pytest -k expression (e.g. 'sqlite and api_php')")
    args = parser.parse_args()
    env = os.environ | {"OPENAGC_FUZZ_PROFILE": "long", "OPENAGC_FUZZ_EXAMPLES": str(args.examples)}
    command = [str(ROOT / ".venv" / "bin" / "pytest"), "tests/security/test_hostile_input.py", "-q", "-p",
               "no:warnings", "--hypothesis-show-statistics"] + (["-k", args.k] if args.k else [])
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env)
    elapsed = time.monotonic() - started
    runs = 4 if not args.k else 1
    print(f"\nhostile input: ~{args.examples * runs} requests in {elapsed:.0f} s, "
          f"{'no failure' if result.returncode == 0 else 'FAILURES (see above)'}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
