"""The scenario driver over the engine fixtures' `EngineEnv` and its `SimulatedSwitch` (virtual time).

The switch gets the Asterisk tier's customers as `CustomerScript`s and its sounds' lengths, phones are IAX2 as
in the tier, and a wait lets virtual time pass in quarter seconds until its condition holds.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from openagc.engine import runtime
from openagc.switch.port import Channel, ChannelKind, EventKind
from openagc.switch.simulated import CustomerScript, SimulatedSwitch, VirtualScheduler
from tests.engine.conftest import EngineEnv
from tests.scenarios.driver import (
    BUSY,
    CONF,
    CUSTOMER,
    HANGS_UP,
    HANGS_UP_TALK,
    LOGIN,
    NO_ANSWER,
    PHONE,
    PLAYER,
    RECORDER,
    SOUND_SECONDS,
    LiveDriver,
    Member,
    phone,
)
from tests.support import Db, run_on_loop

STEP = 0.25  # virtual seconds a wait lets pass between two polls when no switch timer is due sooner
REAL_GRACE = 3.0  # real seconds a wait polls on once its virtual time is spent
CALLER = "3125550999"  # an inbound caller's number
ROLES = {ChannelKind.AGENT: PHONE, ChannelKind.CUSTOMER: CUSTOMER, ChannelKind.PLAYBACK: PLAYER,
         ChannelKind.RECORDING: RECORDER}
OUTCOMES = {EventKind.ANSWERED: "answered", EventKind.BUSY: "busy", EventKind.NO_ANSWER: "no answer"}


class SimulatedDriver(LiveDriver):
    name = "simulated"

    def __init__(self, env: EngineEnv, db: Db) -> None:
        super().__init__(env.client, env.server.base_url, db)
        self.env = env
        self.loop: asyncio.AbstractEventLoop = env.loop
        self.recordings_dir = Path(tempfile.mkdtemp(prefix="openagc-scenario-recordings-"))
        self.callers: set[str] = set()
        self.engine_up = True
        switch = self.switch
        switch.recordings_dir = self.recordings_dir
        switch.playback_lengths.update(SOUND_SECONDS)
        for number, script in ((BUSY, CustomerScript.always_busy(after=0.0)),
                               (NO_ANSWER, CustomerScript.never_answers()),
                               (HANGS_UP, CustomerScript.answers(ring=1.0, talk=HANGS_UP_TALK)),
                               (CALLER, CustomerScript.answers(talk=None, patience=None))):
            switch.set_script("1" + number if number != CALLER else number, script)
        for extension in ("1000", "1001"):
            db.update("phones", {"extension": extension}, protocol="IAX2")
        env.services.clear_caches()

    @property
    def switch(self) -> SimulatedSwitch:
        return self.env.switch

    def close(self) -> None:
        self.close_streams()
        if not self.engine_up:
            self.start_engine()
        shutil.rmtree(self.recordings_dir, ignore_errors=True)

    def _run(self, coro: Any) -> Any:
        return run_on_loop(self.loop, coro, 30)

    def _call(self, fn: Callable[[], Any]) -> Any:
        async def wrapper() -> Any:
            return fn()

        return self._run(wrapper())

    # --- time --------------------------------------------------------------------------------------------------

    def _settle(self) -> None:
        if self.engine_up:
            self.env.settle()
        else:
            self._run(self.switch.settle())

    def _step(self, budget: float) -> float:
        """Let virtual time pass up to the switch's next timer (STEP when none is due within `budget`), once the
        engine has swept the database again (work it picks up by its sweep is not overtaken by time). Returns the
        virtual seconds that passed."""
        switch = self.switch
        scheduler = switch.scheduler
        due = scheduler.next_due() if isinstance(scheduler, VirtualScheduler) else None
        delta = min(budget, STEP if due is None else max(0.0, due - switch.now()))
        if not self.engine_up:
            self._run(switch.advance(delta))
            return delta
        watcher = self.env.engine.watcher
        target, deadline = watcher.sweeps + 2, time.monotonic() + 5  # one whole sweep after the running one
        while watcher.sweeps < target and time.monotonic() < deadline:
            time.sleep(0.005)
        self.env.advance(delta)
        return delta

    def wait(self, check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        """Poll `check`, letting STEP virtual seconds pass between polls, at most `timeout` of them; then poll on
        for REAL_GRACE real seconds (what arrives through a thread, e.g. the agent's event stream)."""
        self._settle()
        passed = 0.0
        grace: float | None = None
        last: Exception | None = None
        while True:
            try:
                value = check()
                if value:
                    return value
            except (AssertionError, KeyError, IndexError) as exc:
                last = exc
            if passed < timeout:
                passed += self._step(timeout - passed)
                continue
            grace = grace if grace is not None else time.monotonic() + REAL_GRACE
            if time.monotonic() > grace:
                raise AssertionError(f"timed out waiting for {what} ({timeout} virtual seconds)"
                                     + (f": {last}" if last else ""))
            time.sleep(0.02)

    def let_time_pass(self, seconds: float) -> None:
        self.env.advance(seconds) if self.engine_up else self._run(self.switch.advance(seconds))

    # --- openagc -----------------------------------------------------------------------------------------------

    def login(self, **overrides: Any) -> str:
        body = LOGIN | overrides
        r = self.client.post("/agent/login", json=body)
        assert r.status_code == 200, r.text
        conf = str(r.json().get("conf_exten") or self.vla(body["user"])["conf_exten"])
        self.wait_joined(conf, phone(body["phone_login"]), what="the phone")
        return r.json()["token"]

    def kill_engine(self) -> None:
        self._settle()
        stop = self.env.services.extra.pop("engine_stop")
        self._run(stop())
        self.engine_up = False

    def start_engine(self) -> None:
        self.env.services.extra["engine_stop"] = self._run(runtime.start(self.env.services))
        self.engine_up = True
        self._settle()

    # --- the switch --------------------------------------------------------------------------------------------

    def _known(self, name: str) -> Channel | None:
        """The channel called `name`: live, else as its last event showed it."""
        live = self.switch.channel(name)
        if live is not None:
            return live
        return next((e.channel for e in reversed(self.switch.events) if e.channel.name == name), None)

    def _member(self, channel: Channel) -> Member:
        role = ROLES[channel.kind]
        if role == PHONE:
            who = channel.number.rpartition("/")[2]
        elif role == CUSTOMER and channel.name not in self.callers:
            who = channel.number
        else:
            who = ""
        return Member(channel.name, role, who)

    def members(self, conf: str = CONF) -> list[Member]:
        return [self._member(c) for c in self._call(lambda: self.switch.conference_members(conf))]

    def joined(self, conf: str = CONF) -> list[str]:
        return [name for c, name in self._call(lambda: list(self.switch.joins)) if c == conf]

    def gone(self, channel: str) -> bool:
        return any(e.kind == EventKind.HANGUP and e.channel.name == channel for e in self.switch.events)

    def hang_up(self, channel: str) -> None:
        self._run(self.switch.hangup(channel))
        self._settle()

    def inbound(self, ingroup: str = "TEST_IN") -> str:
        chan = self._call(lambda: self.switch.inject_inbound(CALLER, ingroup))
        self.callers.add(chan.name)
        self._settle()
        return chan.name

    def far_end(self, number: str) -> str | None:
        outcomes = [OUTCOMES[e.kind] for e in self.switch.events
                    if e.kind in OUTCOMES and e.channel.kind == ChannelKind.CUSTOMER
                    and e.channel.number.endswith(number)]
        return outcomes[-1] if outcomes else None

    def on_hold(self, channel: str) -> bool:
        return bool(self._call(lambda: self.switch.on_hold(channel)))

    def was_held(self, channel: str) -> bool:
        return channel in self._call(lambda: list(self.switch.holds))

    def played_to(self, channel: str) -> list[str]:
        return [s for name, _, sounds in self.switch.voicemail_log if name == channel for s in sounds]

    def dtmf_heard(self, conf: str = CONF) -> dict[tuple[str, str], str]:
        heard: dict[tuple[str, str], str] = {}
        for sent in self._call(lambda: list(self.switch.dtmf_log)):
            if sent.conference != conf:
                continue
            for name in sent.heard_by:
                known = self._known(name)
                if known is not None:
                    m = self._member(known)
                    heard[(m.role, m.who)] = heard.get((m.role, m.who), "") + sent.tones
        return heard

    def playback_controls(self) -> list[tuple[str, str]]:
        return self._call(lambda: list(self.switch.controls))

    def restart_switch(self) -> None:
        self._call(self.switch.restart)
        self._settle()
