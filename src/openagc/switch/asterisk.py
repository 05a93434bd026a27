"""The production `SwitchPort` adapter: Asterisk over the Asterisk Manager Interface (AMI), with panoramisk.

How each operation maps to AMI (every action carries its own `ActionID`; all settings in `AsteriskSettings`):

* ``originate`` → ``Originate`` with ``Async: true``: ``Channel`` from ``dial_pattern`` (customers, e.g.
  ``Local/{prefix}{number}@{context}`` like upstream's manual dial, or ``SIP/{carrier}/{number}``) or
  ``agent_dial_pattern`` (agent phones; a number that already holds a ``/`` is used as the dial string),
  ``Context``/``Exten``/``Priority`` = ``context`` / ``conference_exten`` / 1 (the agent's MeetMe or ConfBridge
  conference), ``CallerID: "{call_id}" <{caller_id}>``, ``Timeout`` in ms, and ``ChannelId`` (an
  ``epoch.micro`` uniqueid chosen here, Asterisk 12+) so events can be tied to the call before Asterisk
  reports anything else. Without a conference (auto-dial) the answered call goes to the park exten, where
  the engine later redirects it to an agent.
* ``hangup`` → ``Hangup`` (``Cause`` as a Q.850 code when the cause text is known). Unknown channels are ignored.
* ``redirect`` → ``Redirect`` to ``context``/``conference_exten``, to ``park_context``/``park_exten``, or to a
  dialplan ``exten`` in ``context`` (transfers; ``sounds`` go first into a channel variable with ``Setvar``).
* ``send_dtmf`` → upstream's way, **not** ``PlayDTMF``: an ``Originate`` of ``dtmf_channel``
  (``Local/8500998@{context}``, whose dialplan runs ``agi-dtmf.agi``) into ``Exten: 7{conference}`` (silent
  conference entry) with ``CallerID`` = the digits. A conference has no channel of its own to send
  ``PlayDTMF`` to, so this is the only way to reach every member.
* ``start_recording`` → ``Originate`` of ``recording_channel`` (``Local/5{conference}@{context}/n``: the ``;2``
  half enters the conference listen-only through upstream's ``5<conf>`` exten, the ``;1`` half runs
  ``Wait``), then, once the leg is up, ``MixMonitor`` on the ``;1`` channel (it hears the whole conference)
  into ``{recording_dir}/{filename}.{recording_format}``. ``stop_recording`` → ``StopMixMonitor`` + ``Hangup``.
* ``play_audio`` → ``Originate`` of ``playback_channel`` (``Local/{conference}@{context}/n``) with
  ``Application: ControlPlayback`` (``playback_application``), ``Data: {sound}``; the leg hangs up when the
  sound ends. ``control_audio`` → ``ControlPlayback`` (``Control: pause`` / ``restart``) on that leg.
* ``channels`` → ``CoreShowChannels`` (the ``CoreShowChannel`` event list up to ``CoreShowChannelsComplete``).

AMI events are translated into `SwitchEvent`s for the calls this adapter originated (matched by the
``ChannelId`` uniqueid, the ``CallerIDName`` = call id, or the ``ActionID`` of ``OriginateResponse``):
``Newstate`` Ringing → RINGING, Up (or ``OriginateResponse`` Success) → ANSWERED, ``DialEnd`` BUSY /
CONGESTION / CHANUNAVAIL → BUSY and NOANSWER → NO_ANSWER, ``Hangup`` → HANGUP (an unanswered call first gets
BUSY or NO_ANSWER: from its DialEnd, else the Q.850 cause, else the reason of an earlier ``OriginateResponse``
Failure — 5/8/0 → BUSY, others → NO_ANSWER — since Asterisk sends that response *before* the DialEnd saying
why; a Failure with no channel at all ends the call at once), ``DTMFEnd`` (direction Received, any channel) →
DTMF, and a ``UserEvent`` named ``inbound_userevent`` (headers ``InGroup``, optional ``CallID``) → INBOUND.
Each call reports on one channel, its *primary* (the originated channel, not a ``Local ;2`` half or the far leg
a ``Local`` channel dials).

Nothing blocks the event loop: panoramisk is asyncio-native and reconnects with ``loop.call_later``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import itertools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from panoramisk import Manager
from panoramisk.message import Message

from openagc.clock import Clock
from openagc.switch.ami_channels import ChannelTable
from openagc.switch.port import (
    NO_CHANNEL,
    Channel,
    ChannelKind,
    ChannelState,
    EventKind,
    Listener,
    Recording,
    SwitchEvent,
)

log = logging.getLogger(__name__)

CAUSE_NORMAL = "NORMAL_CLEARING"
CAUSE_BUSY = "BUSY"
CAUSE_NO_ANSWER = "NO ANSWER"

#: Cause texts the port uses → Q.850 codes sent in a Hangup action.
_CAUSE_CODES = {CAUSE_NORMAL: "16", CAUSE_BUSY: "17", CAUSE_NO_ANSWER: "19", "CALL_REJECTED": "21"}
#: Q.850 codes in Hangup events → the port's cause texts (others: Asterisk's Cause-txt, upper-cased). 0 (no cause
#: given, Cause-txt "Unknown") is what a channel ending by itself reports, e.g. a finished playback leg.
_CAUSE_TEXTS = {"0": CAUSE_NORMAL, "16": CAUSE_NORMAL, "17": CAUSE_BUSY, "18": CAUSE_NO_ANSWER, "19": CAUSE_NO_ANSWER}
#: Q.850 codes meaning the far end could not be reached / was busy (an unanswered call → BUSY).
_BUSY_CODES = {"17": "BUSY", "27": "CHANUNAVAIL", "34": "CONGESTION", "38": "CONGESTION", "41": "CONGESTION",
               "42": "CONGESTION", "1": "CHANUNAVAIL", "3": "CHANUNAVAIL", "20": "CHANUNAVAIL"}
#: DialEnd DialStatus → (event kind, cause).
_DIAL_FAILURES = {
    "BUSY": (EventKind.BUSY, "BUSY"),
    "CONGESTION": (EventKind.BUSY, "CONGESTION"),
    "CHANUNAVAIL": (EventKind.BUSY, "CHANUNAVAIL"),
    "NOANSWER": (EventKind.NO_ANSWER, CAUSE_NO_ANSWER),
}
#: OriginateResponse Reason (Asterisk control frame) → (event kind, cause) on Failure.
_ORIGINATE_FAILURES = {
    "0": (EventKind.BUSY, "CHANUNAVAIL"),
    "5": (EventKind.BUSY, "BUSY"),
    "8": (EventKind.BUSY, "CONGESTION"),
}
_DTMF_RE = re.compile(r"[0-9A-D*#,]+")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._+-]")


class AsteriskError(Exception):
    """AMI refused an action, did not answer in time, or the connection is down."""


class RecordingNotFound(AsteriskError, LookupError):
    """No recording of that conference and filename is running on this adapter."""


@dataclass(frozen=True)
class AsteriskSettings:
    """Where the AMI is and how the dialplan is laid out.

    Patterns are `str.format` templates. Fields available: ``dial_pattern`` / ``agent_dial_pattern``:
    ``{number}``, ``{prefix}``, ``{carrier}``, ``{context}``; ``conference_exten``, ``dtmf_exten``,
    ``recording_channel``, ``playback_channel``: ``{conference}``, ``{context}``; ``dtmf_channel``:
    ``{context}``.
    """

    host: str
    port: int
    username: str
    secret: str
    server_ip: str
    context: str = "default"
    dial_pattern: str = "Local/{prefix}{number}@{context}"
    dial_prefix: str = "9"  # only when the engine gives no prefix (it gives the campaign's)
    carrier: str = ""
    agent_dial_pattern: str = "SIP/{number}"
    conference_exten: str = "{conference}"
    park_exten: str = "8301"
    park_context: str | None = None  # None: `context`
    dtmf_channel: str = "Local/8500998@{context}"
    dtmf_exten: str = "7{conference}"
    recording_channel: str = "Local/5{conference}@{context}/n"
    recording_dir: str = "/var/spool/asterisk/monitor"
    recording_format: str = "wav"
    mixmonitor_options: str = ""
    max_recording_seconds: int = 14400
    playback_channel: str = "Local/{conference}@{context}/n"
    playback_application: str = "ControlPlayback"  # ControlPlayback: pause / restart work over AMI
    sounds_variable: str = "OPENAGC_SOUNDS"
    inbound_userevent: str = "OpenAGCInbound"
    assign_uniqueids: bool = True  # send ChannelId (Asterisk 12+) with each Originate
    action_timeout: float = 10.0
    ping_interval: int = 10
    reconnect_seconds: int = 2

    @property
    def park_ctx(self) -> str:
        """The park context (`park_context`, defaulting to `context`)."""
        return self.park_context or self.context


@dataclass
class _Call:
    """One thing this adapter originated (or an inbound call announced by the dialplan)."""

    call_id: str
    kind: ChannelKind
    number: str
    conference: str | None
    action_id: str = ""
    uniqueid: str = ""  # the ChannelId we assigned, if any
    primary: str | None = None  # channel name events are reported on
    legs: set[str] = field(default_factory=set)
    answered: bool = False
    ringing: bool = False
    outcome: tuple[EventKind, str] | None = None  # BUSY / NO_ANSWER already reported
    fallback: tuple[EventKind, str] | None = None  # OriginateResponse Failure's guess, used at the Hangup
    done: bool = False
    quiet: bool = False  # DTMF senders: tracked, never reported
    inbound: bool = False
    ingroup: str = ""
    progress: bool = True  # RINGING / ANSWERED / BUSY / NO_ANSWER apply (customers, agent phones)


@dataclass
class _Chan:
    name: str
    uniqueid: str
    call: _Call
    state: ChannelState = ChannelState.RINGING
    conference: str | None = None
    parked: bool = False
    paused: bool = False  # a playback leg paused with ControlPlayback

    def snapshot(self) -> Channel:
        return Channel(name=self.name, uniqueid=self.uniqueid, call_id=self.call.call_id, kind=self.call.kind,
                       state=self.state, number=self.call.number, conference=self.conference,
                       parked=self.parked)


@dataclass
class _Rec:
    filename: str
    path: str
    conference: str
    channel: str
    started_epoch: float
    ended_epoch: float | None = None

    def snapshot(self) -> Recording:
        return Recording(filename=self.filename, path=self.path, conference=self.conference,
                         started_epoch=self.started_epoch, ended_epoch=self.ended_epoch)


class _Manager(Manager):
    """panoramisk's Manager that stops reconnecting once the adapter is closed."""

    closing = False

    def connect(self, run_forever: bool = False, on_startup: Any = None, on_shutdown: Any = None) -> Any:
        if self.closing:
            return None
        return super().connect(run_forever, on_startup, on_shutdown)

    def connection_lost(self, exc: Any) -> None:
        if self.closing:
            self._connected = False
            return
        super().connection_lost(exc)


