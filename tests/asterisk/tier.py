"""The Asterisk tier's harness: openagc (engine on, `--switch asterisk`) against a real Asterisk, on SQLite.

Its fixtures (`tier`, `tier_env`, `asterisk`, `observer`) are registered in `tests/conftest.py`, which also
deselects the tier (`asterisk` marker) with one line saying so when there is no Asterisk (`$ASTERISK_BIN`,
`asterisk` on PATH, /opt/asterisk/sbin/asterisk). Each test gets a fresh database, an Asterisk without channels
and a new adapter connection, recorded through `AmiProxy` into a transcript: `tests/fixtures/ami/<scenario>.jsonl`
when `OPENAGC_RECORD_AMI=1` (`make test-asterisk`), else under the run's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from openagc.engine import runtime
from openagc.switch.asterisk import AsteriskSettings, AsteriskSwitch, connect
from openagc.switch.simulated import SimulatedSwitch
from tests.ami_fake import FIXTURES
from tests.asterisk.pbx import SERVER_IP, Asterisk, Observer, find_asterisk
from tests.asterisk.recorder import AmiProxy, Transcript, hook
from tests.scenarios.driver import CONF, LOGIN, Events, wait_for
from tests.support import Api, Backend, Db, run_on_loop

ASTERISK = find_asterisk()
NOT_RUN = "Asterisk tier: not run, no Asterisk found (set ASTERISK_BIN)"


def is_phone(user: str = "1000") -> Callable[[str], bool]:
    """An agent phone's channel (the tier's phones are IAX2)."""
    return lambda c: c.startswith(f"IAX2/{user}-")


def dialled(number: str) -> Callable[[str], bool]:
    """A channel of the Local dial `9 1 <number>` (either half)."""
    return lambda c: c.startswith(f"Local/91{number}@")


class Tier:
    """The live openagc (engine on) in front of the tier's Asterisk, and what a scenario needs."""

    def __init__(self, asterisk: Asterisk, observer: Observer, backend: Backend, out: Path) -> None:
        self.asterisk, self.observer, self.backend, self.out = asterisk, observer, backend, out
        self.services = backend.new_services(engine=True)
        self.services.clock.unfreeze()
        self.services.settings.switch = "asterisk"
        self.services.extra["switch"] = SimulatedSwitch(server_ip=SERVER_IP, clock=self.services.clock)
        self.server = backend.start(self.services)
        self.client = httpx.Client(base_url=self.server.base_url, timeout=30)
        self.api = Api(self.client)
        self.db = Db(backend.sync)
        self.proxy = AmiProxy(asterisk.ports.ami)
        self.run(self.proxy.start())
        self.transcript: Transcript | None = None
        self.switch: AsteriskSwitch | None = None
        self.streams: list[Events] = []
        self._stop_engine: Callable[[], Any] | None = None
        engine = self.services.extra["engine"]

        async def stop_first() -> None:
            await engine.stop()

        self._stop_engine = stop_first

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        engine = self.services.extra.get("engine")
        loop = engine.watcher.loop if engine is not None else None
        assert loop is not None
        return loop

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's event loop."""
        return run_on_loop(self._loop(), coro, timeout)

    def _loop(self) -> asyncio.AbstractEventLoop:
        if not hasattr(self, "_server_loop"):
            self._server_loop = self.loop
        return self._server_loop

    def settings(self) -> AsteriskSettings:
        """The settings the dialplan was written for, reaching the AMI through the recording proxy."""
        return replace(self.asterisk.settings, port=self.proxy.port)

    # --- per scenario --------------------------------------------------------------------------------------

    def begin(self, scenario: str) -> None:
        self.stop_engine()
        self.asterisk.hangup_all()
        wait_for(lambda: "0 active channels" in self.asterisk.rx("core show channels count"), 20,
                 "Asterisk without channels")
        self.backend.reset()
        self.db.update("phones", {"extension": "1000"}, protocol="IAX2")
        self.db.update("phones", {"extension": "1001"}, protocol="IAX2")
        self.services.clear_caches()
        self.transcript = Transcript(scenario)
        self.proxy.transcript = self.transcript
        self.start_engine()

    def start_engine(self) -> None:
        async def go() -> Any:
            switch = await connect(self.settings(), clock=self.services.clock)
            assert self.transcript is not None
            hook(switch, self.transcript)
            self.services.extra["switch"] = switch
            self.switch = switch
            return await runtime.start(self.services)

        self._stop_engine = self.run(go())

    def stop_engine(self) -> None:
        """Stop the engine and close its adapter (nothing on Asterisk is hung up: what a killed process leaves)."""
        stop, self._stop_engine = self._stop_engine, None

        async def go() -> None:
            if stop is not None:
                await stop()
            if self.switch is not None:
                await self.switch.aclose()

        self.run(go())
        self.switch = None

    def end(self, scenario: str) -> Path | None:
        for stream in self.streams:
            stream.close()
        self.streams.clear()
        transcript = self.transcript
        if transcript is None:
            return None
        # a fixture is one adapter connection that lived through the whole scenario (not a restarted or stopped one)
        whole = transcript.connections == 1 and self.switch is not None
        record = os.environ.get("OPENAGC_RECORD_AMI") == "1" and whole
        path = (FIXTURES if record else self.out) / f"{scenario}.jsonl"
        transcript.save(path)
        return path

    def close(self) -> None:
        self.stop_engine()
        self.run(self.proxy.stop())
        self.client.close()

    # --- the agent -----------------------------------------------------------------------------------------

    def login(self, **overrides: Any) -> str:
        """Log an agent in (`/agent/login`) and wait until its phone is up in its conference."""
        body = LOGIN | overrides
        mark = self.observer.mark()
        r = self.client.post("/agent/login", json=body)
        assert r.status_code == 200, r.text
        conf = r.json().get("conf_exten") or self.vla(body["user"])["conf_exten"]
        self.observer.wait("ConfbridgeJoin", mark, 20, Conference=str(conf),
                           Channel=lambda c: c.startswith(f"IAX2/{body['phone_login']}-"))
        return r.json()["token"]

    def events(self, token: str) -> Events:
        """The agent's event stream, once connected (its first event, the state, has arrived)."""
        stream = Events(self.server.base_url, token)
        self.streams.append(stream)
        wait_for(lambda: stream.items, what="the event stream connected")
        return stream

    def agent(self, path: str, token: str, **body: Any) -> httpx.Response:
        return self.client.post(f"/agent/{path}", headers={"Authorization": f"Bearer {token}"}, json=body)

    def state(self, token: str) -> dict[str, Any]:
        r = self.client.get("/agent/state", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()["state"]

    def vla(self, user: str = "1000") -> dict[str, Any]:
        return self.db.row("vicidial_live_agents", user=user)

    def members(self, conf: str = CONF) -> list[str]:
        return self.asterisk.conference(conf)

    def answered(self, action: str) -> list[tuple[dict[str, str], dict[str, str]]]:
        """(action, response) of each `action` the adapter sent in this scenario that Asterisk has answered."""
        assert self.transcript is not None
        entries = list(self.transcript.entries)
        responses = {dict(e["msg"]).get("ActionID"): dict(e["msg"]) for e in entries
                     if e["kind"] == "in" and "Response" in dict(e["msg"])}
        sent = [dict(e["msg"]) for e in entries if e["kind"] == "out" and dict(e["msg"]).get("Action") == action]
        return [(a, responses[a["ActionID"]]) for a in sent if a.get("ActionID") in responses]


@pytest.fixture(scope="session")
def tier_root() -> Iterator[Path]:
    """A directory of this run's own (not pytest's shared basetemp, which concurrent runs rotate away)."""
    root = Path(tempfile.mkdtemp(prefix="openagc-asterisk-tier-"))
    try:
        yield root
    finally:
        if os.environ.get("OPENAGC_TIER_KEEP") != "1":
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def asterisk(tier_root: Path) -> Iterator[Asterisk]:
    assert ASTERISK is not None
    (tier_root / "asterisk").mkdir()
    pbx = Asterisk(ASTERISK, tier_root / "asterisk")
    try:
        pbx.start()
        yield pbx
    finally:
        pbx.stop()


@pytest.fixture(scope="session")
def observer(asterisk: Asterisk) -> Iterator[Observer]:
    watcher = Observer(asterisk.ports.ami)
    try:
        yield watcher
    finally:
        watcher.close()


@pytest.fixture(scope="session")
def tier_env(asterisk: Asterisk, observer: Observer, tier_root: Path) -> Iterator[Tier]:
    root = tier_root
    backend = Backend("sqlite", str(root / "openagc.db"))
    out = Path(os.environ.get("OPENAGC_TIER_TRANSCRIPTS", Path(tempfile.gettempdir()) / "openagc-ami-transcripts"))
    tier = Tier(asterisk, observer, backend, out)
    try:
        yield tier
    finally:
        tier.close()
        backend.close()


def scenario_name(test: str) -> str:
    """The transcript's name of a test: `test_manual_dial_fails[asterisk-busy]` → `manual_dial_fails-busy`
    (the driver's id is not part of it: one scenario, one transcript)."""
    name, _, ids = test.removeprefix("test_").partition("[")
    kept = [i for i in re.split(r"-", ids.rstrip("]")) if i and i != "asterisk"]
    return "-".join([name, *kept])


@pytest.fixture
def tier(tier_env: Tier, request: pytest.FixtureRequest) -> Iterator[Tier]:
    scenario = scenario_name(request.node.name)
    tier_env.begin(scenario)
    try:
        yield tier_env
    finally:
        tier_env.end(scenario)
