"""Every live channel of one Asterisk, as its AMI events describe them (the adapter's channel list).

Kept from events (``Newchannel``, ``Newstate``, ``NewCallerid``, ``Rename``, ``ConfbridgeJoin`` /
``ConfbridgeLeave``, ``MeetmeJoin`` / ``MeetmeLeave``, ``Hangup``) so that listing the channels costs no AMI
round trip; rebuilt from one ``CoreShowChannels`` when the AMI connection (re)opens, since events missed
while disconnected cannot be replayed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from panoramisk.message import Message

from openagc.switch.port import ChannelState

_JOIN = {"ConfbridgeJoin": True, "MeetmeJoin": True, "ConfbridgeLeave": False, "MeetmeLeave": False}


@dataclass
class LiveChannel:
    name: str
    uniqueid: str
    state: ChannelState
    caller_name: str = ""
    caller_number: str = ""
    conference: str | None = None
    application: str = ""
    context: str = ""
    exten: str = ""


def _state(code: str) -> ChannelState:
    return ChannelState.UP if code == "6" else ChannelState.RINGING


class ChannelTable:
    """The live channels by name; `apply` every AMI event, `load` a CoreShowChannels answer."""

    def __init__(self) -> None:
        self.by_name: dict[str, LiveChannel] = {}

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(self.by_name.values()))

    def get(self, name: str) -> LiveChannel | None:
        return self.by_name.get(name)

    def apply(self, msg: Message) -> None:
        """Update the table from one AMI event (events about no channel are ignored)."""
        event, name = msg.event, msg.get("Channel", "")
        if not name:
            return
        if event == "Hangup":
            self.by_name.pop(name, None)
            return
        if event == "Rename":
            chan = self.by_name.pop(name, None)
            if chan is not None:
                chan.name = msg.get("Newname", name)
                self.by_name[chan.name] = chan
            return
        chan = self.by_name.get(name)
        if chan is None:
            if event not in ("Newchannel", "Newstate", "NewCallerid", *_JOIN):
                return
            chan = LiveChannel(name=name, uniqueid=msg.get("Uniqueid", ""), state=_state(msg.get("ChannelState", "")))
            self.by_name[name] = chan
        if msg.get("ChannelState"):
            chan.state = _state(msg.get("ChannelState", ""))
        if msg.get("CallerIDName") is not None:
            chan.caller_name = "" if msg.get("CallerIDName") == "<unknown>" else msg.get("CallerIDName", "")
            chan.caller_number = "" if msg.get("CallerIDNum") == "<unknown>" else msg.get("CallerIDNum", "")
        if event in _JOIN:
            chan.conference = (msg.get("Conference") or msg.get("Meetme") or None) if _JOIN[event] else None

    def load(self, listing: Iterable[Message]) -> None:
        """Replace the table with a CoreShowChannels answer (its ``CoreShowChannel`` events)."""
        self.by_name = {}
        for msg in listing:
            if msg.event != "CoreShowChannel" or not msg.get("Channel"):
                continue
            app, data = msg.get("Application", ""), msg.get("ApplicationData", "")
            conference = data.split(",")[0] if app in ("ConfBridge", "MeetMe") and data else None
            self.by_name[msg.channel] = LiveChannel(
                name=msg.channel, uniqueid=msg.get("Uniqueid", ""), state=_state(msg.get("ChannelState", "")),
                caller_name=msg.get("CallerIDName", ""), caller_number=msg.get("CallerIDNum", ""),
                conference=conference, application=app, context=msg.get("Context", ""), exten=msg.get("Exten", ""))