def _cause_text(code: str, txt: str) -> str:
    if code in _CAUSE_TEXTS:
        return _CAUSE_TEXTS[code]
    if txt:
        return re.sub(r"[^A-Z0-9]+", "_", txt.upper()).strip("_")
    return f"CAUSE_{code}" if code else CAUSE_NORMAL


class AsteriskSwitch:
    """`SwitchPort` over one Asterisk server's AMI. Build it with `connect()`; see the module docstring."""

    def __init__(self, settings: AsteriskSettings, manager: Manager, *, clock: Clock | None = None) -> None:
        self.settings = settings
        self.server_ip = settings.server_ip
        self.clock = clock if clock is not None else Clock()
        self.manager = manager
        self._seq = itertools.count(1)
        self._last_uid = ""
        self._calls_by_action: dict[str, _Call] = {}
        self._calls_by_uid: dict[str, _Call] = {}
        self._calls_by_cid: dict[str, _Call] = {}
        self._chans: dict[str, _Chan] = {}
        self._requested: dict[str, str] = {}  # channel → cause of a hangup we asked for
        self._waiters: dict[str, asyncio.Future[Message]] = {}  # ActionID → OriginateResponse
        self._recs: dict[tuple[str, str], _Rec] = {}
        self._listeners: list[Listener] = []
        self._queue: asyncio.Queue[SwitchEvent] = asyncio.Queue()
        self._dispatcher: asyncio.Task[None] | None = None
        self.table = ChannelTable()  # every live channel, from events (channels() costs no AMI round trip)
        self._version = 0  # channels_version: moved on by every AMI event, a resync and a redirect
        self._resynced = False  # the first login's channel list is read by connect(); later ones by _on_login
        self._resyncs: set[asyncio.Task[None]] = set()
        manager.register_event("*", self._on_ami_event)
        manager.on_login = self._on_login

    # ------------------------------------------------------------------ plumbing

    def _action_id(self) -> str:
        return f"openagc-{next(self._seq)}"

    def _new_uniqueid(self) -> str:
        """An `epoch.micro` uniqueid for ChannelId (unique within this adapter, ≤ 20 chars)."""
        uid = f"{time.time():.6f}"
        while uid <= self._last_uid:
            sec, _, frac = self._last_uid.partition(".")
            n = int(frac) + 1
            uid = f"{int(sec) + n // 1_000_000}.{n % 1_000_000:06d}"
        self._last_uid = uid
        return uid

    def _epoch(self) -> float:
        return self.clock.now().timestamp()

    async def _send(self, action: dict[str, str], *, as_list: bool | None = None) -> Any:
        """Send one action and return its response (a list for event-list actions); raise on failure."""
        protocol = getattr(self.manager, "protocol", None)
        if protocol is None or getattr(protocol, "closed", False):
            raise AsteriskError(f"AMI not connected ({action.get('Action')})")
        action.setdefault("ActionID", self._action_id())
        future = self.manager.send_action(action, as_list=as_list)
        try:
            resp = await asyncio.wait_for(future, self.settings.action_timeout)
        except TimeoutError as exc:
            raise AsteriskError(f"AMI {action['Action']} timed out") from exc
        first = resp[0] if isinstance(resp, list) else resp
        if not first.success:
            raise AsteriskError(f"AMI {action['Action']} failed: {first.message or first.response}")
        return resp

    async def _originate(self, call: _Call, headers: dict[str, str], *, wait: bool) -> Message | None:
        """Send an async Originate for `call`; with `wait`, return its OriginateResponse (Success only)."""
        action_id = self._action_id()
        call.action_id = action_id
        action = {"Action": "Originate", "ActionID": action_id, **headers, "Async": "true"}
        if self.settings.assign_uniqueids:
            call.uniqueid = self._new_uniqueid()
            action["ChannelId"] = call.uniqueid
            self._calls_by_uid[call.uniqueid] = call
        self._calls_by_action[action_id] = call
        if not call.inbound:
            self._calls_by_cid[call.call_id] = call
        waiter: asyncio.Future[Message] | None = None
        if wait:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[action_id] = waiter
        try:
            # as_list=False: resolve on "Originate successfully queued"; OriginateResponse comes as an event.
            await self._send(action, as_list=False)
            if waiter is None:
                return None
            try:
                result = await asyncio.wait_for(waiter, self.settings.action_timeout)
            except TimeoutError as exc:
                raise AsteriskError(f"no OriginateResponse for {headers.get('Channel')}") from exc
            if result.response != "Success":
                raise AsteriskError(f"Originate of {headers.get('Channel')} failed (reason {result.reason})")
            return result
        except BaseException:
            self._forget(call)
            raise
        finally:
            self._waiters.pop(action_id, None)

    def _forget(self, call: _Call) -> None:
        call.done = True
        self._calls_by_action.pop(call.action_id, None)
        self._calls_by_uid.pop(call.uniqueid, None)
        if self._calls_by_cid.get(call.call_id) is call:
            del self._calls_by_cid[call.call_id]

    # ------------------------------------------------------------------ events out

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Receive every SwitchEvent (in order, one at a time); returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, kind: EventKind, chan: _Chan, cause: str = "", data: dict[str, str] | None = None) -> None:
        if chan.call.quiet:
            return
        self._queue.put_nowait(SwitchEvent(kind=kind, channel=chan.snapshot(), cause=cause, data=data or {}))
        if self._dispatcher is None or self._dispatcher.done():
            self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    async def _dispatch(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                for listener in list(self._listeners):
                    try:
                        result = listener(event)
                        if inspect.isawaitable(result):
                            await result
                    except Exception:
                        log.exception("switch listener failed on %s", event.kind.value)
            finally:
                self._queue.task_done()

    async def settle(self) -> None:
        """Wait until every event received so far has been delivered to the listeners."""
        await asyncio.sleep(0)
        await self._queue.join()

    # ------------------------------------------------------------------ events in

    def _on_ami_event(self, _manager: Manager, msg: Message) -> None:
        self._version += 1
        try:
            self.table.apply(msg)
            name = msg.event
            if name == "OriginateResponse":
                self._on_originate_response(msg)
            elif name in ("Newchannel", "Newstate", "NewCallerid", "NewConnectedLine", "DialBegin"):
                chan = self._track(msg)
                if chan is not None and name in ("Newchannel", "Newstate"):
                    self._on_state(chan, msg.channelstate)
            elif name == "DialEnd":
                self._on_dial_end(msg)
            elif name == "Hangup":
                self._on_hangup(msg)
            elif name == "DTMFEnd":
                self._on_dtmf(msg)
            elif name == "UserEvent" and msg.userevent == self.settings.inbound_userevent:
                self._on_inbound(msg)
        except Exception:  # a malformed event must not break the AMI reader
            log.exception("AMI event %r not handled", msg)

    def _track(self, msg: Message, prefix: str = "") -> _Chan | None:
        """The tracked channel an event is about (``prefix`` "Dest" for the dialled side), adopting new legs."""
        name = msg.get(f"{prefix}Channel", "")
        if not name:
            return None
        uid = msg.get(f"{prefix}Uniqueid", "")
        chan = self._chans.get(name)
        if chan is not None:
            return chan
        call = (self._calls_by_uid.get(uid) or self._calls_by_uid.get(uid.removesuffix(";2"))
                or self._calls_by_cid.get(msg.get(f"{prefix}CallerIDName", "")))
        if call is None or call.done:
            return None
        chan = _Chan(name=name, uniqueid=uid, call=call)
        self._chans[name] = chan
        call.legs.add(name)
        if (call.uniqueid and uid == call.uniqueid) or (call.primary is None and not name.endswith(";2")):
            call.primary = name
        return chan

    def _primary(self, call: _Call) -> _Chan | None:
        return self._chans.get(call.primary) if call.primary else None

    def _on_state(self, chan: _Chan, state: str) -> None:
        call = chan.call
        if state == "6":
            chan.state = ChannelState.UP
            if chan.name == call.primary:
                self._answered(call)
        elif state == "5" and call.progress and not call.ringing and not call.answered:
            call.ringing = True
            target = self._primary(call) or chan
            self._emit(EventKind.RINGING, target)

    def _answered(self, call: _Call) -> None:
        chan = self._primary(call)
        if chan is None or call.answered or call.outcome is not None:
            return
        call.answered = True
        chan.state = ChannelState.UP
        if call.conference is not None:
            chan.conference, chan.parked = call.conference, False
        elif call.kind == ChannelKind.CUSTOMER and not call.inbound:
            chan.parked = True  # no conference: answered into the park exten
        if call.progress:
            self._emit(EventKind.ANSWERED, chan)

    def _fail(self, call: _Call, kind: EventKind, cause: str) -> None:
        if call.answered or call.outcome is not None:
            return
        call.outcome = (kind, cause)
        chan = self._primary(call)
        if call.progress and chan is not None:
            self._emit(kind, chan, cause=cause)

    def _on_originate_response(self, msg: Message) -> None:
        action_id = msg.actionid
        waiter = self._waiters.get(action_id)
        if waiter is not None and not waiter.done():
            waiter.set_result(msg)
        call = self._calls_by_action.get(action_id)
        if call is None or call.done:
            return
        if msg.response == "Success":
            name = msg.channel
            if name:
                chan = self._chans.get(name)
                if chan is None:
                    chan = _Chan(name=name, uniqueid=msg.uniqueid, call=call)
                    self._chans[name] = chan
                    call.legs.add(name)
                call.primary = name
            self._answered(call)
            return
        kind, cause = _ORIGINATE_FAILURES.get(msg.reason, (EventKind.NO_ANSWER, CAUSE_NO_ANSWER))
        if call.primary is None:
            # Asterisk never reported a channel for it: report on a stand-in, and end the call here.
            name = msg.channel or f"Originate/{call.call_id}"
            call.primary = name
            stand_in = _Chan(name=name, uniqueid=msg.uniqueid or call.uniqueid, call=call)
            self._chans[name] = stand_in
            self._fail(call, kind, cause)
            self._finish(call, stand_in, self._canonical(call, CAUSE_NORMAL))
            return
        # Asterisk sends this before the DialEnd that says why (Reason 0 for a BUSY far end): the primary's
        # Hangup decides, this reason only when nothing better came.
        call.fallback = (kind, cause)

    def _on_dial_end(self, msg: Message) -> None:
        status = msg.dialstatus
        chan = self._track(msg, "Dest") or self._track(msg)
        if chan is None or status not in _DIAL_FAILURES:
            return
        kind, cause = _DIAL_FAILURES[status]
        self._fail(chan.call, kind, cause)

    def _canonical(self, call: _Call, fallback: str) -> str:
        """The HANGUP cause for a call: the failure's (BUSY / NO ANSWER) if it failed, else `fallback`."""
        if call.outcome is not None:
            return CAUSE_BUSY if call.outcome[0] == EventKind.BUSY else CAUSE_NO_ANSWER
        return fallback

    def _on_hangup(self, msg: Message) -> None:
        requested = self._requested.pop(msg.channel, None)
        chan = self._track(msg)
        if chan is None:
            return
        call = chan.call
        code = msg.cause
        cause = requested or _cause_text(code, msg.get("Cause-txt", ""))
        if chan.name != call.primary and call.primary is not None:
            self._chans.pop(chan.name, None)
            call.legs.discard(chan.name)
            return  # a secondary leg (Local ;2, the far side of a Local dial): the primary reports
        if call.progress and not call.answered and call.outcome is None and requested is None:
            if code in _BUSY_CODES:
                self._fail(call, EventKind.BUSY, _BUSY_CODES[code])
            else:
                self._fail(call, *(call.fallback or (EventKind.NO_ANSWER, CAUSE_NO_ANSWER)))
        if call.kind == ChannelKind.PLAYBACK and requested is None and call.answered:
            self._emit(EventKind.PLAYBACK_FINISHED, chan, data={"sound": call.number})
        if call.kind == ChannelKind.RECORDING:
            for rec in list(self._recs.values()):
                if rec.channel == chan.name:  # the leg went away by itself: the recording ends with it
                    self._end_recording(rec, chan)
        self._finish(call, chan, self._canonical(call, cause))

    def _finish(self, call: _Call, chan: _Chan, cause: str) -> None:
        if call.done:
            return
        chan.state = ChannelState.DOWN
        self._chans.pop(chan.name, None)
        self._emit(EventKind.HANGUP, chan, cause=cause)
        self._forget(call)
        for leg in list(call.legs):
            leg_chan = self._chans.get(leg)
            if leg_chan is not None and leg_chan.call is call:
                del self._chans[leg]

    def _on_dtmf(self, msg: Message) -> None:
        if msg.direction and msg.direction != "Received":
            return
        chan = self._track(msg)
        if chan is None:  # any channel: report it as the switch sees it
            call = _Call(call_id=msg.calleridname, kind=ChannelKind.CUSTOMER, number=msg.calleridnum,
                         conference=None)
            state = ChannelState.UP if msg.channelstate == "6" else ChannelState.RINGING
            chan = _Chan(name=msg.channel, uniqueid=msg.uniqueid, call=call, state=state)
        self._emit(EventKind.DTMF, chan, data={"digits": msg.digit, "direction": "Received"})

    def _on_inbound(self, msg: Message) -> None:
        name = msg.channel
        if not name:
            return
        call_id = msg.get("CallID", "") or msg.calleridname or msg.uniqueid
        call = _Call(call_id=call_id, kind=ChannelKind.CUSTOMER, number=msg.calleridnum, conference=None,
                     inbound=True, ingroup=msg.get("InGroup", ""), primary=name)
        chan = _Chan(name=name, uniqueid=msg.uniqueid, call=call, state=ChannelState.RINGING)
        self._chans[name] = chan
        call.legs.add(name)
        data = {"ingroup": call.ingroup, "number": call.number}
        if msg.get("Transfer") == "1":  # an in-group transfer leg (`990009*GROUP*…`): the exten carries the lead
            data.update(transfer="1", exten=msg.get("TransferExten", ""))
        self._emit(EventKind.INBOUND, chan, data=data)

    # ------------------------------------------------------------------ SwitchPort operations

    async def originate(self, *, number: str, call_id: str, conference: str | None = None,
                        caller_id: str = "", kind: ChannelKind = ChannelKind.CUSTOMER,
                        timeout: float = 30.0, prefix: str | None = None) -> Channel:
        """Originate `number` into `conference` (or the park exten when None); events follow.

        A customer's dial string is `dial_pattern` with `prefix` (`dial_prefix` when None), see `SwitchPort`.

        Returns at once (Async Originate): the Channel's name is the dial string and its uniqueid the
        assigned ChannelId until Asterisk reports the real channel in events.
        """
        s = self.settings
        if kind == ChannelKind.AGENT:
            dial = number if "/" in number else s.agent_dial_pattern.format(
                number=number, prefix="", carrier=s.carrier, context=s.context)
        elif kind == ChannelKind.CUSTOMER:
            dial = s.dial_pattern.format(number=number, prefix=s.dial_prefix if prefix is None else prefix,
                                         carrier=s.carrier, context=s.context)
        else:
            raise ValueError(f"cannot originate a {kind.value} channel (use play_audio / start_recording)")
        if conference is not None:
            context, exten = s.context, s.conference_exten.format(conference=conference, context=s.context)
        else:
            context, exten = s.park_ctx, s.park_exten
        cid = f'"{call_id}" <{caller_id}>' if caller_id else f'"{call_id}" <>'
        call = _Call(call_id=call_id, kind=kind, number=number, conference=conference)
        await self._originate(call, {
            "Channel": dial, "Context": context, "Exten": exten, "Priority": "1", "CallerID": cid,
            "Timeout": str(int(timeout * 1000)),
        }, wait=False)
        return Channel(name=dial, uniqueid=call.uniqueid, call_id=call_id, kind=kind, state=ChannelState.RINGING,
                       number=number, conference=None)

    async def hangup(self, channel: str, cause: str = CAUSE_NORMAL) -> None:
        """Hang up one channel; a channel Asterisk does not know is ignored (like the simulated switch)."""
        action = {"Action": "Hangup", "Channel": channel}
        if cause in _CAUSE_CODES:
            action["Cause"] = _CAUSE_CODES[cause]
        self._requested[channel] = cause
        try:
            await self._send(action)
        except AsteriskError as exc:
            self._requested.pop(channel, None)
            if "no such channel" in str(exc).lower():
                log.debug("hangup of unknown channel %s ignored", channel)
                return
            raise

    async def redirect(self, channel: str, *, conference: str | None = None, park: bool = False,
                       exten: str | None = None, sounds: tuple[str, ...] = ()) -> None:
        """Redirect into `conference` (its exten in `context`), to the park exten (`park`), or to the dialplan
        extension `exten` in `context` (blind transfer, in-group `990009*…`, voicemail / message drop).

        With `sounds`, a ``Setvar`` first puts them (joined by ``|``) into the channel variable named by
        `sounds_variable` for the message exten to play. A waiting inbound call (announced by the dialplan's
        UserEvent) redirected into a conference or the park is reported ANSWERED (data `ingroup`).
        """
        if sum((park, conference is not None, exten is not None)) != 1:
            raise ValueError("give exactly one of conference=, park=True or exten=")
        s = self.settings
        if park:
            context, target = s.park_ctx, s.park_exten
        elif exten is not None:
            context, target = s.context, exten
        else:
            assert conference is not None
            context, target = s.context, s.conference_exten.format(conference=conference, context=s.context)
        if sounds:
            await self._send({"Action": "Setvar", "Channel": channel, "Variable": s.sounds_variable,
                              "Value": "|".join(sounds)})
        await self._send({"Action": "Redirect", "Channel": channel, "Context": context, "Exten": target,
                          "Priority": "1"})
        chan = self._chans.get(channel)
        if chan is None:
            return
        self._version += 1
        if exten is not None:
            chan.conference, chan.parked = None, False
            return
        chan.conference, chan.parked = (None, True) if park else (conference, False)
        call = chan.call
        if call.inbound and not call.answered:
            call.answered = True
            chan.state = ChannelState.UP
            self._emit(EventKind.ANSWERED, chan, data={"ingroup": call.ingroup})

    async def send_dtmf(self, conference: str, digits: str) -> None:
        """Originate `dtmf_channel` into `7<conf>` with the digits as CallerID (upstream's agi-dtmf way).

        Emits DTMF (data `digits`, `conference`) once Asterisk has queued the originate.
        """
        if not digits or not _DTMF_RE.fullmatch(digits):
            raise ValueError(f"invalid DTMF digits: {digits!r}")
        s = self.settings
        dial = s.dtmf_channel.format(context=s.context)
        call = _Call(call_id=digits, kind=ChannelKind.PLAYBACK, number=s.dtmf_exten.format(
            conference=conference, context=s.context), conference=conference, quiet=True, progress=False)
        await self._originate(call, {
            "Channel": dial, "Context": s.context, "Exten": call.number, "Priority": "1", "CallerID": digits,
        }, wait=False)
        sender = _Chan(name=dial, uniqueid=call.uniqueid, call=_Call(
            call_id=digits, kind=ChannelKind.PLAYBACK, number=call.number, conference=conference),
            state=ChannelState.UP, conference=conference)
        self._emit(EventKind.DTMF, sender, data={"digits": digits, "conference": conference})

    async def start_recording(self, conference: str, filename: str) -> Recording:
        """Put a listen-only leg in the conference and MixMonitor it into `recording_dir`.

        Emits RECORDING_STARTED (data `filename`, `path`, `conference`). AsteriskError if already recording
        or if Asterisk refuses.
        """
        key = (conference, filename)
        if key in self._recs:
            raise AsteriskError(f"already recording {filename} in {conference}")
        s = self.settings
        safe = _UNSAFE_FILENAME.sub("_", filename).lstrip(".") or "recording"
        path = f"{s.recording_dir.rstrip('/')}/{safe}.{s.recording_format}"
        call = _Call(call_id=filename, kind=ChannelKind.RECORDING, number=f"5{conference}", conference=conference,
                     progress=False)
        resp = await self._originate(call, {
            "Channel": s.recording_channel.format(conference=conference, context=s.context),
            "Application": "Wait", "Data": str(s.max_recording_seconds),
            "CallerID": f'"{filename[:40]}" <{conference}>',
        }, wait=True)
        assert resp is not None
        name = resp.channel
        action = {"Action": "MixMonitor", "Channel": name, "File": path}
        if s.mixmonitor_options:
            action["Options"] = s.mixmonitor_options
        try:
            await self._send(action)
        except AsteriskError:
            await self.hangup(name)
            raise
        rec = _Rec(filename=filename, path=path, conference=conference, channel=name, started_epoch=self._epoch())
        self._recs[key] = rec
        chan = self._chans.get(name)
        if chan is not None:
            self._emit(EventKind.RECORDING_STARTED, chan,
                       data={"filename": filename, "path": path, "conference": conference})
        return rec.snapshot()

    async def stop_recording(self, conference: str, filename: str) -> Recording:
        """StopMixMonitor, then hang the leg up. Emits RECORDING_STOPPED (data adds `length_seconds`)."""
        rec = self._recs.get((conference, filename)) or self._adopt_recording(conference, filename)
        if rec is None:
            raise RecordingNotFound(f"{filename} in {conference}")
        try:
            await self._send({"Action": "StopMixMonitor", "Channel": rec.channel})
        except AsteriskError:
            log.warning("StopMixMonitor on %s refused; hanging the leg up", rec.channel)
        chan = self._chans.get(rec.channel)
        self._end_recording(rec, chan)
        await self.hangup(rec.channel)
        return rec.snapshot()

    def _adopt_recording(self, conference: str, filename: str) -> _Rec | None:
        """A recording leg of `conference` this adapter did not start (an earlier engine process did): its
        CallerID name is the file name (cut to 40 characters)."""
        for live in self.table:
            match = self._recording_leg.match(live.name)
            if match and match.group("conf") == conference and filename[:40] == live.caller_name[:40]:
                s = self.settings
                path = f"{s.recording_dir.rstrip('/')}/{_UNSAFE_FILENAME.sub('_', filename).lstrip('.')}"
                return _Rec(filename=filename, path=f"{path}.{s.recording_format}", conference=conference,
                            channel=live.name, started_epoch=self._epoch())
        return None

    def _end_recording(self, rec: _Rec, chan: _Chan | None) -> None:
        self._recs.pop((rec.conference, rec.filename), None)
        if rec.ended_epoch is None:
            rec.ended_epoch = max(rec.started_epoch, self._epoch())
        if chan is not None:
            self._emit(EventKind.RECORDING_STOPPED, chan, data={
                "filename": rec.filename, "path": rec.path, "conference": rec.conference,
                "length_seconds": str(rec.snapshot().length_seconds or 0)})

    async def play_audio(self, conference: str, sound: str, call_id: str) -> Channel:
        """Originate `playback_channel` running Playback(`sound`) into the conference; returns the leg.

        When the sound ends the leg hangs up: PLAYBACK_FINISHED (data `sound`) + HANGUP; hung up by
        `hangup()` first, only HANGUP.
        """
        s = self.settings
        call = _Call(call_id=call_id, kind=ChannelKind.PLAYBACK, number=sound, conference=conference,
                     progress=False)
        resp = await self._originate(call, {
            "Channel": s.playback_channel.format(conference=conference, context=s.context),
            "Application": s.playback_application, "Data": sound, "CallerID": f'"{call_id}" <{conference}>',
        }, wait=True)
        assert resp is not None
        chan = self._chans.get(resp.channel)
        if chan is None:
            return Channel(name=resp.channel, uniqueid=resp.uniqueid, call_id=call_id, kind=ChannelKind.PLAYBACK,
                           state=ChannelState.UP, number=sound, conference=conference)
        return chan.snapshot()

    async def control_audio(self, channel: str, action: str) -> None:
        """PAUSE, RESUME, TOGGLE or RESTART a playback leg with AMI ``ControlPlayback``.

        Asterisk's ``pause`` control toggles, so PAUSE / RESUME send it only when the leg is not already in
        that state (as this adapter tracks it). Needs the leg to run the ``ControlPlayback`` application
        (`playback_application`); under plain ``Playback`` Asterisk stops the sound instead.
        """
        if action not in ("PAUSE", "RESUME", "TOGGLE", "RESTART"):
            raise ValueError(f"unknown playback action {action!r}")
        chan = self._chans.get(channel)
        paused = chan is not None and chan.paused
        if (action == "PAUSE" and paused) or (action == "RESUME" and not paused):
            return
        control = "restart" if action == "RESTART" else "pause"
        await self._send({"Action": "ControlPlayback", "Channel": channel, "Control": control})
        if chan is not None:
            chan.paused = False if action == "RESTART" else not paused

    async def channels(self) -> list[Channel]:
        """Every live channel, from the event-kept table (kind and call from this adapter's tracking; a channel
        it did not originate is classified by the dialplan's names: recording leg, player, else customer)."""
        out: list[Channel] = []
        for live in self.table:
            chan = self._chans.get(live.name)
            parked = live.context == self.settings.park_ctx and live.exten == self.settings.park_exten
            if chan is not None:
                snap = chan.snapshot()
                out.append(Channel(name=snap.name, uniqueid=live.uniqueid or snap.uniqueid, call_id=snap.call_id,
                                   kind=snap.kind, state=live.state, number=snap.number,
                                   conference=live.conference or snap.conference, parked=snap.parked or parked))
                continue
            kind, conference = ChannelKind.CUSTOMER, live.conference
            recorded = self._recording_leg.match(live.name)
            if recorded and live.application in ("", "Wait"):
                kind, conference = ChannelKind.RECORDING, recorded.group("conf")
            elif live.application in ("ControlPlayback", "Playback"):
                kind = ChannelKind.PLAYBACK
            out.append(Channel(name=live.name, uniqueid=live.uniqueid, call_id=live.caller_name, kind=kind,
                               state=live.state, number=live.caller_number, conference=conference, parked=parked))
        return out

    def channels_version(self) -> int:
        return self._version

    @functools.cached_property
    def _recording_leg(self) -> re.Pattern[str]:
        """The name of a recording leg (`recording_channel` without its options), with its conference."""
        s = self.settings
        head, _, tail = s.recording_channel.split("/n")[0].partition("{conference}")
        return re.compile(re.escape(head.format(context=s.context)) + r"(?P<conf>\d+)"
                          + re.escape(tail.format(context=s.context)) + r"-[0-9a-f]+;1$")

    async def resync(self, *, announce: bool = True) -> None:
        """Read the channel list anew (``CoreShowChannels``) and forget tracked calls whose channels are gone;
        with `announce`, emit RESYNC so the engine reconciles (after a reconnect: events were missed)."""
        resp = await self._send({"Action": "CoreShowChannels"}, as_list=True)
        self.table.load(resp if isinstance(resp, list) else [resp])
        self._version += 1
        for name, chan in list(self._chans.items()):
            if self.table.get(name) is None and not name.startswith("Originate/"):
                self._chans.pop(name, None)
                chan.call.legs.discard(name)
                if chan.call.primary == name:
                    self._forget(chan.call)
        for key, rec in list(self._recs.items()):
            if self.table.get(rec.channel) is None:
                del self._recs[key]
        self._resynced = True
        if announce:
            self._queue.put_nowait(SwitchEvent(kind=EventKind.RESYNC, channel=NO_CHANNEL,
                                               data={"reason": "reconnected"}))
            if self._dispatcher is None or self._dispatcher.done():
                self._dispatcher = asyncio.get_running_loop().create_task(self._dispatch())

    def _on_login(self, _manager: Manager) -> None:
        """panoramisk logged in again after a reconnect: what happened meanwhile is read off the switch."""
        if not self._resynced:
            return
        task = asyncio.get_running_loop().create_task(self._resync_after_login())
        self._resyncs.add(task)
        task.add_done_callback(self._resyncs.discard)

    async def _resync_after_login(self) -> None:
        try:
            await self.resync()
        except AsteriskError:
            log.warning("channel list after the AMI reconnect could not be read", exc_info=True)

    async def aclose(self) -> None:
        """Deliver pending events, stop reconnecting and close the AMI connection (nothing is hung up)."""
        await self.settle()
        if self._dispatcher is not None:
            self._dispatcher.cancel()
            try:
                await self._dispatcher
            except asyncio.CancelledError:
                pass
            self._dispatcher = None
        if isinstance(self.manager, _Manager):
            self.manager.closing = True
        self.manager.close()


async def connect(settings: AsteriskSettings, *, clock: Clock | None = None) -> AsteriskSwitch:
    """Connect to the AMI, log in (events on) and return the adapter. Raises AsteriskError / OSError."""
    manager = _Manager(
        host=settings.host, port=settings.port, username=settings.username, secret=settings.secret,
        events="on", loop=asyncio.get_running_loop(), ping_delay=settings.ping_interval,
        ping_interval=settings.ping_interval, reconnect_timeout=settings.reconnect_seconds, log=log,
    )
    switch = AsteriskSwitch(settings, manager, clock=clock)
    try:
        await asyncio.wait_for(manager.connect(), settings.action_timeout)
        for _ in range(10):  # connection_made (a done-callback of the connect task) sends the Login
            if manager.authenticated_future is not None or manager.authenticated:
                break
            await asyncio.sleep(0)
        future = manager.authenticated_future
        if future is None and not manager.authenticated:
            raise AsteriskError("AMI login was not sent")
        if future is not None:
            resp = await asyncio.wait_for(asyncio.shield(future), settings.action_timeout)
            if not resp.success:
                raise AsteriskError(f"AMI login failed: {resp.message or resp.response}")
        await switch.resync(announce=False)  # the engine reconciles with this list when it starts
    except BaseException:
        manager.closing = True
        manager.close()
        raise
    return switch
