"""`openagc serve --switch asterisk` as its own process, killed with SIGKILL mid-call and started again.

The process dies without hanging anything up or writing anything; the new one reconciles the database with the
channels Asterisk still has (or no longer has) before it serves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.asterisk.pbx import AMI_SECRET, AMI_USER, free_port
from tests.asterisk.tier import Tier, dialled, is_phone
from tests.scenarios.driver import ANSWERS, CONF, LOGIN, wait_for
from tests.scenarios.test_telephony import dial_args
from tests.support import AUTH

pytestmark = pytest.mark.asterisk


class EngineProcess:
    """One `openagc serve` process on the tier's database and Asterisk."""

    def __init__(self, tier: Tier, log: Path) -> None:
        self.tier, self.log, self.port = tier, log, free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30)

    def start(self) -> None:
        ami = f"ami://{AMI_USER}:{AMI_SECRET}@127.0.0.1:{self.tier.asterisk.ports.ami}"
        openagc = Path(sys.executable).with_name("openagc")
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(openagc), "serve", "--port", str(self.port), "--database", self.tier.backend.url,
                 "--switch", "asterisk", "--ami-url", ami],
                stdout=out, stderr=subprocess.STDOUT, env=os.environ | {"OPENAGC_SWEEP_SECONDS": "0.2"})
        wait_for(self._up, 30, f"openagc serve on port {self.port} (log: {self.log})")

    def _up(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-2000:]
        try:
            return self.client.get("/agc/api.php", params={"function": "version"}).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        """SIGKILL: no shutdown, no hangup, nothing written."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.client.close()

    def api(self, function: str, **params: str) -> str:
        return self.client.get("/agc/api.php", params=AUTH | {"function": function} | params).text

    def state(self, token: str) -> dict:
        r = self.client.get("/agent/state", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()["state"]


@pytest.fixture
def process(tier: Tier, tmp_path: Path) -> Iterator[EngineProcess]:
    tier.stop_engine()  # the tier's own in-process engine steps aside: this process drives Asterisk
    proc = EngineProcess(tier, tmp_path / "serve.log")
    try:
        yield proc
    finally:
        proc.stop()


def test_engine_process_killed_mid_call_then_restarted(tier: Tier, process: EngineProcess) -> None:
    process.start()
    mark = tier.observer.mark()
    r = process.client.post("/agent/login", json=LOGIN)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    tier.observer.wait("ConfbridgeJoin", mark, 20, Conference=CONF, Channel=is_phone())
    assert process.api("external_dial", value=ANSWERS, **dial_args()).startswith("SUCCESS")
    leg = tier.observer.wait("ConfbridgeJoin", mark, 20, Conference=CONF, Channel=dialled(ANSWERS))["Channel"]
    wait_for(lambda: tier.vla()["uniqueid"], what="the answered call in vicidial_live_agents")
    uniqueid = tier.vla()["uniqueid"]

    process.kill()
    assert sorted(tier.members()) == sorted([leg, *[m for m in tier.members() if is_phone()(m)]])
    time.sleep(1)  # the call goes on without an engine (nothing to wait for: nothing may change)
    assert leg in tier.members() and tier.vla()["status"] == "INCALL"

    process.start()  # a new process: reconciliation finds the phone and the call still up
    state = process.state(token)
    assert (state["phase"], state["dead"], state["phone"]) == ("INCALL", False, "connected")
    assert tier.db.count("vicidial_auto_calls") == 1

    process.kill()
    mark = tier.observer.mark()
    tier.asterisk.rx(f"channel request hangup {leg}")  # the customer leaves while no engine runs
    tier.observer.wait("Hangup", mark, 15, Channel=leg)
    process.start()  # reconciliation: the call ended as the caller's hangup, the phone is still there
    state = process.state(token)
    assert (state["phase"], state["dead"], state["phone"]) == ("INCALL", True, "connected")
    assert tier.db.count("vicidial_auto_calls") == 0

    assert process.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: process.state(token)["phase"] == "DISPO", what="the disposition phase")
    assert tier.db.row("vicidial_log", uniqueid=uniqueid)["term_reason"] == "CALLER"
    assert process.api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: tier.db.row("vicidial_list", lead_id=12346)["status"] == "NI", what="the lead dispositioned")
    mark = tier.observer.mark()
    assert process.api("logout", agent_user="1000", value="LOGOUT").startswith("SUCCESS")
    tier.observer.wait("Hangup", mark, 15, Channel=is_phone())  # the phone an earlier process dialled
    wait_for(lambda: tier.members() == [], what="the conference empty")
