"""The docs run: every shell block of README.md and docs/*.md marked `<!-- run -->` is run with bash, in order,
against a fresh `openagc serve` (SQLite with the demo data, in a temporary directory, on a free port), and every
output a block shows is compared with what its command printed (`tests/docs/docblocks.py` has the markers and
the placeholders). Blocks that are not run are listed at the end of the test run (`conftest.py`).

The only changes made to a documented command before it runs are in `rewrites`: the port `127.0.0.1:8080` becomes
the test server's port, and `openagc` / `.venv/bin/openagc` becomes the path of the venv's executable. Bash runs in
the server's directory (so `var/openagc.db` is the server's database) with `set -e -o pipefail`: a command that
fails fails the test.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.docs.docblocks import ROOT, Block, blocks, documents, mismatch, segments

OPENAGC = str(Path(sys.executable).parent / "openagc")  # the venv's executable, which `.venv/bin/openagc` names
DEFAULT_SERVER = ".venv/bin/openagc serve"  # what `make run` starts


def rewrites(port: int) -> list[tuple[re.Pattern[str], str]]:
    """The only changes made to a documented command: the server's port, and where `openagc` is installed."""
    return [
        (re.compile(r"127\.0\.0\.1:8080\b"), f"127.0.0.1:{port}"),
        (re.compile(r"--port 8080\b"), f"--port {port}"),
        (re.compile(r"(?<![\w/.-])(?:\.venv/bin/)?openagc(?=\s|$)"), OPENAGC),
    ]


def rewrite(line: str, port: int) -> str:
    for rule, replacement in rewrites(port):
        line = rule.sub(replacement, line)
    return line


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(work: Path) -> dict[str, str]:
    """The caller's environment without OPENAGC_* settings; temporary files (the simulated switch's WAVs) in
    `work`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAGC_")}
    (work / "tmp").mkdir(exist_ok=True)
    return env | {"TMPDIR": str(work / "tmp"), "NO_COLOR": "1"}


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(command: str, work: Path) -> Server:
    """The document's server, started in `work` (so `var/openagc.db` is created there with the demo data)."""
    port = _free_port()
    argv = shlex.split(rewrite(command, port))
    if "--port" not in argv:
        argv += ["--port", str(port)]
    log = work / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=work, env=_env(work), stdout=out, stderr=subprocess.STDOUT)
    server = Server(process, port, log)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{command!r} exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"{command!r} did not answer /healthz within 60 s:\n{log.read_text()}")
        time.sleep(0.1)


SEPARATOR = "\x1e"
# Run before and after each block: variables a block sets are kept for the next ones (bash's own are not).
PROLOGUE = """__base=$(compgen -v)
if [ -f "$__STATE" ]; then . "$__STATE"; fi
set -e -o pipefail
"""
EPILOGUE = """set +e
__keep=$(compgen -v | grep -vxF -e "$__base" | grep -v -e '^__' -e '^BASH' -e '^PIPESTATUS$' -e '^FUNCNAME$' \
  -e '^_$' -e '^COLUMNS$' -e '^LINES$' || true)
if [ -n "$__keep" ]; then declare -p $__keep > "$__STATE"; fi
"""


def run_block(block: Block, port: int, work: Path) -> None:
    """Run one block with bash in `work` and compare every shown output."""
    parts = segments(block)
    script = PROLOGUE
    for part in parts:
        script += "\n".join(rewrite(line, port) for line in part.script) + f"\nprintf '{SEPARATOR}'\n"
    script += EPILOGUE
    env = _env(work) | {"__STATE": str(work / "shell-state.sh")}
    done = subprocess.run(["bash", "-c", script], cwd=work, env=env, capture_output=True, text=True, timeout=120)
    outputs = done.stdout.split(SEPARATOR)
    if done.returncode != 0:
        failed = parts[min(len(outputs) - 1, len(parts) - 1)]
        raise AssertionError(f"{block.where}: the command before line {failed.line} exited with {done.returncode}\n"
                             f"stdout:\n{done.stdout.replace(SEPARATOR, '')}\nstderr:\n{done.stderr}")
    for part, output in zip(parts, outputs, strict=False):
        if part.expected is None:
            continue
        problem = mismatch(part.expected, output)
        assert problem is None, f"{block.where}, output of the command ending on line {part.line}: {problem}"
    if block.shown is not None:
        problem = mismatch(block.shown, done.stdout.replace(SEPARATOR, ""))
        assert problem is None, f"{block.where}, the output block after it: {problem}"


