"""What a telephony scenario needs from a switch, whichever switch it is (`SimulatedDriver`, `AsteriskDriver`).

A scenario drives openagc through `/agc/api.php`, `/agent/` and plain SQL, lets a party act on its own (hang up,
call in), and asserts on what the switch did — who is in a conference, what was hung up, held, recorded, heard —
and on the database. Waiting is the driver's: real time on Asterisk, virtual time on the simulated switch (a wait
there lets virtual time pass in small steps until the condition holds), so the same scenario reads the same on both.
"""

from __future__ import annotations

import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx

from openagc.switch.asterisk_config import TEST_NUMBERS
from tests.support import Api, Db, Events
from tests.support import wait_for as support_wait_for

CONF = "8600051"  # agent 1000's conference
LOGIN = {"user": "1000", "pass": "1234", "phone_login": "1000", "phone_pass": "test", "campaign": "TESTCAMP"}

# The customers, by behaviour (the Asterisk tier's `openagc-customers`; the simulated switch's scripts): numbers
# without the phone code, as the API dials them; the switch is given phone code 1 + number.
ANSWERS = "3125551002"  # lead 12346; any other 1312555XXXX too: rings 2 s, answers, talks on
BUSY = TEST_NUMBERS["busy"][1:]
NO_ANSWER = TEST_NUMBERS["no_answer"][1:]
HANGS_UP = TEST_NUMBERS["answer_hangup"][1:]  # rings 1 s, answers, plays tt-monkeys (16 s), hangs up
THIRD = "3125559999"  # a third party (answers)
#: The sounds the scenarios play, with their lengths in Asterisk's files (seconds).
SOUND_SECONDS = {"tt-monkeys": 16.2, "ss-noservice": 4.9, "vm-goodbye": 0.9}
HANGS_UP_TALK = SOUND_SECONDS["tt-monkeys"]

PHONE, CUSTOMER, PLAYER, RECORDER = "phone", "customer", "player", "recorder"


@dataclass(frozen=True)
class Member:
    """A conference member as the switch lists it, and what it is."""

    channel: str
    role: str  # PHONE, CUSTOMER, PLAYER, RECORDER
    who: str = ""  # a phone: its extension; a dialled customer: the number dialled (phone code + number)


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition",
             step: Callable[[], None] | None = None) -> Any:
    """`tests.support.wait_for` with the longer default a real switch needs."""
    return support_wait_for(check, timeout, what, step)


