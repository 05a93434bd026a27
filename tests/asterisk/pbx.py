"""A real Asterisk for the integration tier: the project's configuration (`openagc.switch.asterisk_config`) in a
temporary directory, its process on loopback ports of its own, `asterisk -rx` commands, and a read-everything AMI
observer.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openagc.switch import asterisk_config
from openagc.switch.asterisk import AsteriskSettings

AMI_USER, AMI_SECRET = "openagc", "openagc-ami-secret"
OBSERVER_USER, OBSERVER_SECRET = "tracer", "tracer-ami-secret"
SERVER_IP = "10.10.10.15"
INBOUND_DID = "3125550999"

def find_asterisk() -> Path | None:
    """`$ASTERISK_BIN`, else `asterisk` on PATH, else /opt/asterisk/sbin/asterisk; None when there is none."""
    given = os.environ.get("ASTERISK_BIN")
    if given:
        return Path(given) if Path(given).is_file() and os.access(given, os.X_OK) else None
    found = shutil.which("asterisk")
    if found:
        return Path(found)
    default = Path("/opt/asterisk/sbin/asterisk")
    return default if default.is_file() and os.access(default, os.X_OK) else None


def modules_dir(binary: Path) -> Path:
    """The module directory next to an installed binary (`<prefix>/lib/asterisk/modules`)."""
    given = os.environ.get("ASTERISK_MODULES")
    if given:
        return Path(given)
    for candidate in (binary.parent.parent / "lib" / "asterisk" / "modules",
                      binary.parent.parent / "lib64" / "asterisk" / "modules",
                      Path("/usr/lib/asterisk/modules")):
        if candidate.is_dir():
            return candidate
    return binary.parent.parent / "lib" / "asterisk" / "modules"


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Ports:
    ami: int = field(default_factory=free_port)
    iax: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))


def write_config(root: Path, binary: Path, ports: Ports) -> tuple[Path, AsteriskSettings]:
    """The project's configuration (`asterisk_config.write_config`) with the tier's options: loopback IAX2 phones
    1000 and 1001, the fake-customer trunk, an inbound DID into TEST_IN, the observer account, and every directory
    under `root`. Returns asterisk.conf and the adapter settings the dialplan was derived from."""
    prefix = binary.parent.parent
    installed_data = next((p for p in (prefix / "var" / "lib" / "asterisk", Path("/var/lib/asterisk"),
                                       Path("/usr/share/asterisk")) if (p / "documentation").is_dir()), None)
    settings = AsteriskSettings(host="127.0.0.1", port=ports.ami, username=AMI_USER, secret=AMI_SECRET,
                                server_ip=SERVER_IP, recording_dir=str(root / "spool" / "monitor"))
    etc = root / "etc"
    options = asterisk_config.AsteriskConfigOptions(
        ami_user=AMI_USER, ami_secret=AMI_SECRET, ami_port=ports.ami, bind="127.0.0.1",
        observer_ami=(OBSERVER_USER, OBSERVER_SECRET), phones=[("1000", "IAX2"), ("1001", "IAX2")],
        loopback_phones=True, iax_bind="127.0.0.1", iax_port=ports.iax, sip_bind="127.0.0.1",
        sip_port=free_port(socket.SOCK_DGRAM), test_customers=True, dids=[(INBOUND_DID, "TEST_IN")],
        directories=asterisk_config.AsteriskDirectories.under(
            root, etc=etc, modules=modules_dir(binary), data_from=installed_data,
            sounds=Path(os.environ.get("ASTERISK_SOUNDS", "/usr/share/asterisk/sounds"))),
        settings=settings,
    )
    assert options.directories is not None
    options.directories.create()
    written = [Path(p) for p in asterisk_config.write_config(etc, options)]
    return next(p for p in written if p.name == "asterisk.conf"), settings


def _die_with_parent() -> None:
    """In the child: SIGKILL when the test process dies, however it dies (Linux `PR_SET_PDEATHSIG`)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1
    except OSError:
        pass


