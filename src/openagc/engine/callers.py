"""Simulated callers: customers who ring the demo in-groups, and what became of each of their calls.

One caller model for `openagc simulate` and for the demo centre inside `openagc serve` (`engine/demo_centre.py`).
Arrivals are scheduled on the simulated switch's own scheduler, so they follow its time (real time, `speed` times
faster, or virtual time in tests) and are drawn from a seeded RNG. Each call's fate is read off the switch's events:
waiting in its in-group, talking (an agent took it), handled (it ended after an agent took it) or abandoned (it
ended before any agent did: the caller's patience ran out, or the call was dropped). The four always add up to the
calls offered.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from openagc.switch.port import Channel, EventKind, SwitchEvent
from openagc.switch.simulated import CustomerScript, SimulatedSwitch, Timer

#: The demo data's in-groups (store/demo.py).
DEMO_INGROUPS = ("TEST_IN", "SALESLINE")
#: The demo centre's rate when none is given: one caller about every 25 s.
DEMO_CALLS_PER_MINUTE = 2.4
#: The demo centre's customers, called or calling: most answer after a few seconds (some are busy, some never
#: answer and ring until the campaign's dial timeout), talk for 20–90 s, and a caller in a queue waits 45–120 s
#: before giving up.
DEMO_CUSTOMERS = CustomerScript(
    answer_probability=0.8,
    busy_probability=0.1,
    ring_seconds=(2.0, 6.0),
    talk_seconds=(20.0, 90.0),
    patience_seconds=(45.0, 120.0),
)

WAITING, TALKING = "waiting", "talking"


@dataclass
class Tally:
    """What became of the calls offered so far; `waiting + talking + handled + abandoned == offered`."""

    offered: int = 0
    waiting: int = 0
    talking: int = 0
    handled: int = 0
    abandoned: int = 0

    def adds_up(self) -> bool:
        return self.offered == self.waiting + self.talking + self.handled + self.abandoned


class Callers:
    """Callers arriving at `calls_per_minute` into `ingroups` of a simulated switch, and the tally of their calls.

    `steady=False` draws Poisson arrivals (exponential gaps: what a centre sees); `steady=True` spreads them evenly
    within ±20 % of the mean gap (a demo where a caller is never long in coming).
    """

    def __init__(
        self,
        switch: SimulatedSwitch,
        *,
        calls_per_minute: float,
        seed: int | None = None,
        ingroups: Sequence[str] = DEMO_INGROUPS,
        steady: bool = False,
    ) -> None:
        if calls_per_minute <= 0:
            raise ValueError("calls_per_minute must be positive")
        if not ingroups:
            raise ValueError("callers need at least one in-group")
        self.switch = switch
        self.rate = calls_per_minute
        self.ingroups = tuple(ingroups)
        self.steady = steady
        self.rng = random.Random(seed)
        self.tally = Tally()
        self._calls: dict[str, str] = {}  # the caller's channel name → WAITING or TALKING
        self._timer: Timer | None = None
        self._unsubscribe = None

    @property
    def running(self) -> bool:
        return self._timer is not None

    def start(self) -> None:
        """Follow the switch's events and schedule the first arrival."""
        if self._unsubscribe is None:
            self._unsubscribe = self.switch.subscribe(self.on_event)
        self._schedule()

    def stop(self) -> None:
        """No more arrivals (calls in progress carry on and are still tallied until `close`)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def close(self) -> None:
        self.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def gap(self) -> float:
        """Seconds (switch time) until the next caller."""
        mean = 60.0 / self.rate
        return self.rng.uniform(0.8 * mean, 1.2 * mean) if self.steady else self.rng.expovariate(1.0 / mean)

    def _schedule(self) -> None:
        self._timer = self.switch.scheduler.call_later(self.gap(), self._arrive)

    def _arrive(self) -> None:
        self.offer()
        self._schedule()

    def offer(self, number: str | None = None, ingroup: str | None = None) -> Channel:
        """One caller now: from `number` (a random 312-555 number) into `ingroup` (a random one of `ingroups`)."""
        number = number or f"312555{self.rng.randrange(10000):04d}"
        ingroup = ingroup or self.rng.choice(self.ingroups)
        channel = self.switch.inject_inbound(number, ingroup)
        self._calls[channel.name] = WAITING
        self.tally.offered += 1
        self.tally.waiting += 1
        return channel

    def on_event(self, event: SwitchEvent) -> None:
        """Move a caller's call along: answered by an agent, re-queued by a transfer, ended."""
        name = event.channel.name
        state = self._calls.get(name)
        if state is None:
            return
        t = self.tally
        if event.kind == EventKind.ANSWERED and state == WAITING:
            self._calls[name] = TALKING
            t.waiting, t.talking = t.waiting - 1, t.talking + 1
        elif event.kind == EventKind.INBOUND and state == TALKING:  # transferred into an in-group: waits again
            self._calls[name] = WAITING
            t.waiting, t.talking = t.waiting + 1, t.talking - 1
        elif event.kind == EventKind.HANGUP:
            del self._calls[name]
            if state == WAITING:
                t.waiting, t.abandoned = t.waiting - 1, t.abandoned + 1
            else:
                t.talking, t.handled = t.talking - 1, t.handled + 1


def demo_rate(flag: bool | None, env: str | None, *, embedded: bool, simulated: bool, engine: bool) -> float:
    """Demo callers a minute for `openagc serve`: `--demo-callers/--no-demo-callers` (`flag`), else
    `OPENAGC_DEMO_CALLERS` (`env`, calls a minute, 0 = off), else on only for the embedded demo database on the
    simulated switch with the engine on. Raises ValueError for a rate that is not a number ≥ 0, or callers asked
    for where there is no simulated switch."""
    rate: float | None = None
    if env is not None and env.strip():
        try:
            rate = float(env)
        except ValueError:
            raise ValueError(f"OPENAGC_DEMO_CALLERS={env!r} is not a number of calls a minute") from None
        if not rate >= 0 or rate == float("inf"):
            raise ValueError(f"OPENAGC_DEMO_CALLERS={env!r} must be 0 (off) or a positive number of calls a minute")
    if flag is False:
        return 0.0
    if flag is True:
        rate = rate or DEMO_CALLS_PER_MINUTE
    elif rate is None:
        rate = DEMO_CALLS_PER_MINUTE if embedded and simulated and engine else 0.0
    if rate and not (simulated and engine):
        raise ValueError("demo callers need the engine on the simulated switch (--switch simulated, --engine on)")
    return rate
