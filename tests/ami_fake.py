"""Recorded AMI transcripts (`tests/fixtures/ami/*.jsonl`) and a fake AMI server that replays them.

A transcript is what one adapter connection exchanged with a real Asterisk, recorded by the Asterisk tier
(`tests/asterisk/`), one JSON object a line:

* ``meta``: the scenario, the adapter's `AsteriskSettings` (without host, port and secret), what was elided;
* ``banner``: Asterisk's greeting;
* ``out``: an action the adapter sent (ordered header pairs); ``in``: a response or event Asterisk sent;
* ``op``: a `SwitchPort` operation the engine called (`name`, `args`) with `seen`, the number of AMI events the
  adapter had been handed by then;
* ``switch_event``: a `SwitchEvent` the adapter reported;
* ``channels``: what a ``CoreShowChannels`` listed, each time the list changed (the engine's channel mirror).

``Ping`` and ``CoreShowChannels`` exchanges (timers and the engine's channel mirror) are left out: they change no
adapter state. The fake server (`ReplayAmi`) matches each action it receives to the earliest unmatched recorded
action of that name, answers and emits the recorded messages in recorded order (a message goes out once every
action recorded before it has arrived), and maps what differs per run: the ``ActionID``s and the ``ChannelId``s the
adapter assigns. `replay()` drives a fresh adapter with the recorded operations, each once the adapter has been
handed as many events as it had when the engine called it. In `lenient` mode (`tests/switch/test_ami_engine_replay.py`)
the engine drives the adapter instead: actions are matched by what they act on, call ids are mapped, and
``CoreShowChannels`` is answered from the ``channels`` entries.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from openagc.clock import Clock
from openagc.switch.port import ChannelKind, SwitchEvent

FIXTURES = Path(__file__).parent / "fixtures" / "ami"
EOL = "\r\n"
ELIDED = ("Ping", "CoreShowChannels")
GAP = 0.02  # seconds between two recorded messages that the replay keeps apart
Pairs = list[list[str]]


def encode(pairs: Pairs) -> bytes:
    return ("".join(f"{k}: {v}{EOL}" for k, v in pairs) + EOL).encode()


def header(pairs: Pairs, name: str, default: str = "") -> str:
    for k, v in pairs:
        if k.lower() == name.lower():
            return v
    return default


def event_json(event: SwitchEvent) -> dict[str, Any]:
    c = event.channel
    return {
        "kind": event.kind.value,
        "cause": event.cause,
        "data": dict(event.data),
        "channel": {"name": c.name, "uniqueid": c.uniqueid, "call_id": c.call_id, "kind": c.kind.value,
                    "state": c.state.value, "number": c.number, "conference": c.conference, "parked": c.parked},
    }


@dataclass
class Transcript:
    path: Path
    meta: dict[str, Any]
    entries: list[dict[str, Any]]

    @property
    def switch_events(self) -> list[dict[str, Any]]:
        return [e["event"] for e in self.entries if e["kind"] == "switch_event"]

    @property
    def actions(self) -> list[Pairs]:
        return [e["msg"] for e in self.entries if e["kind"] == "out"]


def load(path: Path) -> Transcript:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    assert lines and lines[0]["kind"] == "meta", f"{path}: no meta line"
    return Transcript(path, lines[0], lines[1:])


def transcripts() -> list[Path]:
    return sorted(FIXTURES.glob("*.jsonl"))


# --------------------------------------------------------------------------------------------- the fake server


@dataclass
class ReplayAmi:
    """An AMI server answering one adapter connection from a transcript."""

    transcript: Transcript
    #: Engine replays: actions are matched by what they act on (Action, Channel, Exten, Application) rather than
    #: by name alone, the call ids in CallerID are mapped too, and CoreShowChannels is answered with the channels
    #: Asterisk listed at that point of the live run (the transcript's ``channels`` entries).
    lenient: bool = False
    server: asyncio.Server | None = None
    port: int = 0
    ids: dict[str, str] = field(default_factory=dict)  # recorded ActionID / ChannelId → this run's
    subs: dict[str, str] = field(default_factory=dict)  # recorded ChannelId / call id → this run's (in any value)
    matched: set[int] = field(default_factory=set)  # indexes of recorded `out` entries received
    emitted: int = 0  # entries before this index are done (sent, matched, or not messages)
    mismatches: list[str] = field(default_factory=list)
    unexpected: list[Pairs] = field(default_factory=list)
    progress: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    writer: asyncio.StreamWriter | None = None
    task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    def _map(self, value: str) -> str:
        if value in self.ids:
            return self.ids[value]
        for old, new in self.subs.items():  # a ChannelId inside a Uniqueid (`<id>;2`), a call id in a CallerID
            if old in value:
                value = value.replace(old, new)
        return value

    def _key(self, pairs: Pairs, mapped: bool) -> tuple[str, ...]:
        names = ("Action", "Channel", "Exten", "Application") if self.lenient else ("Action",)
        return tuple(self._map(header(pairs, n)) if mapped else header(pairs, n) for n in names)

    def _learn(self, recorded: Pairs, pairs: Pairs) -> None:
        self.ids[header(recorded, "ActionID")] = header(pairs, "ActionID")
        if header(recorded, "ChannelId") and header(pairs, "ChannelId"):
            self.subs[header(recorded, "ChannelId")] = header(pairs, "ChannelId")
        old, new = header(recorded, "CallerID").split('"'), header(pairs, "CallerID").split('"')
        if self.lenient and len(old) == len(new) == 3 and old[1] != new[1] and len(old[1]) >= 8:
            self.subs[old[1]] = new[1]

    def _pump(self) -> None:
        """Wake the sender (an action arrived, or the client connected)."""
        self.wake.set()

    async def _sender(self) -> None:
        """Send every recorded message whose preceding actions have all arrived, in order.

        Messages that reached the live adapter apart (more than `GAP` seconds) are sent apart here too, so the
        adapter handles each before the next arrives, as it did live (an operation awaiting a response resumes
        before the events that followed it).
        """
        entries = self.transcript.entries
        last: float | None = None
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.emitted < len(entries):
                entry = entries[self.emitted]
                if entry["kind"] == "out" and self.emitted not in self.matched:
                    break
                if entry["kind"] in ("in", "banner"):
                    assert self.writer is not None
                    if last is not None and entry["t"] - last > GAP:
                        await self.writer.drain()
                        await asyncio.sleep(0.005)
                    last = entry["t"]
                    if entry["kind"] == "in":
                        self.writer.write(encode([[k, self._map(v)] for k, v in entry["msg"]]))
                    else:
                        self.writer.write(f"{entry['text']}{EOL}".encode())
                self.emitted += 1
            if self.writer is not None:
                await self.writer.drain()
            self.progress.set()

    def _receive(self, pairs: Pairs) -> None:
        name = header(pairs, "Action")
        aid = header(pairs, "ActionID")
        if name in ELIDED:
            self._answer_elided(name, aid)
            return
        key = self._key(pairs, mapped=False)
        for i, entry in enumerate(self.transcript.entries):
            if entry["kind"] != "out" or i in self.matched or self._key(entry["msg"], mapped=True) != key:
                continue
            recorded = entry["msg"]
            self._learn(recorded, pairs)
            want = [[k, self._map(v)] for k, v in recorded if k not in ("ActionID", "ChannelId")]
            got = [[k, v] for k, v in pairs if k not in ("ActionID", "ChannelId")]
            if sorted(want) != sorted(got):
                self.mismatches.append(f"{name}: recorded {want}, sent {got}")
            self.matched.add(i)
            self._pump()
            return
        self.unexpected.append(pairs)
        assert self.writer is not None
        self.writer.write(encode([["Response", "Error"], ["ActionID", aid], ["Message", "not in the transcript"]]))

    def _answer_elided(self, name: str, aid: str) -> None:
        assert self.writer is not None
        if name == "Ping":
            self.writer.write(encode([["Response", "Success"], ["ActionID", aid], ["Ping", "Pong"]]))
            return
        listing: list[Pairs] = []
        if self.lenient:  # the channels Asterisk listed last before this point of the live run
            for entry in self.transcript.entries[:self.emitted]:
                if entry["kind"] == "channels":
                    listing = entry["list"]
        self.writer.write(encode([["Response", "Success"], ["ActionID", aid], ["EventList", "start"],
                                  ["Message", "Channels will follow"]]))
        for channel in listing:
            self.writer.write(encode([["Event", "CoreShowChannel"], ["ActionID", aid],
                                      *[[k, self._map(v)] for k, v in channel]]))
        self.writer.write(encode([["Event", "CoreShowChannelsComplete"], ["ActionID", aid],
                                  ["EventList", "Complete"], ["ListItems", str(len(listing))]]))

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.task = asyncio.create_task(self._sender())
        self._pump()
        try:
            while True:
                raw = (await reader.readuntil(b"\r\n\r\n")).decode()
                pairs = [line.split(": ", 1) for line in raw.split(EOL) if ": " in line]
                self._receive([[k, v] for k, v in pairs])
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass

    async def until(self, index: int, timeout: float) -> None:
        """Wait until every entry before `index` is done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.emitted < index:
            self.progress.clear()
            left = deadline - loop.time()
            if left <= 0:
                entry = self.transcript.entries[self.emitted]
                raise AssertionError(f"{self.transcript.path.name}: the adapter never sent the recorded "
                                     f"{header(entry.get('msg', []), 'Action') or entry['kind']} "
                                     f"(entry {self.emitted}: {entry})")
            try:
                await asyncio.wait_for(self.progress.wait(), left)
            except TimeoutError:
                pass