def plan(path: Path) -> tuple[Block | None, list[Block]]:
    """A document's server block (if any) and its run blocks, each with the output block that follows it."""
    found = blocks(path)
    server = next((b for b in found if b.marker == "server"), None)
    runs: list[Block] = []
    for n, block in enumerate(found):
        if block.marker != "run":
            continue
        follower = found[n + 1] if n + 1 < len(found) else None
        if follower is not None and follower.marker == "output":
            block.shown = follower.lines
        runs.append(block)
    return server, runs


RUNNABLE = [p for p in documents() if plan(p)[1]]


@pytest.mark.parametrize("path", RUNNABLE, ids=[str(p.relative_to(ROOT)) for p in RUNNABLE])
def test_the_documented_commands_run_and_print_what_the_document_shows(path: Path, tmp_path: Path) -> None:
    server_block, runs = plan(path)
    command = server_block.lines[0].strip() if server_block else DEFAULT_SERVER
    server = start_server(command, tmp_path)
    try:
        for block in runs:
            run_block(block, server.port, tmp_path)
    finally:
        server.stop()


def test_markers_are_used_as_documented() -> None:
    """A marker stands before the kind of block it names (a typo would silently skip a block)."""
    for path in documents():
        found = blocks(path)
        for n, block in enumerate(found):
            if block.marker in ("run", "server"):
                assert block.is_shell, f"{block.where}: <!-- {block.marker} --> before a {block.language!r} block"
            if block.marker == "server":
                assert len([ln for ln in block.lines if ln.strip()]) == 1, f"{block.where}: one command"
            if block.marker == "output":
                assert n > 0 and found[n - 1].marker == "run", f"{block.where}: output of no run block"
            if block.marker == "not run":
                assert block.reason, f"{block.where}: say why it is not run"
        text = re.sub(r"`[^`\n]*`", "", path.read_text(encoding="utf-8"))  # a marker named in prose is no marker
        markers = re.findall(r"<!--\s*(?:run|server|output|not run)\b[^>]*-->", text)
        assert len(markers) == sum(1 for b in found if b.marker), f"{path.name}: a marker not right before a fence"


def test_the_walkthroughs_are_among_the_documents_that_run() -> None:
    names = {str(p.relative_to(ROOT)) for p in RUNNABLE}
    assert {"README.md", "docs/agent-api.md", "docs/troubleshooting.md"} <= names


def test_shown_output_is_compared_exactly_but_for_the_placeholders() -> None:
    assert mismatch(["SUCCESS: x - PAUSE|<n>|1000"], "SUCCESS: x - PAUSE|1795856172|1000\n") is None
    assert mismatch(["DATE: <date> <time>|<token>"], "DATE: 2026-11-28 08:56:12|Y12.8_0-a") is None
    assert mismatch(['{"a":1,…}'], '{"a":1,"b":[2,3]}') is None
    assert mismatch(["SUCCESS: x - PAUSE|<n>|1000"], "SUCCESS: x - PAUSE|17958x|1000") is not None
    assert mismatch(["ERROR: x"], "ERROR: x.") is not None  # no trailing text slips through
    assert mismatch(["a", "b"], "a\n") is not None  # a missing line
    assert mismatch(["(a)"], "a") is not None  # regex characters are literal


def test_a_block_is_cut_after_each_shown_output() -> None:
    block = Block(ROOT / "README.md", 1, "sh", "run", "", [
        "X=1", "echo $X  # => 1", "printf 'a\\nb\\n'", "# => a", "# => b", "echo tail"])
    cut = segments(block)
    assert [(s.script, s.expected) for s in cut] == [
        (["X=1", "echo $X  # => 1"], ["1"]), (["printf 'a\\nb\\n'"], ["a", "b"]), (["echo tail"], None)]