class Driver(Protocol):
    """One switch under openagc, as a scenario sees it."""

    name: str  # "simulated" or "asterisk"
    db: Db
    recordings_dir: Path  # where the switch writes recordings

    # --- openagc ---------------------------------------------------------------------------------------------
    def api(self, function: str, **params: Any) -> str:
        """`/agc/api.php` as the API user; the response text."""

    def login(self, **overrides: Any) -> str:
        """`/agent/login` (LOGIN with `overrides`), waiting until the phone is in its conference; the token."""

    def agent(self, path: str, token: str, **body: Any) -> httpx.Response:
        """POST `/agent/<path>`."""

    def state(self, token: str) -> dict[str, Any]:
        """The agent's state (`/agent/state`)."""

    def events(self, token: str) -> Events:
        """The agent's event stream, once connected."""

    def vla(self, user: str = "1000") -> dict[str, Any]:
        """The agent's `vicidial_live_agents` row."""

    def kill_engine(self) -> None:
        """Stop the engine as a killed process would: nothing hung up, nothing written."""

    def start_engine(self) -> None:
        """Start an engine on the same database and switch (it reconciles what it finds)."""

    # --- time --------------------------------------------------------------------------------------------------
    def wait(self, check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        """Until `check()` is truthy (its value), letting up to `timeout` seconds pass."""

    def let_time_pass(self, seconds: float) -> None:
        """The call goes on for `seconds` (not an assertion)."""

    # --- the switch --------------------------------------------------------------------------------------------
    def members(self, conf: str = CONF) -> list[Member]:
        """Who is in conference `conf` now, as the switch lists it."""

    def roles(self, conf: str = CONF) -> list[tuple[str, str]]:
        """(role, who) of every member of `conf`, sorted."""

    def wait_joined(self, conf: str, predicate: Callable[[Member], bool], timeout: float = 20.0,
                    what: str = "a member") -> Member:
        """The first member of `conf` matching `predicate`, waiting until there is one."""

    def wait_left(self, conf: str, channel: str, timeout: float = 15.0) -> None:
        """Until `channel` is no longer a member of `conf`."""

    def joined(self, conf: str = CONF) -> list[str]:
        """Every channel that joined `conf` during the scenario, in order."""

    def gone(self, channel: str) -> bool:
        """Whether the switch hung `channel` up during the scenario."""

    def hang_up(self, channel: str) -> None:
        """A party hangs up on its own (not through openagc)."""

    def inbound(self, ingroup: str = "TEST_IN") -> str:
        """A customer calls into `ingroup`; the caller's channel once the switch announced it."""

    def far_end(self, number: str) -> str | None:
        """What the party at `number` (phone code + number) did: "answered", "busy", "no answer", or None."""

    def on_hold(self, channel: str) -> bool:
        """Whether `channel` hears hold music now."""

    def was_held(self, channel: str) -> bool:
        """Whether `channel` was put on hold music during the scenario."""

    def played_to(self, channel: str) -> list[str]:
        """The sounds the dialplan played to `channel` (a message drop)."""

    def dtmf_heard(self, conf: str = CONF) -> dict[tuple[str, str], str]:
        """(role, who) of each member of `conf` → the DTMF digits the conference played to it."""

    def recording_files(self) -> dict[str, float]:
        """The recordings the switch wrote: path → length in seconds."""

    def playback_controls(self) -> list[tuple[str, str]]:
        """(player channel, action) of every playback control the switch accepted, in order."""

    def restart_switch(self) -> None:
        """The switch restarts (every call gone); returns once openagc is connected to it again."""


class LiveDriver:
    """What both drivers share: openagc's live server (the engine on) and its database."""

    name = ""

    def __init__(self, client: httpx.Client, base_url: str, db: Db) -> None:
        self.client, self.base_url, self.db = client, base_url, db
        self._api = Api(client)
        self.streams: list[Events] = []

    def api(self, function: str, **params: Any) -> str:
        return self._api(function, **params)

    def agent(self, path: str, token: str, **body: Any) -> httpx.Response:
        return self.client.post(f"/agent/{path}", headers={"Authorization": f"Bearer {token}"}, json=body)

    def state(self, token: str) -> dict[str, Any]:
        r = self.client.get("/agent/state", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        return r.json()["state"]

    def events(self, token: str) -> Events:
        stream = Events(self.base_url, token)
        self.streams.append(stream)
        wait_for(lambda: stream.items, what="the event stream connected")  # real time on every switch
        return stream

    def close_streams(self) -> None:
        for stream in self.streams:
            stream.close()
        self.streams.clear()

    def vla(self, user: str = "1000") -> dict[str, Any]:
        return self.db.row("vicidial_live_agents", user=user)

    def wait(self, check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
        return wait_for(check, timeout, what)

    def roles(self, conf: str = CONF) -> list[tuple[str, str]]:
        """(role, who) of every member of `conf`, sorted."""
        return sorted((m.role, m.who) for m in self.members(conf))  # type: ignore[attr-defined]

    def wait_joined(self, conf: str, predicate: Callable[[Member], bool], timeout: float = 20.0,
                    what: str = "a member") -> Member:
        """The first member of `conf` matching `predicate`, waiting until there is one."""
        return self.wait(lambda: next((m for m in self.members(conf) if predicate(m)), None),  # type: ignore[attr-defined]
                         timeout, f"{what} in {conf}")

    def wait_left(self, conf: str, channel: str, timeout: float = 15.0) -> None:
        """Until `channel` is no longer a member of `conf`."""
        self.wait(lambda: channel not in [m.channel for m in self.members(conf)],  # type: ignore[attr-defined]
                  timeout, f"{channel} out of {conf}")

    def recording_files(self) -> dict[str, float]:
        found = {}
        for path in Path(self.recordings_dir).glob("*.wav"):  # type: ignore[attr-defined]
            try:
                with wave.open(str(path)) as wav:
                    found[str(path)] = wav.getnframes() / wav.getframerate()
            except (EOFError, wave.Error):  # still being written
                continue
        return found


def phone(user: str = "1000") -> Callable[[Member], bool]:
    return lambda m: m.role == PHONE and m.who == user


def customer(number: str | None = None, phone_code: str = "1") -> Callable[[Member], bool]:
    """A customer member; dialled at `number` when given (the switch was given phone code + number)."""
    return lambda m: m.role == CUSTOMER and (number is None or m.who == phone_code + number)
