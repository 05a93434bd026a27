"""Records one adapter connection's AMI exchange as a transcript (`tests/ami_fake.py` describes the format).

`AmiProxy` is a TCP proxy between the adapter and Asterisk's AMI, on the adapter's own event loop, so the order
of what it records (messages in both directions) and of what `hook()` records (the engine's operations on the
adapter, the SwitchEvents the adapter reports) is the order the adapter lived through.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import json
import time
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Any

from openagc.switch.asterisk import AsteriskSwitch
from tests.ami_fake import ELIDED, event_json, header
from tests.asterisk.pbx import parse_message

REDACTED = "***"  # the Login's Secret (the replay logs in with it)
_INSIDE_OP: contextvars.ContextVar[bool] = contextvars.ContextVar("inside_op", default=False)
OPS = ("originate", "hangup", "redirect", "send_dtmf", "start_recording", "stop_recording", "play_audio",
       "control_audio")


class Transcript:
    """The entries of one scenario, timed from its start."""

    def __init__(self, scenario: str) -> None:
        self.scenario = scenario
        self.t0 = time.monotonic()
        self.entries: list[dict[str, Any]] = []
        self.meta: dict[str, Any] = {}
        self._elided: set[str] = set()
        self._listing: dict[str, list[list[list[str]]]] = {}  # CoreShowChannels ActionID → its channels
        self._last_listing: list[list[list[str]]] | None = None
        self.connections = 0

    def t(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    def message(self, kind: str, pairs: list[tuple[str, str]]) -> None:
        aid = header([list(p) for p in pairs], "ActionID")
        if kind == "out" and header([list(p) for p in pairs], "Action") in ELIDED:
            self._elided.add(aid)
            return
        if kind == "in" and aid and aid in self._elided:
            self._channels(aid, pairs)
            return
        self.entries.append({"kind": kind, "t": self.t(),
                             "msg": [[k, REDACTED if k.lower() == "secret" else v] for k, v in pairs]})

    def _channels(self, aid: str, pairs: list[tuple[str, str]]) -> None:
        """Note a CoreShowChannels answer as a ``channels`` entry when the list changed since the last one."""
        event = dict(pairs).get("Event")
        if event == "CoreShowChannel":
            keep = ("Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "Context", "Exten",
                    "Priority", "Uniqueid", "Linkedid", "Application", "ApplicationData")
            self._listing.setdefault(aid, []).append([[k, v] for k, v in pairs if k in keep])
        elif event == "CoreShowChannelsComplete":
            listing = self._listing.pop(aid, [])
            if listing != self._last_listing:
                self._last_listing = listing
                self.entries.append({"kind": "channels", "t": self.t(), "list": listing})

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [{"kind": "meta", "scenario": self.scenario, **self.meta,
                  "elided": list(ELIDED), "connections": self.connections}, *self.entries]
        path.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))


class AmiProxy:
    """Forwards AMI connections to Asterisk and writes what passes into the current `Transcript`."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.transcript: Transcript | None = None
        self.server: asyncio.Server | None = None
        self.port = 0
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for w in self._writers:
            w.close()
        if self.server is not None:
            self.server.close()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            return
        self._writers += [writer, up_writer]
        if self.transcript is not None:
            self.transcript.connections += 1
        await asyncio.gather(self._pipe(up_reader, writer, "in"), self._pipe(reader, up_writer, "out"),
                             return_exceptions=True)
        writer.close()
        up_writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, kind: str) -> None:
        buffer = ""
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                text = data.decode(errors="replace")
                buffer += text
                if kind == "in" and buffer.startswith("Asterisk Call Manager/") and "\r\n" in buffer:
                    banner, _, buffer = buffer.partition("\r\n")
                    if self.transcript is not None:
                        self.transcript.entries.append({"kind": "banner", "t": self.transcript.t(), "text": banner})
                *complete, buffer = buffer.split("\r\n\r\n")
                for raw in complete:
                    pairs = parse_message(raw)
                    if pairs and self.transcript is not None:
                        self.transcript.message(kind, pairs)
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def hook(switch: AsteriskSwitch, transcript: Transcript) -> None:
    """Record the engine's operations on `switch` and the SwitchEvents it reports into `transcript`."""
    handed = [0]
    switch.manager.register_event("*", lambda _m, _e: handed.__setitem__(0, handed[0] + 1))
    switch.subscribe(lambda e: transcript.entries.append(
        {"kind": "switch_event", "t": transcript.t(), "event": event_json(e)}))
    settings = asdict(switch.settings)
    for key in ("host", "port", "secret", "username"):
        settings.pop(key)
    transcript.meta.update(settings=settings, username=switch.settings.username)
    for name in OPS:
        method = getattr(switch, name)
        signature = inspect.signature(method)

        def wrapped(*args: Any, _m: Any = method, _n: str = name, _s: Any = signature, **kwargs: Any) -> Any:
            if _INSIDE_OP.get():  # called by another operation (stop_recording's hangup): replayed with it
                return _m(*args, **kwargs)
            bound = _s.bind(*args, **kwargs)
            entry = {"kind": "op", "t": transcript.t(), "name": _n,
                     "args": {k: _plain(v) for k, v in bound.arguments.items()}, "seen": handed[0]}
            transcript.entries.append(entry)

            async def run() -> Any:
                inside = _INSIDE_OP.set(True)
                try:
                    return await _m(*args, **kwargs)
                except Exception as exc:
                    transcript.entries.append({"kind": "op_error", "t": transcript.t(), "name": _n,
                                               "error": type(exc).__name__})
                    raise
                finally:
                    _INSIDE_OP.reset(inside)

            return run()

        setattr(switch, name, wrapped)
