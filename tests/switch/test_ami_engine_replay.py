"""The engine over the Asterisk adapter, against recorded AMI transcripts: Asterisk's real event order, every run.

The fake AMI server (`tests/ami_fake.py`, lenient mode) answers the engine's actions from a transcript of the
Asterisk tier and emits what Asterisk sent, in order; the scenario is driven through `/agent/` and `/agc/api.php`
as the tier drove it. The engine must send every action it sent live and leave the database as the live run did.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from openagc.engine import runtime
from openagc.switch.asterisk import AsteriskSettings, AsteriskSwitch, connect
from openagc.switch.simulated import SimulatedSwitch
from tests.ami_fake import FIXTURES, ReplayAmi, load
from tests.scenarios.driver import wait_for
from tests.support import Api, Backend, Db, run_on_loop

LOGIN = {"user": "1000", "pass": "1234", "phone_login": "1000", "phone_pass": "test", "campaign": "TESTCAMP"}
DIAL = {"agent_user": "1000", "search": "YES", "preview": "NO", "focus": "YES", "phone_code": "1"}


class Replay:
    """An engine (real clock) whose adapter talks to a `ReplayAmi` serving one transcript."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.services = backend.new_services(engine=True)
        self.services.clock.unfreeze()
        self.services.extra["switch"] = SimulatedSwitch(server_ip="10.10.10.15", clock=self.services.clock)
        self.server = backend.start(self.services)
        self.client = httpx.Client(base_url=self.server.base_url, timeout=30)
        self.api = Api(self.client)
        self.db = Db(backend.sync)
        self.loop = self.services.extra["engine"].watcher.loop
        first = self.services.extra["engine"]

        async def stop_first() -> None:
            await first.stop()

        self._stop: Any = stop_first
        self.switch: AsteriskSwitch | None = None
        self.fake: ReplayAmi | None = None

    def run(self, coro: Any, timeout: float = 30.0) -> Any:
        return run_on_loop(self.loop, coro, timeout)

    def begin(self, name: str) -> ReplayAmi:
        self.end()
        self.backend.reset()
        for phone in ("1000", "1001"):
            self.db.update("phones", {"extension": phone}, protocol="IAX2")
        self.services.clear_caches()
        transcript = load(FIXTURES / f"{name}.jsonl")
        self.fake = fake = ReplayAmi(transcript, lenient=True)

        async def go() -> Any:
            await fake.start()
            settings = AsteriskSettings(**{**transcript.meta["settings"], "host": "127.0.0.1", "port": fake.port,
                                           "username": transcript.meta["username"], "secret": "***",
                                           "ping_interval": 3600})
            self.switch = await connect(settings, clock=self.services.clock)
            self.services.extra["switch"] = self.switch
            return await runtime.start(self.services)

        self._stop = self.run(go())
        return fake

    def end(self) -> None:
        stop, self._stop = self._stop, None
        switch, fake = self.switch, self.fake

        async def go() -> None:
            if stop is not None:
                await stop()
            if switch is not None:
                await switch.aclose()
            if fake is not None:
                await fake.stop()

        self.run(go())
        self.switch = self.fake = None

    def finished(self) -> None:
        """Every recorded message was sent, so every recorded action arrived (in the live order's terms)."""
        assert self.fake is not None
        fake = self.fake
        self.run(fake.until(len(fake.transcript.entries), 10.0))
        assert fake.unexpected == [], f"actions the live engine did not send: {fake.unexpected}"

    def login(self, **overrides: Any) -> str:
        r = self.client.post("/agent/login", json=LOGIN | overrides)
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        wait_for(lambda: self.state(token).get("phone") == "connected", what="the phone connected")
        return token

    def state(self, token: str) -> dict[str, Any]:
        r = self.client.get("/agent/state", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()["state"]

    def vla(self) -> dict[str, Any]:
        return self.db.row("vicidial_live_agents", user="1000")


@pytest.fixture(scope="module")
def replay_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replay]:
    backend = Backend("sqlite", str(tmp_path_factory.mktemp("engine-replay") / "openagc.db"))
    env = Replay(backend)
    try:
        yield env
    finally:
        env.end()
        env.client.close()
        backend.close()


