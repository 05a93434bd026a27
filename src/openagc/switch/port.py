"""The narrow telephony interface the engine drives. Adapters: `simulated` (default), `asterisk` (AMI).

The engine never talks to a PBX directly: it calls these operations and reacts to `SwitchEvent`s.
Every operation is identified by a `call_id` (upstream's tracking id convention, e.g. `M0115103000000012345`)
so the engine can tie events back to the call and to its `vicidial_manager` row.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable


class ChannelState(StrEnum):
    RINGING = "ringing"
    UP = "up"
    DOWN = "down"


class ChannelKind(StrEnum):
    AGENT = "agent"  # the agent's phone, joined to the agent's conference
    CUSTOMER = "customer"  # an outside party (manual dial, auto-dial, inbound, 3rd party)
    PLAYBACK = "playback"  # audio played into a conference
    PARKED = "parked"  # a channel on hold in the park / IVR park
    RECORDING = "recording"  # a recording leg in a conference (upstream Local/5<conf>@ctx, Exten 8309)


@dataclass(frozen=True)
class Channel:
    """A live channel as the switch reports it."""

    name: str  # e.g. SIP/1000-00000001, Local/8600051@default-00000002;1
    uniqueid: str  # e.g. 1768473000.123
    call_id: str  # the tracking id given at origination (callerid name upstream)
    kind: ChannelKind
    state: ChannelState
    number: str = ""  # dialled or calling number
    conference: str | None = None  # conference (conf_exten) it is joined to, if any
    parked: bool = False


class EventKind(StrEnum):
    RINGING = "ringing"
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    HANGUP = "hangup"  # a channel went away (either side)
    INBOUND = "inbound"  # a customer called in: channel waits for routing (in-group in `data`)
    DTMF = "dtmf"
    RECORDING_STARTED = "recording_started"
    RECORDING_STOPPED = "recording_stopped"
    PLAYBACK_FINISHED = "playback_finished"
    RESYNC = "resync"  # the switch (re)connected: its channel list is the truth again (channel: NO_CHANNEL)


#: The channel of an event about the switch itself (RESYNC), not about one channel.
NO_CHANNEL = Channel(name="", uniqueid="", call_id="", kind=ChannelKind.CUSTOMER, state=ChannelState.DOWN)


@dataclass(frozen=True)
class SwitchEvent:
    kind: EventKind
    channel: Channel
    cause: str = ""  # hangup cause, e.g. NORMAL_CLEARING, BUSY, NO ANSWER
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Recording:
    """A conference recording the switch made (length in seconds, file written by the adapter)."""

    filename: str
    path: str
    conference: str
    started_epoch: float
    ended_epoch: float | None = None

    @property
    def length_seconds(self) -> int | None:
        return None if self.ended_epoch is None else int(round(self.ended_epoch - self.started_epoch))


Listener = Callable[[SwitchEvent], Awaitable[None] | None]


@runtime_checkable
class SwitchPort(Protocol):
    """What the engine needs from telephony. All operations are async and never block the loop."""

    server_ip: str

    async def originate(
        self,
        *,
        number: str,
        call_id: str,
        conference: str | None = None,
        caller_id: str = "",
        kind: ChannelKind = ChannelKind.CUSTOMER,
        timeout: float = 30.0,
        prefix: str | None = None,
    ) -> Channel:
        """Dial `number`; once answered the channel joins `conference`, or without one waits parked (on hold)
        until `redirect`ed. Events follow (ringing, answered …).

        What `number` means, for every adapter:

        * kind CUSTOMER: the number *as the customer is to be dialled* — phone code + number
          (`13125551002`), the number exactly as given for a dial override, or a dialplan extension
          (`90009*GROUP*…`) — never with the outbound prefix. `prefix` is that prefix (the campaign's
          `dial_prefix` / `three_way_dial_prefix`, `""` for none); `None` means the adapter's default. The
          adapter builds the dial string from both (Asterisk: `Local/{prefix}{number}@{context}`, so
          `Local/913125551002@default`), the way upstream's `Exten: 9<phone_code><number>` reaches the
          carrier through the dialplan.
        * kind AGENT: the phone's extension (`1000`), or a full dial string holding a `/`
          (`SIP/1000`, `Local/8300@default`); `prefix` is not used.
        """

    async def hangup(self, channel: str, cause: str = "NORMAL_CLEARING") -> None:
        """Hang up one channel."""

    async def redirect(self, channel: str, *, conference: str | None = None, park: bool = False,
                       exten: str | None = None, sounds: tuple[str, ...] = ()) -> None:
        """Move a channel: into another conference, into the park (on hold) when `park` is set, or to a
        dialplan extension `exten` (AMI Redirect Exten=…: a blind transfer to a number, `990009*GROUP*…`
        into an in-group, a voicemail/message extension). `sounds` are the audio files a message
        extension plays (the engine's vm_message list; an Asterisk dialplan may read them itself)."""

    async def send_dtmf(self, conference: str, digits: str) -> None:
        """Play DTMF tones into a conference (digits 0-9 * #; `,` = a pause)."""

    async def start_recording(self, conference: str, filename: str) -> Recording:
        """Start recording a conference into `filename` (without extension)."""

    async def stop_recording(self, conference: str, filename: str) -> Recording:
        """Stop a recording; the returned value carries the final length."""

    async def play_audio(self, conference: str, sound: str, call_id: str) -> Channel:
        """Play an audio file into a conference (a PLAYBACK channel; upstream's was `IAX2/ASTplay-…`)."""

    async def control_audio(self, channel: str, action: str) -> None:
        """PAUSE, RESUME, TOGGLE (upstream's CallerID 3) or RESTART a PLAYBACK channel."""

    async def channels(self) -> list[Channel]:
        """Every live channel."""

    def channels_version(self) -> int:
        """A number that changes whenever what `channels` returns may have changed: while it stays the same,
        the list is the same (the engine's channel mirror reads the list only when it has changed)."""

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Receive every SwitchEvent; returns a function that unsubscribes."""