class Asterisk:
    """One Asterisk process with its own configuration, ports and run directory."""

    def __init__(self, binary: Path, root: Path) -> None:
        self.binary = binary
        self.root = root
        self.ports = Ports()
        self.conf, self.settings = write_config(root, binary, self.ports)
        self.monitor_dir = root / "spool" / "monitor"
        self.log = open(root / "asterisk.out", "ab")  # noqa: SIM115 - closed in stop()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> None:
        self.proc = subprocess.Popen(
            [str(self.binary), "-C", str(self.conf), "-f", "-n", "-q"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        self.wait_booted(timeout)

    def wait_booted(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"asterisk exited with {self.proc.returncode}; see {self.root / 'asterisk.out'}")
            out = self.rx("core waitfullybooted", check=False, timeout=5)
            if "fully booted" in out.lower():
                return
            time.sleep(0.2)
        raise RuntimeError(f"asterisk did not boot in {timeout} s; see {self.root / 'asterisk.out'}")

    def rx(self, command: str, *, check: bool = True, timeout: float = 15.0) -> str:
        """`asterisk -rx <command>` against this instance's control socket."""
        done = subprocess.run([str(self.binary), "-C", str(self.conf), "-rx", command], capture_output=True,
                              text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"asterisk -rx {command!r} failed: {done.stderr or done.stdout}")
        return done.stdout

    def conference(self, conf: str) -> list[str]:
        """The channels `confbridge list <conf>` shows (empty when there is no such conference)."""
        out = self.rx(f"confbridge list {conf}", check=False)
        return [line.split()[0] for line in out.splitlines() if "/" in line.split(" ")[0]]

    def hangup_all(self) -> None:
        self.rx("channel request hangup all", check=False)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.rx("core stop now", check=False, timeout=5)
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, OSError):
                pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None
        self.log.close()


# --------------------------------------------------------------------------------------------- AMI observer


@dataclass
class AmiEvent:
    at: float  # time.monotonic()
    headers: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.headers[key]

    def get(self, key: str, default: str = "") -> str:
        return self.headers.get(key, default)


def parse_message(raw: str) -> list[tuple[str, str]]:
    pairs = []
    for line in raw.split("\r\n"):
        if ": " in line:
            k, v = line.split(": ", 1)
            pairs.append((k, v))
        elif line.endswith(":"):
            pairs.append((line[:-1], ""))
    return pairs


class Observer:
    """A second AMI account reading every event, in a thread of its own; reconnects after a restart."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.events: list[AmiEvent] = []
        self._lock = threading.Lock()
        self._stop = False
        self.connected = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._task = asyncio.run_coroutine_threadsafe(self._run(), self._loop)
        if not self.connected.wait(30):
            raise RuntimeError("the AMI observer could not log in")

    async def _run(self) -> None:
        while not self._stop:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.2)
                continue
            try:
                await reader.readline()  # banner
                writer.write(f"Action: Login\r\nUsername: {OBSERVER_USER}\r\nSecret: {OBSERVER_SECRET}\r\n"
                             "Events: on\r\n\r\n".encode())
                await writer.drain()
                while not self._stop:
                    raw = (await reader.readuntil(b"\r\n\r\n")).decode(errors="replace")
                    headers = dict(parse_message(raw))
                    if headers.get("Response") == "Success" and "Authentication" in headers.get("Message", ""):
                        self.connected.set()
                    if "Event" in headers:
                        with self._lock:
                            self.events.append(AmiEvent(time.monotonic(), headers))
            except (asyncio.IncompleteReadError, ConnectionError, OSError):
                self.connected.clear()
            finally:
                writer.close()
            await asyncio.sleep(0.2)

    def mark(self) -> int:
        """The position of the next event (for `wait(..., since=mark)`)."""
        with self._lock:
            return len(self.events)

    def since(self, mark: int = 0) -> list[AmiEvent]:
        with self._lock:
            return list(self.events[mark:])

    def find(self, name: str, since: int = 0, **match: str | Callable[[str], bool]) -> list[AmiEvent]:
        """Events named `name` after `since` whose headers match (a string: equal; a callable: true)."""
        out = []
        for e in self.since(since):
            if e.get("Event") != name:
                continue
            ok = True
            for k, want in match.items():
                have = e.get(k)
                ok = want(have) if callable(want) else have == want
                if not ok:
                    break
            if ok:
                out.append(e)
        return out

    def wait(self, name: str, since: int = 0, timeout: float = 15.0, **match: Any) -> AmiEvent:
        """The first matching event after `since`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.find(name, since, **match)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                seen = sorted({e.get("Event") for e in self.since(since)})
                raise AssertionError(f"Asterisk sent no {name} {match} (events seen: {seen})")
            time.sleep(0.02)

    def close(self) -> None:
        self._stop = True

        def cancel() -> None:
            for task in asyncio.all_tasks(self._loop):
                task.cancel()

        self._loop.call_soon_threadsafe(cancel)
        concurrent.futures.wait([self._task], timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()


def inbound_command(asterisk: Asterisk, did: str = INBOUND_DID) -> str:
    """The CLI command that places an inbound caller on `did` (the caller plays sound; the DID side is announced)."""
    return f"channel originate Local/{did}@openagc-inbound extension talk@openagc-test-callers"
