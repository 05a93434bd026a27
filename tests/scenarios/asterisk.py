"""The scenario driver over the Asterisk tier (`tests/asterisk/tier.py`): what Asterisk did, read from
`confbridge list` and the observer's AMI events of this scenario, in real time."""

from __future__ import annotations

import re
import time
from typing import Any

from tests.asterisk.pbx import AmiEvent, inbound_command
from tests.asterisk.tier import Tier
from tests.scenarios.driver import CONF, CUSTOMER, PHONE, PLAYER, RECORDER, LiveDriver, Member, wait_for

_PHONE = re.compile(r"(?:IAX2|PJSIP|SIP)/(?P<ext>[^-/]+)-")
_DIALLED = re.compile(r"Local/9(?P<number>\d+)@")  # the adapter's dial string: prefix 9 + phone code + number
_PLAYBACK = re.compile(r"Playback\(([^)]*)\)")
CAUSES = {"17": "busy", "19": "no answer"}


def classify(channel: str, conf: str) -> Member:
    """A conference member by its channel name (the adapter's names on the shipped dialplan)."""
    if found := _PHONE.match(channel):
        return Member(channel, PHONE, found["ext"])
    if channel.startswith(f"Local/5{conf}@"):
        return Member(channel, RECORDER)
    if channel.startswith(f"Local/{conf}@"):
        return Member(channel, PLAYER)
    found = _DIALLED.match(channel)
    return Member(channel, CUSTOMER, found["number"] if found else "")


class AsteriskDriver(LiveDriver):
    name = "asterisk"

    def __init__(self, tier: Tier) -> None:
        super().__init__(tier.client, tier.server.base_url, tier.db)
        self.tier = tier
        self.observer = tier.observer
        self.start = tier.observer.mark()
        self.recordings_dir = tier.asterisk.monitor_dir

    def close(self) -> None:
        self.close_streams()

    def _events(self, name: str, **match: Any) -> list[AmiEvent]:
        return self.observer.find(name, self.start, **match)

    # --- time, openagc -----------------------------------------------------------------------------------------

    def let_time_pass(self, seconds: float) -> None:
        time.sleep(seconds)  # the call goes on for a while (what is recorded), not an assertion

    def login(self, **overrides: Any) -> str:
        return self.tier.login(**overrides)

    def kill_engine(self) -> None:
        self.tier.stop_engine()

    def start_engine(self) -> None:
        self.tier.start_engine()

    # --- the switch --------------------------------------------------------------------------------------------

    def members(self, conf: str = CONF) -> list[Member]:
        return [classify(c, conf) for c in self.tier.members(conf)]

    def joined(self, conf: str = CONF) -> list[str]:
        return [e["Channel"] for e in self._events("ConfbridgeJoin", Conference=conf)]

    def gone(self, channel: str) -> bool:
        return bool(self._events("Hangup", Channel=channel))

    def hang_up(self, channel: str) -> None:
        self.tier.asterisk.rx(f"channel request hangup {channel}")

    def inbound(self, ingroup: str = "TEST_IN") -> str:
        assert ingroup == "TEST_IN", "the tier's DID routes into TEST_IN"
        mark = self.observer.mark()
        self.tier.asterisk.rx(inbound_command(self.tier.asterisk))
        return self.observer.wait("UserEvent", mark, 15, UserEvent="OpenAGCInbound", InGroup=ingroup)["Channel"]

    def far_end(self, number: str) -> str | None:
        def far(channel: str) -> bool:
            return channel.startswith(f"Local/{number}@openagc-customers")

        if self._events("Newstate", Channel=far, ChannelStateDesc="Up"):
            return "answered"
        causes = [CAUSES.get(e.get("Cause")) for e in self._events("Hangup", Channel=far)]
        return next((c for c in causes if c), None)

    def on_hold(self, channel: str) -> bool:
        last = [e.get("Event") for e in self.observer.since(self.start)
                if e.get("Event") in ("MusicOnHoldStart", "MusicOnHoldStop", "Hangup") and e.get("Channel") == channel]
        return bool(last) and last[-1] == "MusicOnHoldStart"

    def was_held(self, channel: str) -> bool:
        return bool(self._events("MusicOnHoldStart", Channel=channel))

    def played_to(self, channel: str) -> list[str]:
        return [sound for e in self._events("Newexten", Channel=channel)
                for played in _PLAYBACK.findall(e.get("AppData")) for sound in played.split("&")]

    def dtmf_heard(self, conf: str = CONF) -> dict[tuple[str, str], str]:
        """What ConfBridge played to each member: DTMFEnd Direction Sent on the member's channel."""
        members = set(self.joined(conf))
        heard: dict[tuple[str, str], str] = {}
        for e in self._events("DTMFEnd", Direction="Sent", Channel=lambda c: c in members):
            m = classify(e["Channel"], conf)
            heard[(m.role, m.who)] = heard.get((m.role, m.who), "") + e["Digit"]
        return heard

    def playback_controls(self) -> list[tuple[str, str]]:
        """The engine's control_audio calls paired with Asterisk's answers to their ControlPlayback actions."""
        assert self.tier.transcript is not None
        ops = [e["args"] for e in self.tier.transcript.entries if e["kind"] == "op" and e["name"] == "control_audio"]
        answers = self.tier.answered("ControlPlayback")
        return [(op["channel"], op["action"]) for op, (_, response) in zip(ops, answers, strict=False)
                if response.get("Response") == "Success"]

    def restart_switch(self) -> None:
        transcript = self.tier.transcript
        assert transcript is not None
        connections = transcript.connections
        self.tier.asterisk.rx("core restart now", check=False)
        self.tier.asterisk.wait_booted()
        assert self.observer.connected.wait(30), "the observer did not log in again"
        wait_for(lambda: transcript.connections > connections, 30, "the adapter logged in again")
