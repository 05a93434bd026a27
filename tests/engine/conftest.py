"""Engine fixtures: one server per backend with the engine on, over a simulated switch in virtual time.

`engine_env` and `eng` live in `tests/conftest.py` (the scenario list of `tests/scenarios` shares them: one
engine per database). `eng` (per test) resets the database (through `db`), restarts the engine on a fresh
virtual-time switch and re-freezes the clock, so tests never see another test's sessions, calls or timers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from openagc.engine import runtime
from openagc.switch.simulated import CustomerScript, SimulatedSwitch
from tests.support import AUTH, FROZEN_AT, Api, Backend, run_on_loop, wait_for

LOGIN = {"user": "1000", "pass": "1234", "phone_login": "1000", "phone_pass": "test", "campaign": "TESTCAMP"}


class EngineEnv:
    """The engine server of one backend and the handles a scenario needs."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.services = backend.new_services(engine=True)
        self.services.settings.sweep_seconds = 0.05
        self.services.extra["switch"] = self.new_switch()
        self.server = backend.start(self.services)
        self.client = httpx.Client(base_url=self.server.base_url, timeout=30)
        self.api = Api(self.client)

    def new_switch(self) -> SimulatedSwitch:
        return SimulatedSwitch.virtual(
            clock=self.services.clock,
            server_ip="10.10.10.15",
            seed=7,
            default_script=CustomerScript.answers(ring=2.0, talk=None),
        )

    @property
    def engine(self) -> runtime.Engine:
        return self.services.extra["engine"]

    @property
    def switch(self) -> SimulatedSwitch:
        return self.services.extra["switch"]

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop (remembered: between tests no engine may be running)."""
        if getattr(self, "_loop", None) is None:
            self._loop = self.engine.watcher.loop
        assert self._loop is not None
        return self._loop

    def run(self, coro: Any, timeout: float = 20.0) -> Any:
        """Run a coroutine on the server's event loop and return its result (on a timeout, the error says what
        the loop's thread and its tasks were doing)."""
        return run_on_loop(self.loop, coro, timeout)

    def call(self, fn: Callable[[], Any]) -> Any:
        async def wrapper() -> Any:
            return fn()

        return self.run(wrapper())

    def restart(self, *, new_switch: bool = True) -> None:
        """Stop the engine and start a new one on the same database (a process restart)."""
        stop = self.services.extra.get("engine_stop")

        async def go() -> None:
            if stop is not None:
                await stop()
            if new_switch:
                self.services.extra["switch"] = self.new_switch()
            self.services.extra["engine_stop"] = await runtime.start(self.services)

        self.run(go())

    def fresh(self) -> None:
        self.client.cookies.clear()
        self.services.clear_caches()
        self.services.clock.freeze(FROZEN_AT)
        if "engine_stop" not in self.services.extra and "engine" in self.services.extra:
            # the server's lifespan started the first engine: adopt it so restart() can stop it
            engine = self.engine
            self.loop  # noqa: B018 (remember the server's loop while an engine runs)

            async def stop() -> None:
                await engine.stop()

            self.services.extra["engine_stop"] = stop
        if "engine" in self.services.extra:
            self.engine.reset()
        self.restart()

    def advance(self, seconds: float) -> None:
        """Let virtual time pass on the switch; wait until the engine has handled its events.

        The engine's work in flight finishes first: a switch action follows its commit, and a clock moved
        before an originate reaches the switch would leave that call's timers behind it.
        """
        self.run(self.engine.watcher.idle())
        self.run(self.switch.advance(seconds))
        self.run(self.engine.watcher.drain())

    def settle(self) -> None:
        """Deliver the switch's events and let the engine's work in flight (wake-ups, sweep) finish."""
        self.run(self.engine.watcher.idle())

    # --- agent API ------------------------------------------------------------------------------------------

    def login(self, **overrides: Any) -> str:
        r = self.client.post("/agent/login", json=LOGIN | overrides)
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def agent(self, path: str, token: str, method: str = "POST", **body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        if method == "GET":
            return self.client.get(f"/agent/{path}", headers=headers)
        return self.client.post(f"/agent/{path}", headers=headers, json=body)

    def state(self, token: str) -> dict[str, Any]:
        r = self.agent("state", token, method="GET")
        assert r.status_code == 200, r.text
        return r.json()["state"]

    def inbound(self, number: str = "3125551001", ingroup: str = "TEST_IN", **kw: Any) -> Any:
        return self.call(lambda: self.switch.inject_inbound(number, ingroup, **kw))


@pytest.fixture
def agent_api(eng: EngineEnv) -> Api:
    """`/agc/api.php` on the engine's own server (its bus wakes the engine at once)."""
    return eng.api


__all__ = ["AUTH", "EngineEnv", "wait_for"]
