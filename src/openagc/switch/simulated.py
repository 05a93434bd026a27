"""An in-process simulated PBX implementing `SwitchPort` (pure asyncio, no database, no Asterisk).

What it models, in upstream's terms:

* **Channels** named like Asterisk's: agent phones `SIP/1000-0000000a` (or `Local/8300@default-0000000b;1` for
  on-hook agents), customers `SIP/carrier-0000000c`, players `Local/8600051@default-0000000d;1` (the Asterisk
  adapter's, not upstream's `IAX2/ASTplay-…`), recordings `Local/58600051@default-0000000e;1`; uniqueids
  `"{epoch}.{n}"`. Each originate's dial string (`Local/913125559999@default`) is kept in `originates`.
* **Conferences** (an agent's `conf_exten`) that channels join and leave, and the **park** (on hold): an
  answered call originated without a conference waits there until redirected, as in Asterisk's park exten.
  See docs/architecture.md, "What the simulated switch models from Asterisk".
* **Customers** who answer, talk and hang up on a `CustomerScript` (per number, or a default), drawn from a
  `random.Random(seed)` so a run is repeatable; inbound callers who wait until the engine redirects them into
  a conference or give up after their patience.
* **Recordings** written as real WAV files (8 kHz, mono, 16-bit) whose length is the simulated length.
* A small **dialplan** for `redirect(exten=…)` (blind transfers, in-group transfers, voicemail drops): see
  `SimulatedSwitch.redirect`. Channels bridged by it are *linked*: when one leg hangs up, so does the other.

Time: every delay goes through a `Scheduler`. `VirtualScheduler` (tests, fast simulations) only moves when
`await switch.advance(seconds)` is called, firing due timers in order and advancing the (frozen) `Clock`
with them; `RealTimeScheduler(speed)` (`openagc simulate` / `openagc serve`) runs delays on the event loop,
divided by `speed`.

Events are delivered to subscribers (sync or async callables) one at a time, in the order they happened, by a
dispatcher task; `await switch.settle()` waits until every pending event has been delivered.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import itertools
import logging
import math
import random
import re
import struct
import tempfile
import wave
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from openagc.clock import Clock, fmt_cid
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

#: A duration in seconds: a fixed value, or a `(low, high)` range drawn uniformly from the switch's RNG.
Seconds = float | tuple[float, float]

WAV_RATE = 8000
WAV_SAMPLE_WIDTH = 2
DTMF_TONE_SECONDS = 0.25
DTMF_PAUSE_SECONDS = 1.0  # `,` (the API's Q): one second of silence
_DTMF_RE = re.compile(r"[0-9A-D*#,]+")
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._+-]")

CAUSE_NORMAL = "NORMAL_CLEARING"
CAUSE_BUSY = "BUSY"
CAUSE_NO_ANSWER = "NO ANSWER"


class SwitchError(Exception):
    """An operation the switch refuses (e.g. redirecting an outbound call that has not been answered)."""


class ChannelNotFound(SwitchError, LookupError):
    """No live channel has that name."""


class RecordingNotFound(SwitchError, LookupError):
    """No recording of that conference and filename is running."""


# --------------------------------------------------------------------------------------------- scheduling


class Timer(Protocol):
    """A scheduled callback that can be cancelled."""

    def cancel(self) -> None: ...


class Scheduler(Protocol):
    """Where the simulator's delays come from (virtual time for tests, the event loop for real time)."""

    def now(self) -> float:
        """Simulated seconds since the scheduler started."""

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run `callback` after `delay` simulated seconds."""

    async def advance(self, seconds: float, settle: Callable[[], Awaitable[None]]) -> None:
        """Let `seconds` of simulated time pass; `settle` delivers events after each timer that fires."""


@dataclass(order=True)
class _VirtualTimer:
    due: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class VirtualScheduler:
    """Virtual time: nothing happens until `advance()`; due timers then fire in (due time, creation) order.

    When bound to a `Clock` (the simulator does this), the clock is frozen if it was not, and advanced with
    virtual time, so epochs in uniqueids, recordings and the engine's rows move together.
    """

    def __init__(self, clock: Clock | None = None) -> None:
        self._now = 0.0
        self._heap: list[_VirtualTimer] = []
        self._seq = itertools.count()
        self.clock: Clock | None = None
        if clock is not None:
            self.bind_clock(clock)

    def bind_clock(self, clock: Clock) -> None:
        """Advance `clock` with virtual time (freezing it at its current time if it runs free)."""
        if not clock.frozen:
            clock.freeze(clock.now())
        self.clock = clock

    def now(self) -> float:
        return self._now

    def call_later(self, delay: float, callback: Callable[[], None]) -> _VirtualTimer:
        timer = _VirtualTimer(self._now + max(0.0, delay), next(self._seq), callback)
        heapq.heappush(self._heap, timer)
        return timer

    @property
    def pending(self) -> int:
        """How many timers are waiting (cancelled ones excluded)."""
        return sum(1 for t in self._heap if not t.cancelled)

    def next_due(self) -> float | None:
        """Virtual time of the next live timer, if any."""
        while self._heap and self._heap[0].cancelled:
            heapq.heappop(self._heap)
        return self._heap[0].due if self._heap else None

    async def advance(self, seconds: float, settle: Callable[[], Awaitable[None]]) -> None:
        target = self._now + max(0.0, seconds)
        await settle()
        while True:
            due = self.next_due()
            if due is None or due > target:
                break
            timer = heapq.heappop(self._heap)
            self._move_to(timer.due)
            try:
                timer.callback()
            except Exception:  # a broken timer must not stop time
                log.exception("simulated switch timer failed")
            await settle()
        self._move_to(target)
        await settle()

    def _move_to(self, t: float) -> None:
        delta = t - self._now
        if delta > 0:
            if self.clock is not None:
                self.clock.advance(delta)
            self._now = t


class RealTimeScheduler:
    """Real time on the running event loop, `speed` times faster (speed 10: a 60 s call lasts 6 s)."""

    def __init__(self, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._t0: float | None = None

    def _loop_time(self) -> float:
        t = asyncio.get_running_loop().time()
        if self._t0 is None:
            self._t0 = t
        return t

    def now(self) -> float:
        return (self._loop_time() - self._t0) * self.speed  # type: ignore[operator]

    def call_later(self, delay: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        self._loop_time()
        return asyncio.get_running_loop().call_later(max(0.0, delay) / self.speed, callback)

    async def advance(self, seconds: float, settle: Callable[[], Awaitable[None]]) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.speed)
        await settle()


# --------------------------------------------------------------------------------------------- scripts


@dataclass(frozen=True)
class CustomerScript:
    """How a called (or calling) party behaves.

    Outcome of an outbound call: busy with `busy_probability`, answered with `answer_probability`, otherwise
    no answer (it rings until the originate timeout). Durations are fixed or `(low, high)` ranges.
    `talk_seconds=None` means the customer never hangs up by themselves. `patience_seconds` is how long an
    inbound caller waits in queue before hanging up (`None`: forever).
    """

    answer_probability: float = 0.8
    busy_probability: float = 0.0
    ring_seconds: Seconds = (2.0, 8.0)
    talk_seconds: Seconds | None = (15.0, 120.0)
    busy_after_seconds: float = 1.0
    patience_seconds: Seconds | None = 120.0

    def __post_init__(self) -> None:
        if not (0.0 <= self.answer_probability <= 1.0 and 0.0 <= self.busy_probability <= 1.0):
            raise ValueError("probabilities must be within 0..1")
        if self.answer_probability + self.busy_probability > 1.0 + 1e-9:
            raise ValueError("answer_probability + busy_probability must not exceed 1")

    @classmethod
    def answers(cls, *, ring: Seconds = 2.0, talk: Seconds | None = 30.0,
                patience: Seconds | None = 120.0) -> CustomerScript:
        """Always answers after `ring` seconds and hangs up after `talk` seconds."""
        return cls(answer_probability=1.0, ring_seconds=ring, talk_seconds=talk, patience_seconds=patience)

    @classmethod
    def always_busy(cls, *, after: float = 1.0) -> CustomerScript:
        """Always busy (reported after `after` seconds)."""
        return cls(answer_probability=0.0, busy_probability=1.0, busy_after_seconds=after)

    @classmethod
    def never_answers(cls) -> CustomerScript:
        """Rings until the originate timeout."""
        return cls(answer_probability=0.0, busy_probability=0.0)


def _draw(rng: random.Random, value: Seconds) -> float:
    if isinstance(value, tuple):
        low, high = value
        return rng.uniform(low, high)
    return float(value)


# --------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Originated:
    """One `originate` as Asterisk would receive it: the Originate's `Channel` (the dial string) and where an
    answer lands (`exten`: the conference, or the park exten for a call without one)."""

    call_id: str
    kind: ChannelKind
    dial: str  # e.g. Local/913125559999@default, SIP/1000
    exten: str
    caller_id: str


@dataclass(frozen=True)
class DtmfSent:
    """One `send_dtmf` call as the simulator saw it (`digits` as given, `,` = a pause)."""

    conference: str
    digits: str
    epoch: int
    heard_by: tuple[str, ...] = ()  # the conference's members when it was sent (ConfBridge plays it to each)

    @property
    def tones(self) -> str:
        """The digits without the pauses."""
        return self.digits.replace(",", "")

    @property
    def duration_seconds(self) -> float:
        """How long the sequence takes to play (tones and pauses)."""
        pauses = self.digits.count(",")
        return (len(self.digits) - pauses) * DTMF_TONE_SECONDS + pauses * DTMF_PAUSE_SECONDS


#: The `_Chan` fields `channels()` reports: setting one changes the switch's `channels_version`.
_LISTED_FIELDS = frozenset({"call_id", "kind", "state", "number", "conference", "parked"})


class _Version:
    """The simulated switch's `channels_version`, moved on by its channels themselves (`_Chan.__setattr__`)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0