@pytest.fixture
def replay(replay_env: Replay, request: pytest.FixtureRequest) -> Iterator[Replay]:
    name = getattr(request, "param", None) or request.node.name.removeprefix("test_")
    if not (FIXTURES / f"{name}.jsonl").exists():
        pytest.fail(f"no transcript {name}.jsonl (record it with `make test-asterisk`)")
    replay_env.begin(name)
    try:
        yield replay_env
    finally:
        replay_env.end()


def test_login_and_logout(replay: Replay) -> None:
    replay.login()
    assert (replay.vla()["status"], replay.vla()["extension"]) == ("PAUSED", "IAX2/1000")
    assert replay.api("logout", agent_user="1000", value="LOGOUT").startswith("SUCCESS")
    wait_for(lambda: replay.db.count("vicidial_live_agents", user="1000") == 0, what="the session row removed")
    replay.finished()
    assert [r["event"] for r in replay.db.rows("vicidial_user_log", order_by="user_log_id", user="1000")] == [
        "LOGIN", "LOGOUT"]


def test_manual_dial_answered(replay: Replay) -> None:
    token = replay.login()
    assert replay.api("external_dial", value="3125551002", **DIAL).startswith("SUCCESS")
    uniqueid = wait_for(lambda: replay.vla()["uniqueid"], what="the answered call")
    log = replay.db.row("vicidial_log", uniqueid=uniqueid)
    assert (log["status"], log["user"], log["phone_number"]) == ("INCALL", "1000", "3125551002")
    assert replay.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: replay.state(token)["phase"] == "DISPO", what="the disposition phase")
    log = replay.db.row("vicidial_log", uniqueid=uniqueid)
    assert (log["status"], log["term_reason"]) == ("DISPO", "AGENT")
    replay.finished()
    assert replay.api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: replay.db.row("vicidial_list", lead_id=12346)["status"] == "NI", what="the lead's status")
    assert replay.db.count("vicidial_auto_calls") == 0


@pytest.mark.parametrize("replay", ["manual_dial_fails-busy"], indirect=True)
def test_manual_dial_fails_busy(replay: Replay) -> None:
    token = replay.login()
    assert replay.api("external_dial", value="3125550486", **DIAL).startswith("SUCCESS")
    wait_for(lambda: replay.state(token)["phase"] == "DISPO", what="the disposition phase")
    replay.finished()
    assert replay.db.count("vicidial_auto_calls") == 0
    assert [r["status"] for r in replay.db.rows("vicidial_log") if r["status"] == "INCALL"] == []


def test_customer_hangs_up(replay: Replay) -> None:
    token = replay.login()
    assert replay.api("external_dial", value="3125550488", **DIAL).startswith("SUCCESS")
    uniqueid = wait_for(lambda: replay.vla()["uniqueid"], what="the answered call")
    wait_for(lambda: replay.state(token)["dead"], what="the call shown dead")
    assert replay.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: replay.state(token)["phase"] == "DISPO", what="the disposition phase")
    replay.finished()
    assert replay.db.row("vicidial_log", uniqueid=uniqueid)["term_reason"] == "CALLER"


def test_inbound_call_routed_to_a_ready_agent(replay: Replay) -> None:
    token = replay.login(ingroups=["TEST_IN"])
    r = replay.client.post("/agent/ready", headers={"Authorization": f"Bearer {token}"}, json={})
    assert r.status_code == 200, r.text
    wait_for(lambda: replay.vla()["status"] == "INCALL", what="the call delivered")
    vla = replay.vla()
    closer = replay.db.row("vicidial_closer_log", uniqueid=vla["uniqueid"])
    assert (vla["comments"], closer["campaign_id"], closer["user"]) == ("INBOUND", "TEST_IN", "1000")
    assert replay.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: replay.state(token)["phase"] == "DISPO", what="the disposition phase")
    replay.finished()


def test_ratio_auto_dial_delivered_into_the_conference(replay: Replay) -> None:
    token = replay.login(ingroups=[])
    r = replay.client.post("/agent/ready", headers={"Authorization": f"Bearer {token}"}, json={})
    assert r.status_code == 200, r.text
    wait_for(lambda: replay.vla()["status"] == "INCALL" and replay.vla()["lead_id"], what="the call delivered")
    vla = replay.vla()
    assert replay.db.row("vicidial_log", uniqueid=vla["uniqueid"])["user"] == "1000"
    assert replay.api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
    assert replay.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: replay.state(token)["phase"] == "DISPO", what="the disposition phase")
    replay.finished()  # the answered call was redirected from the park into the agent's conference, as live