# --------------------------------------------------------------------------------------------- the replay


@dataclass
class Replayed:
    events: list[dict[str, Any]]
    mismatches: list[str]
    unexpected: list[Pairs]
    errors: list[str]
    ids: dict[str, str]

    def normalised_expected(self, transcript: Transcript) -> list[dict[str, Any]]:
        """The recorded SwitchEvents with this run's ids."""
        return json.loads(self._map_json(json.dumps(transcript.switch_events)))

    def _map_json(self, text: str) -> str:
        for old, new in sorted(self.ids.items(), key=lambda kv: -len(kv[0])):
            if "." in old and new:
                text = text.replace(old, new)
        return text


def _args(name: str, args: dict[str, Any]) -> dict[str, Any]:
    out = dict(args)
    if "kind" in out:
        out["kind"] = ChannelKind(out["kind"])
    if name == "redirect" and "sounds" in out:
        out["sounds"] = tuple(out["sounds"])
    return out


async def replay(transcript: Transcript, timeout: float = 10.0) -> Replayed:
    """Drive a fresh adapter with the recorded operations against `ReplayAmi`; collect what it reported."""
    from openagc.switch.asterisk import AsteriskSettings, connect

    fake = ReplayAmi(transcript)
    await fake.start()
    clock = Clock()
    base = datetime(2026, 1, 15, 10, 30, 0)
    clock.freeze(base)
    settings = AsteriskSettings(**{**transcript.meta["settings"], "host": "127.0.0.1", "port": fake.port,
                                   "username": transcript.meta.get("username", "openagc"), "secret": "***",
                                   "ping_interval": 3600})
    events: list[dict[str, Any]] = []
    errors: list[str] = []
    tasks: list[asyncio.Task[Any]] = []
    try:
        switch = await connect(settings, clock=clock)
        handed = [0]
        switch.manager.register_event("*", lambda _m, _e: handed.__setitem__(0, handed[0] + 1))
        switch.subscribe(lambda e: events.append(event_json(e)))
        loop = asyncio.get_running_loop()
        for index, entry in enumerate(transcript.entries):
            if entry["kind"] != "op":
                continue
            await fake.until(index, timeout)
            deadline = loop.time() + timeout
            while handed[0] < entry["seen"]:
                if loop.time() > deadline:
                    raise AssertionError(f"{transcript.path.name}: the adapter was handed {handed[0]} events, "
                                         f"{entry['seen']} before {entry['name']}")
                await asyncio.sleep(0.001)
            clock.freeze(base + timedelta(seconds=entry["t"]))
            method = getattr(switch, entry["name"])

            async def call(method: Any = method, entry: dict[str, Any] = entry) -> None:
                try:
                    await method(**_args(entry["name"], entry["args"]))
                except Exception as exc:  # noqa: BLE001 - compared with what the live run raised
                    errors.append(f"{entry['name']}: {type(exc).__name__}")

            tasks.append(asyncio.create_task(call()))
            await asyncio.sleep(0)
        await fake.until(len(transcript.entries), timeout)
        if tasks:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout)
        last = transcript.entries[-1]["t"] if transcript.entries else 0.0
        clock.freeze(base + timedelta(seconds=last))
        await asyncio.sleep(0.05)
        await switch.settle()
        await switch.aclose()
    finally:
        for task in tasks:
            task.cancel()
        await fake.stop()
    return Replayed(events, fake.mismatches, fake.unexpected, errors, dict(fake.subs))