@dataclass
class _Chan:
    name: str
    uniqueid: str
    call_id: str
    kind: ChannelKind
    state: ChannelState
    number: str = ""
    conference: str | None = None
    parked: bool = False
    inbound: bool = False
    ingroup: str = ""
    talk_seconds: float | None = None
    linked: str | None = None  # the other leg of a bridge (blind transfer, Local pair): ends with this one
    paused: bool = False  # a playback paused by control_audio
    holding: bool = False  # hearing hold music: in the park, or answered and waiting in an in-group
    timers: dict[str, Timer] = field(default_factory=dict)
    version: _Version | None = field(default=None, repr=False, compare=False)  # its switch's; set last

    def __setattr__(self, name: str, value: object) -> None:
        object.__setattr__(self, name, value)
        if name in _LISTED_FIELDS or name == "version":  # a listed field changed, or the channel is new
            version = self.__dict__.get("version")
            if version is not None:
                version.value += 1

    def snapshot(self) -> Channel:
        return Channel(name=self.name, uniqueid=self.uniqueid, call_id=self.call_id, kind=self.kind,
                       state=self.state, number=self.number, conference=self.conference, parked=self.parked)


@dataclass
class _Rec:
    filename: str
    path: Path
    conference: str
    channel: str
    started_epoch: float
    started_at: float  # scheduler time
    ended_epoch: float | None = None

    def snapshot(self) -> Recording:
        return Recording(filename=self.filename, path=str(self.path), conference=self.conference,
                         started_epoch=self.started_epoch, ended_epoch=self.ended_epoch)


