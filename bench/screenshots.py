"""Regenerate the console screenshots in docs/screenshots/ (login, ready, in call, notification, dispo, narrow).

    .venv/bin/python bench/screenshots.py [--out docs/screenshots]

The screens come from the browser test that walks through them (`tests/console/test_console.py::
test_main_screens`, headless Chromium at 1280×800, the last one at 390×844): this script only runs that
test with `OPENAGC_SCREENSHOTS` pointing at the output directory, so the pictures always show what the
tested page really looks like.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"OPENAGC_SCREENSHOTS": str(out)}
    test = "tests/console/test_console.py::test_main_screens"
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env, check=False)
    if done.returncode == 0:
        for png in sorted(out.glob("*.png")):
            print(png.relative_to(ROOT) if png.is_relative_to(ROOT) else png)
    return done.returncode


if __name__ == "__main__":
    raise SystemExit(main())
