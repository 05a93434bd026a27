"""Running the `openagc` command as a user does: a subprocess in a temporary directory, and `openagc serve` waited
for until it answers (tests of the command line, the configuration file and TLS)."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "openagc"
COMMAND = [str(BIN)] if BIN.exists() else [sys.executable, "-m", "openagc.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any OPENAGC_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAGC_")}
    return env | extra


def openagc(*args: str, cwd: Path, env: dict[str, str] | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([*COMMAND, *args], cwd=cwd, env=env or clean_env(), capture_output=True, text=True,
                          timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serving(*args: str, cwd: Path, url: str, env: dict[str, str] | None = None,
            verify: bool | ssl.SSLContext = True) -> Iterator[httpx.Response]:
    """`openagc serve *args` until `url` answers (its first answer is yielded); stopped afterwards."""
    log = (cwd / "serve.log").open("w")
    proc = subprocess.Popen([*COMMAND, "serve", *args], cwd=cwd, env=env or clean_env(), stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(url, verify=verify, timeout=5)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"openagc serve did not answer: {(cwd / 'serve.log').read_text()}") from None
                time.sleep(0.1)
        yield response
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