def _write_wav(path: Path, seconds: int, tone_hz: float | None) -> None:
    """Write `seconds` of 8 kHz mono 16-bit audio (silence, or a sine tone) to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if tone_hz:
        amplitude = 0.2 * 32767
        block = b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * tone_hz * i / WAV_RATE)))
                         for i in range(WAV_RATE))
    else:
        block = bytes(WAV_RATE * WAV_SAMPLE_WIDTH)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(WAV_SAMPLE_WIDTH)
        w.setframerate(WAV_RATE)
        for _ in range(seconds):
            w.writeframesraw(block)


# --------------------------------------------------------------------------------------------- the switch


class SimulatedSwitch:
    """An in-process PBX implementing `SwitchPort`. See the module docstring for the model.

    Operations must be called from inside the running event loop (real-time mode schedules on it).
    """

    def __init__(
        self,
        *,
        server_ip: str = "127.0.0.1",
        clock: Clock | None = None,
        scheduler: Scheduler | None = None,
        speed: float = 1.0,
        seed: int | None = None,
        scripts: Mapping[str, CustomerScript] | None = None,
        default_script: CustomerScript | None = None,
        agent_ring_seconds: float = 1.0,
        recordings_dir: str | Path | None = None,
        recording_tone_hz: float | None = None,
        playback_seconds: float = 5.0,
        playback_lengths: Mapping[str, float] | None = None,
        carrier: str = "carrier",
        context: str = "default",
        dial_pattern: str = "Local/{prefix}{number}@{context}",
        dial_prefix: str = "9",
        park_exten: str = "8301",
        history: int = 10_000,
    ) -> None:
        self.server_ip = server_ip
        self.clock = clock if clock is not None else Clock()
        self.scheduler: Scheduler = scheduler if scheduler is not None else RealTimeScheduler(speed)
        if isinstance(self.scheduler, VirtualScheduler) and self.scheduler.clock is None:
            self.scheduler.bind_clock(self.clock)
        self.rng = random.Random(seed)
        self.scripts: dict[str, CustomerScript] = dict(scripts or {})
        self.default_script = default_script if default_script is not None else CustomerScript()
        self.agent_ring_seconds = agent_ring_seconds
        self.recordings_dir = Path(recordings_dir) if recordings_dir is not None else (
            Path(tempfile.gettempdir()) / "openagc-recordings")
        self.recording_tone_hz = recording_tone_hz
        self.playback_seconds = playback_seconds
        self.playback_lengths: dict[str, float] = dict(playback_lengths or {})
        self.carrier = carrier
        self.context = context
        self.dial_pattern = dial_pattern  # the Asterisk adapter's default
        self.dial_prefix = dial_prefix  # used when originate() is given no prefix
        self.park_exten = park_exten

        self._chans: dict[str, _Chan] = {}
        self._version = _Version()  # a channel leaves `_chans` only after its state became DOWN: counted too
        self._confs: dict[str, list[str]] = {}
        self._recs: dict[tuple[str, str], _Rec] = {}
        self._finished_recs: deque[Recording] = deque(maxlen=history)
        self._seq = itertools.count(1)
        self._uid = itertools.count(1)
        self._listeners: list[Listener] = []
        self._pending: deque[SwitchEvent] = deque()
        self._history: deque[SwitchEvent] = deque(maxlen=history)
        self._dispatcher: asyncio.Task[None] | None = None
        # What the switch did, newest `history` entries each (a long-running simulation stays bounded).
        self.dtmf_log: deque[DtmfSent] = deque(maxlen=history)
        self.originates: deque[Originated] = deque(maxlen=history)  # as the Originate action would carry it
        self.voicemail_log: deque[tuple[str, str, tuple[str, ...]]] = deque(maxlen=history)  # (channel, exten,
        # sounds) dropped
        self.joins: deque[tuple[str, str]] = deque(maxlen=history)  # (conference, channel), as ConfbridgeJoin
        self.holds: deque[str] = deque(maxlen=history)  # channels put on hold music (MusicOnHoldStart)
        self.controls: deque[tuple[str, str]] = deque(maxlen=history)  # (channel, action) accepted controls

    @classmethod
    def virtual(cls, **kwargs: object) -> SimulatedSwitch:
        """A switch on virtual time (`VirtualScheduler`), for tests and fast simulations."""
        clock = kwargs.pop("clock", None)
        if clock is None:
            clock = Clock()
        elif not isinstance(clock, Clock):
            raise TypeError("clock must be an openagc.clock.Clock")
        return cls(clock=clock, scheduler=VirtualScheduler(clock), **kwargs)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ time

    def now(self) -> float:
        """Simulated seconds since the switch's scheduler started."""
        return self.scheduler.now()

    def epoch(self) -> float:
        """Current Unix time (with fractions) from the clock."""
        return self.clock.now().timestamp()

    async def advance(self, seconds: float) -> None:
        """Let `seconds` of simulated time pass (virtual: fire due timers in order; real: sleep)."""
        await self.scheduler.advance(seconds, self.settle)

    # ------------------------------------------------------------------ scripts

    def set_script(self, number: str, script: CustomerScript) -> None:
        """Use `script` for calls to or from `number` (also numbers ending in it, e.g. with a prefix)."""
        self.scripts[number] = script

    def script_for(self, number: str) -> CustomerScript:
        """The script for `number`: exact key, then the longest key the number ends with, else the default."""
        script = self.scripts.get(number)
        if script is not None:
            return script
        matches = [k for k in self.scripts if k and number.endswith(k)]
        return self.scripts[max(matches, key=len)] if matches else self.default_script

    # ------------------------------------------------------------------ events

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Receive every SwitchEvent (sync or async callable); returns a function that unsubscribes."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    @property
    def events(self) -> list[SwitchEvent]:
        """Every event emitted so far (the last `history` of them), in order."""
        return list(self._history)

    def _emit(self, kind: EventKind, chan: _Chan | Channel, cause: str = "",
              data: dict[str, str] | None = None) -> None:
        channel = chan.snapshot() if isinstance(chan, _Chan) else chan
        event = SwitchEvent(kind=kind, channel=channel, cause=cause, data=dict(data or {}))
        self._history.append(event)
        self._pending.append(event)
        self._kick()

    def _kick(self) -> None:
        if not self._pending or (self._dispatcher is not None and not self._dispatcher.done()):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop yet: delivered once one runs (next operation or settle())
            return
        self._dispatcher = loop.create_task(self._dispatch())

    async def _dispatch(self) -> None:
        while self._pending:
            event = self._pending.popleft()
            for listener in list(self._listeners):
                try:
                    result = listener(event)
                    if inspect.isawaitable(result):
                        await result
                except Exception:
                    log.exception("switch event listener failed on %s", event.kind.value)

    async def settle(self) -> None:
        """Wait until every pending event has been delivered and tasks woken by them have had a turn.

        Called from inside a listener it returns at once (the remaining events follow in order).
        """
        if self._dispatcher is not None and asyncio.current_task() is self._dispatcher:
            return
        for _ in range(1000):
            self._kick()
            task = self._dispatcher
            if task is not None and not task.done():
                await asyncio.wait({task})
            for _ in range(5):
                await asyncio.sleep(0)
            if not self._pending and (self._dispatcher is None or self._dispatcher.done()):
                return

    # ------------------------------------------------------------------ inspection

    async def channels(self) -> list[Channel]:
        """Every live channel, oldest first."""
        return self.list_channels()

    def channels_version(self) -> int:
        return self._version.value

    def list_channels(self) -> list[Channel]:
        """Every live channel, oldest first (synchronous)."""
        return [c.snapshot() for c in self._chans.values()]

    def channel(self, name: str) -> Channel | None:
        """The live channel called `name`, if any."""
        chan = self._chans.get(name)
        return chan.snapshot() if chan is not None else None

    def conference_members(self, conference: str) -> list[Channel]:
        """Channels in `conference`, in joining order."""
        return [self._chans[n].snapshot() for n in self._confs.get(conference, ())]

    def parked(self) -> list[Channel]:
        """Channels on hold in the park."""
        return [c.snapshot() for c in self._chans.values() if c.parked]

    def find_all(self, *, call_id: str | None = None, number: str | None = None,
                 conference: str | None = None, kind: ChannelKind | None = None,
                 uniqueid: str | None = None) -> list[Channel]:
        """Live channels matching every given criterion, oldest first."""
        return [
            c.snapshot() for c in self._chans.values()
            if (call_id is None or c.call_id == call_id)
            and (number is None or c.number == number)
            and (conference is None or c.conference == conference)
            and (kind is None or c.kind == kind)
            and (uniqueid is None or c.uniqueid == uniqueid)
        ]

    def find(self, *, call_id: str | None = None, number: str | None = None, conference: str | None = None,
             kind: ChannelKind | None = None, uniqueid: str | None = None) -> Channel | None:
        """The oldest live channel matching every given criterion, or None."""
        found = self.find_all(call_id=call_id, number=number, conference=conference, kind=kind,
                              uniqueid=uniqueid)
        return found[0] if found else None

    def recordings(self) -> list[Recording]:
        """Finished recordings (oldest first) followed by running ones."""
        return list(self._finished_recs) + [r.snapshot() for r in self._recs.values()]

    # ------------------------------------------------------------------ channel plumbing

    def _new_chan(self, name_base: str, *, local: bool, call_id: str, kind: ChannelKind, state: ChannelState,
                  number: str) -> _Chan:
        seq = next(self._seq)
        name = f"{name_base}-{seq:08x};1" if local else f"{name_base}-{seq:08x}"
        chan = _Chan(name=name, uniqueid=f"{self.clock.epoch()}.{next(self._uid)}", call_id=call_id,
                     kind=kind, state=state, number=number, version=self._version)
        self._chans[name] = chan
        return chan

    def _set_timer(self, chan: _Chan, key: str, delay: float, callback: Callable[[], None]) -> None:
        old = chan.timers.pop(key, None)
        if old is not None:
            old.cancel()
        chan.timers[key] = self.scheduler.call_later(delay, callback)

    def _cancel_timer(self, chan: _Chan, key: str) -> None:
        timer = chan.timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _join(self, chan: _Chan, conference: str) -> None:
        self._leave(chan)
        chan.conference = conference
        chan.parked = chan.holding = False
        self._confs.setdefault(conference, []).append(chan.name)
        self.joins.append((conference, chan.name))

    def _hold(self, chan: _Chan) -> None:
        """The channel hears hold music (Asterisk's MusicOnHold in the park or the in-group's queue)."""
        self._leave(chan)
        chan.holding = True
        self.holds.append(chan.name)

    def on_hold(self, name: str) -> bool:
        """Whether the live channel `name` hears hold music now."""
        chan = self._live(name)
        return chan is not None and chan.holding

    def _leave(self, chan: _Chan) -> None:
        if chan.conference is not None:
            members = self._confs.get(chan.conference)
            if members is not None and chan.name in members:
                members.remove(chan.name)
                if not members:
                    del self._confs[chan.conference]
            chan.conference = None

    def _live(self, name: str) -> _Chan | None:
        chan = self._chans.get(name)
        return chan if chan is not None and chan.state != ChannelState.DOWN else None

    def _end(self, chan: _Chan, cause: str, data: dict[str, str] | None = None) -> None:
        """Tear a channel down and emit HANGUP."""
        for timer in chan.timers.values():
            timer.cancel()
        chan.timers.clear()
        self._leave(chan)  # a parked channel keeps parked=True in its HANGUP event (customer hung up on hold)
        chan.state = ChannelState.DOWN
        self._chans.pop(chan.name, None)
        self._emit(EventKind.HANGUP, chan, cause=cause, data=data)
        other = self._live(chan.linked) if chan.linked else None
        if other is not None:
            other.linked = None
            self._end(other, CAUSE_NORMAL)

    def _start_talk(self, chan: _Chan) -> None:
        if chan.talk_seconds is not None:
            name = chan.name
            self._set_timer(chan, "talk", chan.talk_seconds, lambda: self._remote_hangup(name))

    # ------------------------------------------------------------------ timer callbacks

    def _answer(self, name: str, conference: str | None, *, park: bool = False) -> None:
        chan = self._live(name)
        if chan is None or chan.state != ChannelState.RINGING:
            return
        chan.timers.pop("ring", None)
        chan.state = ChannelState.UP
        if conference is not None:
            self._join(chan, conference)
        elif park:  # answered into the park exten: on hold until the engine redirects it (nobody bridges it)
            chan.parked = True
            self._hold(chan)
        self._emit(EventKind.ANSWERED, chan)
        self._start_talk(chan)

    def _busy(self, name: str) -> None:
        chan = self._live(name)
        if chan is None:
            return
        chan.timers.pop("ring", None)
        self._emit(EventKind.BUSY, chan, cause=CAUSE_BUSY)
        self._end(chan, CAUSE_BUSY)

    def _no_answer(self, name: str) -> None:
        chan = self._live(name)
        if chan is None:
            return
        chan.timers.pop("ring", None)
        self._emit(EventKind.NO_ANSWER, chan, cause=CAUSE_NO_ANSWER)
        self._end(chan, CAUSE_NO_ANSWER)

    def _remote_hangup(self, name: str) -> None:
        chan = self._live(name)
        if chan is not None:
            chan.timers.pop("talk", None)
            self._end(chan, CAUSE_NORMAL)

    def _abandon(self, name: str) -> None:
        chan = self._live(name)
        if chan is not None and chan.state == ChannelState.RINGING:
            chan.timers.pop("patience", None)
            self._end(chan, CAUSE_NORMAL, {"ingroup": chan.ingroup, "abandoned": "1"})

    def _playback_done(self, name: str, sound: str) -> None:
        chan = self._live(name)
        if chan is None:
            return
        chan.timers.pop("playback", None)
        self._emit(EventKind.PLAYBACK_FINISHED, chan, data={"sound": sound})
        self._end(chan, CAUSE_NORMAL)

    # ------------------------------------------------------------------ SwitchPort operations

    async def originate(self, *, number: str, call_id: str, conference: str | None = None,
                        caller_id: str = "", kind: ChannelKind = ChannelKind.CUSTOMER,
                        timeout: float = 30.0, prefix: str | None = None) -> Channel:
        """Dial `number` (an agent phone for kind AGENT, else a customer; see `SwitchPort.originate`); joins
        `conference` on answer, or without one waits parked (on hold in the park exten) until redirected.

        The dial string, `dial_pattern` with `prefix` (`dial_prefix` when None) for a customer, is recorded in
        `originates`. Emits RINGING now, then ANSWERED, or BUSY + HANGUP(BUSY), or NO_ANSWER + HANGUP(NO
        ANSWER) at `timeout`. An answered customer hangs up (HANGUP, NORMAL_CLEARING) after the script's
        talk time.
        """
        if kind == ChannelKind.CUSTOMER:
            dial = self.dial_pattern.format(prefix=self.dial_prefix if prefix is None else prefix, number=number,
                                            carrier=self.carrier, context=self.context)
        else:
            dial = number if "/" in number else f"SIP/{number}"
        if kind in (ChannelKind.AGENT, ChannelKind.CUSTOMER):
            self.originates.append(Originated(call_id=call_id, kind=kind, dial=dial, caller_id=caller_id,
                                              exten=conference if conference is not None else self.park_exten))
        if kind == ChannelKind.AGENT:
            base, local = dial, dial.startswith("Local/")
            chan = self._new_chan(base, local=local, call_id=call_id, kind=kind, state=ChannelState.RINGING,
                                  number=number)
            ring: float | None = self.agent_ring_seconds
            outcome = "answer"
        elif kind == ChannelKind.CUSTOMER and number.startswith(("90009*", "990009*")):
            return self._consult_leg(number, call_id, conference)
        elif kind == ChannelKind.CUSTOMER:
            script = self.script_for(number)
            r = self.rng.random()
            ring = _draw(self.rng, script.ring_seconds)
            talk = _draw(self.rng, script.talk_seconds) if script.talk_seconds is not None else None
            if r < script.busy_probability:
                outcome, ring = "busy", script.busy_after_seconds
            elif r < script.busy_probability + script.answer_probability:
                outcome = "answer"
            else:
                outcome, ring = "no_answer", None
            chan = self._new_chan(f"SIP/{self.carrier}", local=False, call_id=call_id, kind=kind,
                                  state=ChannelState.RINGING, number=number)
            chan.talk_seconds = talk
        else:
            raise ValueError(f"cannot originate a {kind.value} channel (use play_audio / start_recording)")

        name = chan.name
        self._emit(EventKind.RINGING, chan, data={"caller_id": caller_id} if caller_id else None)
        if outcome == "busy" and ring is not None and ring < timeout:
            self._set_timer(chan, "ring", ring, lambda: self._busy(name))
        elif outcome == "answer" and ring is not None and ring < timeout:
            park = kind == ChannelKind.CUSTOMER
            self._set_timer(chan, "ring", ring, lambda: self._answer(name, conference, park=park))
        else:
            self._set_timer(chan, "ring", timeout, lambda: self._no_answer(name))
        return chan.snapshot()

    def _consult_leg(self, exten: str, call_id: str, conference: str | None) -> Channel:
        """A dial into an in-group (consultative transfer): a Local pair. `;1` is in `conference` at once;
        `;2` waits in the in-group (INBOUND, data `exten`, `transfer=1`) like a caller, linked to `;1`."""
        seq = next(self._seq)
        base = f"Local/{exten}@{self.context}-{seq:08x}"
        one = _Chan(name=f"{base};1", uniqueid=f"{self.clock.epoch()}.{next(self._uid)}", call_id=call_id,
                    kind=ChannelKind.CUSTOMER, state=ChannelState.UP, number=exten, version=self._version)
        two = _Chan(name=f"{base};2", uniqueid=f"{self.clock.epoch()}.{next(self._uid)}", call_id=call_id,
                    kind=ChannelKind.CUSTOMER, state=ChannelState.RINGING, number=exten, inbound=True,
                    version=self._version)
        fields = exten.split("*")
        two.ingroup = fields[1] if len(fields) > 1 else ""
        one.linked, two.linked = two.name, one.name
        self._chans[one.name], self._chans[two.name] = one, two
        if conference is not None:
            self._join(one, conference)
        self._hold(two)
        self._emit(EventKind.ANSWERED, one)
        self._emit(EventKind.INBOUND, two, data={"ingroup": two.ingroup, "number": exten, "exten": exten,
                                                 "transfer": "1"})
        return one.snapshot()

    def inject_inbound(self, number: str, ingroup: str, *, talk_seconds: float | None = None,
                       patience_seconds: float | None = None, call_id: str | None = None) -> Channel:
        """A customer calling from `number` into `ingroup`: emits INBOUND (data `ingroup`, `number`).

        The channel waits RINGING until `redirect`ed into a conference (then it is UP there, ANSWERED is
        emitted and its talk time starts) or hangs up (HANGUP, data `abandoned=1`) after its patience.
        `talk_seconds` / `patience_seconds` override the number's script. `call_id` defaults to `Y` + the
        MMDDhhmmss tail + a counter (20 characters).
        """
        script = self.script_for(number)
        talk: float | None
        if talk_seconds is not None:
            talk = talk_seconds
        else:
            talk = _draw(self.rng, script.talk_seconds) if script.talk_seconds is not None else None
        if patience_seconds is not None:
            patience: float | None = patience_seconds
        else:
            patience = (_draw(self.rng, script.patience_seconds)
                        if script.patience_seconds is not None else None)
        if call_id is None:
            call_id = f"Y{fmt_cid(self.clock.now())[-9:]}{next(self._uid):010d}"
        chan = self._new_chan(f"SIP/{self.carrier}", local=False, call_id=call_id, kind=ChannelKind.CUSTOMER,
                              state=ChannelState.RINGING, number=number)
        chan.inbound, chan.ingroup, chan.talk_seconds = True, ingroup, talk
        self._hold(chan)
        self._emit(EventKind.INBOUND, chan, data={"ingroup": ingroup, "number": number})
        if patience is not None:
            name = chan.name
            self._set_timer(chan, "patience", patience, lambda: self._abandon(name))
        return chan.snapshot()

    def restart(self) -> None:
        """The PBX restarts (Asterisk's `core restart now`, or a crash): every channel and recording is gone
        without a single HANGUP, as an AMI client that was disconnected sees it; then RESYNC (the client has
        logged in again and the channel list is the truth)."""
        for chan in list(self._chans.values()):
            for timer in chan.timers.values():
                timer.cancel()
        self._chans.clear()
        self._version.value += 1  # gone without a state change of their own
        self._confs.clear()
        self._recs.clear()
        self._emit(EventKind.RESYNC, NO_CHANNEL, data={"reason": "restart"})

    async def hangup(self, channel: str, cause: str = CAUSE_NORMAL) -> None:
        """Hang up one channel (HANGUP with `cause`). Unknown or already gone channels are ignored.

        Hanging up a recording channel stops its recording (WAV written, RECORDING_STOPPED, then HANGUP).
        Nothing else happens to the conference: the agent's phone stays in it.
        """
        chan = self._live(channel)
        if chan is None:
            log.debug("hangup of unknown channel %s ignored", channel)
            return
        if chan.kind == ChannelKind.RECORDING:
            for rec in list(self._recs.values()):
                if rec.channel == channel:
                    await self._finish_recording(rec, cause)
                    return
        self._end(chan, cause)

    async def redirect(self, channel: str, *, conference: str | None = None, park: bool = False,
                       exten: str | None = None, sounds: tuple[str, ...] = ()) -> None:
        """Move a channel: into `conference`, into the park (`park`), or to a dialplan extension (`exten`).

        A waiting inbound call redirected is answered (ANSWERED, data `ingroup`; its talk time starts).
        The simulated dialplan for `exten`:

        * `90009*GROUP*…` / `990009*GROUP*…` (in-group transfer): the channel leaves its conference and
          waits in GROUP again: INBOUND (data `ingroup`, `number`, `exten`, `transfer=1`);
        * an extension containing `*` otherwise, or given `sounds` (voicemail / message drop): the sounds
          play to the caller (`voicemail_log`), then the channel hangs up (`playback_seconds` per sound);
        * anything else is a number (blind transfer): a new customer leg dials it (call_id `XB…`) and is
          bridged (linked) with the channel, which leaves the conference.

        Raises ChannelNotFound for an unknown channel, SwitchError for an unanswered outbound call.
        """
        if sum((park, conference is not None, exten is not None)) != 1:
            raise ValueError("give exactly one of conference=, park=True or exten=")
        chan = self._live(channel)
        if chan is None:
            raise ChannelNotFound(channel)
        answering = False
        to_ingroup = exten is not None and exten.startswith(("90009*", "990009*"))
        if chan.state == ChannelState.RINGING:
            if not chan.inbound:
                raise SwitchError(f"channel {channel} is not answered")
            if not to_ingroup:
                self._cancel_timer(chan, "patience")
                chan.state = ChannelState.UP
                answering = True
        self._unbridge(chan)
        if exten is not None:
            self._dialplan(chan, exten, sounds)
            if answering:
                self._emit(EventKind.ANSWERED, chan, data={"ingroup": chan.ingroup})
            return
        if park:
            self._hold(chan)
            chan.parked = True
        else:
            assert conference is not None
            self._join(chan, conference)
        if answering:
            self._emit(EventKind.ANSWERED, chan, data={"ingroup": chan.ingroup})
            self._start_talk(chan)

    def _unbridge(self, chan: _Chan) -> None:
        """A channel moved elsewhere leaves its bridge: the other leg hangs up (a Local pair stays joined)."""
        if chan.name.startswith("Local/"):
            return
        other = self._live(chan.linked) if chan.linked else None
        chan.linked = None
        if other is not None:
            other.linked = None
            self._end(other, CAUSE_NORMAL)

    def _dialplan(self, chan: _Chan, exten: str, sounds: tuple[str, ...]) -> None:
        self._leave(chan)
        chan.parked = chan.holding = False
        if exten.startswith(("90009*", "990009*")):
            fields = exten.split("*")
            chan.ingroup = fields[1] if len(fields) > 1 else ""
            self._hold(chan)
            self._cancel_timer(chan, "talk")
            self._emit(EventKind.INBOUND, chan, data={"ingroup": chan.ingroup, "number": chan.number,
                                                      "exten": exten, "transfer": "1"})
            return
        if sounds or "*" in exten or not exten.strip("#*").isdigit():
            self.voicemail_log.append((chan.name, exten, tuple(sounds)))
            self._cancel_timer(chan, "talk")
            name = chan.name
            length = sum(self.playback_lengths.get(s, self.playback_seconds) for s in sounds) or 1.0
            self._set_timer(chan, "talk", length, lambda: self._remote_hangup(name))
            return
        leg = self._new_chan(f"SIP/{self.carrier}", local=False, call_id=f"XB{next(self._uid):018d}"[:20],
                             kind=ChannelKind.CUSTOMER, state=ChannelState.RINGING, number=exten)
        script = self.script_for(exten)
        leg.talk_seconds = _draw(self.rng, script.talk_seconds) if script.talk_seconds is not None else None
        chan.linked, leg.linked = leg.name, chan.name
        name = leg.name
        self._emit(EventKind.RINGING, leg, data={"bridged_to": chan.name})
        self._set_timer(leg, "ring", _draw(self.rng, script.ring_seconds), lambda: self._answer(name, None))

    async def control_audio(self, channel: str, action: str) -> None:
        """PAUSE / RESUME (a toggle upstream) / RESTART a playback channel. ChannelNotFound if it is gone."""
        chan = self._live(channel)
        if chan is None or chan.kind != ChannelKind.PLAYBACK:
            raise ChannelNotFound(channel)
        sound = chan.number
        length = self.playback_lengths.get(sound, self.playback_seconds)
        name, given = chan.name, action
        if action == "TOGGLE":
            action = "RESUME" if chan.paused else "PAUSE"
        if action == "PAUSE":
            chan.paused = True
            self._cancel_timer(chan, "playback")
        elif action in ("RESUME", "RESTART"):
            chan.paused = False
            self._set_timer(chan, "playback", length, lambda: self._playback_done(name, sound))
        else:
            raise ValueError(f"unknown playback action {action!r}")
        self.controls.append((channel, given))

    async def send_dtmf(self, conference: str, digits: str) -> None:
        """Record DTMF sent into `conference` in `dtmf_log` and emit DTMF (data `digits`, `conference`).

        Digits are 0-9, A-D, `*`, `#`; `,` is a pause. The event's channel is a transient
        `Local/7<conf>@<context>-…;1` sender (upstream's DTMF originate), not listed among live channels.
        """
        if not digits or not _DTMF_RE.fullmatch(digits):
            raise ValueError(f"invalid DTMF digits: {digits!r}")
        self.dtmf_log.append(DtmfSent(conference=conference, digits=digits, epoch=self.clock.epoch(),
                                      heard_by=tuple(self._confs.get(conference, ()))))
        seq = next(self._seq)
        sender = Channel(name=f"Local/7{conference}@{self.context}-{seq:08x};1",
                         uniqueid=f"{self.clock.epoch()}.{next(self._uid)}", call_id=digits,
                         kind=ChannelKind.PLAYBACK, state=ChannelState.UP, number=f"7{conference}",
                         conference=conference)
        self._emit(EventKind.DTMF, sender, data={"digits": digits, "conference": conference})

    async def start_recording(self, conference: str, filename: str) -> Recording:
        """Start recording `conference` into `<recordings_dir>/<filename>.wav`.

        Adds a RECORDING channel `Local/5<conf>@<context>-…;1` (call_id = filename) to the conference and
        emits RECORDING_STARTED (data `filename`, `path`, `conference`). SwitchError if already recording.
        """
        key = (conference, filename)
        if key in self._recs:
            raise SwitchError(f"already recording {filename} in {conference}")
        safe = _UNSAFE_FILENAME.sub("_", filename).lstrip(".") or "recording"
        chan = self._new_chan(f"Local/5{conference}@{self.context}", local=True, call_id=filename,
                              kind=ChannelKind.RECORDING, state=ChannelState.UP, number=f"5{conference}")
        self._join(chan, conference)
        rec = _Rec(filename=filename, path=self.recordings_dir / f"{safe}.wav", conference=conference,
                   channel=chan.name, started_epoch=self.epoch(), started_at=self.scheduler.now())
        self._recs[key] = rec
        self._emit(EventKind.RECORDING_STARTED, chan,
                   data={"filename": filename, "path": str(rec.path), "conference": conference})
        return rec.snapshot()

    async def stop_recording(self, conference: str, filename: str) -> Recording:
        """Stop a recording: writes the WAV (its length = the simulated length), emits RECORDING_STOPPED (data
        `filename`, `path`, `conference`, `length_seconds`) and HANGUP of the recording channel.

        Raises RecordingNotFound when no such recording runs.
        """
        rec = self._recs.get((conference, filename))
        if rec is None:
            raise RecordingNotFound(f"{filename} in {conference}")
        return await self._finish_recording(rec, CAUSE_NORMAL)

    async def _finish_recording(self, rec: _Rec, cause: str) -> Recording:
        self._recs.pop((rec.conference, rec.filename), None)
        rec.ended_epoch = rec.started_epoch + max(0.0, self.scheduler.now() - rec.started_at)
        final = rec.snapshot()
        length = final.length_seconds or 0
        # The channel leaves the conference at once; the file is written off the loop, then events go out.
        chan = self._chans.get(rec.channel)
        if chan is not None:
            for timer in chan.timers.values():
                timer.cancel()
            chan.timers.clear()
            self._leave(chan)
            chan.state = ChannelState.DOWN
            self._chans.pop(chan.name, None)
        await asyncio.to_thread(_write_wav, rec.path, length, self.recording_tone_hz)
        self._finished_recs.append(final)
        if chan is not None:
            self._emit(EventKind.RECORDING_STOPPED, chan,
                       data={"filename": rec.filename, "path": str(rec.path), "conference": rec.conference,
                             "length_seconds": str(length)})
            self._emit(EventKind.HANGUP, chan, cause=cause)
        return final

    async def play_audio(self, conference: str, sound: str, call_id: str) -> Channel:
        """Play `sound` into `conference`: a PLAYBACK channel `Local/<conf>@<context>-…;1` (UP, in the conference;
        the Asterisk adapter's player, not upstream's `IAX2/ASTplay-…`) that ends after
        `playback_lengths[sound]` (default `playback_seconds`) with PLAYBACK_FINISHED (data `sound`) + HANGUP.

        Hanging it up earlier emits only HANGUP.
        """
        chan = self._new_chan(f"Local/{conference}@{self.context}", local=True, call_id=call_id,
                              kind=ChannelKind.PLAYBACK, state=ChannelState.UP, number=sound)
        self._join(chan, conference)
        name = chan.name
        length = self.playback_lengths.get(sound, self.playback_seconds)
        self._set_timer(chan, "playback", length, lambda: self._playback_done(name, sound))
        return chan.snapshot()

    async def aclose(self) -> None:
        """Stop: finish running recordings (files written), cancel every timer, deliver pending events.

        Live channels stay listed (nothing is hung up).
        """
        for rec in list(self._recs.values()):
            await self._finish_recording(rec, CAUSE_NORMAL)
        for chan in self._chans.values():
            for timer in chan.timers.values():
                timer.cancel()
            chan.timers.clear()
        await self.settle()
