"""`openagc simulate`: a whole demo centre — agents, inbound callers, the engine — on the simulated switch.

Agents are logged in through the engine and then driven the way an integrator drives them: through the
command columns (`external_hangup`, `external_status`), after a talk time drawn from a seeded RNG. Callers
(`engine/callers.py`, the same model as the demo centre of `openagc serve`) arrive in the demo in-groups at the
requested rate. Time runs `speed` times faster than the wall clock, for the switch and for the rows alike
(`ScaledClock`), so the agent-log seconds are simulated seconds. What the engine logs goes to a file
(`log_to_file`), which also counts the switch operations the switch refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from openagc.bus import AGENT_COMMAND
from openagc.clock import ScaledClock
from openagc.config import Settings
from openagc.engine import context, runtime, session, topics
from openagc.engine.callers import DEMO_INGROUPS, Callers, Tally
from openagc.store.database import Database
from openagc.store.schema import (
    phones,
    vicidial_agent_log,
    vicidial_inbound_group_agents,
    vicidial_live_agents,
    vicidial_users,
)
from openagc.switch.simulated import SwitchError

DISPOSITIONS = ("SALE", "NI", "NP", "CALLBK", "DNC")


@dataclass
class Stats:
    """The live table's numbers: the callers' tally, the agents' phases, dispositions, refused switch operations."""

    calls: Tally = field(default_factory=Tally)
    dispositions: Counter[str] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)
    switch_errors: int = 0
    other_errors: int = 0


class ErrorCount(logging.Handler):
    """Counts ERROR records: switch operations the switch refused (a `SwitchError` such as `ChannelNotFound`,
    e.g. a caller who hung up while being handed to an agent) and anything else."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.switch = 0
        self.other = 0

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, SwitchError):
            self.switch += 1
        else:
            self.other += 1


@contextlib.contextmanager
def log_to_file(path: Path) -> Iterator[ErrorCount]:
    """For the run: every log record goes to `path` (none to the terminal, where the live table is), and ERRORs
    are counted. The root logger is as it was afterwards."""
    root = logging.getLogger()
    path.parent.mkdir(parents=True, exist_ok=True)
    file_handler = logging.FileHandler(path, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    counter = ErrorCount()
    saved_handlers, saved_level = root.handlers[:], root.level
    root.handlers = [file_handler, counter]
    root.setLevel(logging.INFO)
    try:
        yield counter
    finally:
        root.handlers, root.level = saved_handlers, saved_level
        file_handler.close()


async def ensure_agents(db: Database, count: int) -> list[str]:
    """Demo agents 1000, 1001, then 2000… (users, phones, in-group memberships) as needed."""
    users = ["1000", "1001"] + [str(2000 + i) for i in range(max(0, count - 2))]
    users = users[:count]
    async with db.begin() as conn:
        for user in users:
            if (
                await conn.execute(sa.select(vicidial_users.c.user).where(vicidial_users.c.user == user))
            ).first():
                continue
            await conn.execute(
                sa.insert(vicidial_users).values(
                    user=user,
                    **{"pass": "1234"},
                    full_name=f"Sim Agent {user}",
                    user_level=1,
                    user_group="AGENTS",
                    phone_login=user,
                    phone_pass="test",
                    active="Y",
                    agentcall_manual="1",
                    closer_campaigns=" TEST_IN SALESLINE -",
                    vdc_agent_api_access="1",
                )
            )
            await conn.execute(
                sa.insert(phones).values(
                    extension=user,
                    dialplan_number=user,
                    voicemail_id=user,
                    server_ip="10.10.10.15",
                    login=user,
                    **{"pass": "test"},
                    status="ACTIVE",
                    active="Y",
                    phone_type="SIP",
                    fullname=f"Phone {user}",
                    protocol="SIP",
                    ext_context="default",
                    outbound_cid="7275551000",
                )
            )
            for group in ("TEST_IN", "SALESLINE"):
                await conn.execute(
                    sa.insert(vicidial_inbound_group_agents).values(
                        user=user,
                        group_id=group,
                        group_rank=0,
                        group_weight=0,
                        calls_today=0,
                        group_grade=1,
                        group_type="C",
                        calls_today_filtered=0,
                        daily_limit=-1,
                    )
                )
    return users


class Centre:
    """The running simulation: engine, switch, callers and agent bots.

    Agents talk `talk` and wrap up `wrap` simulated seconds (uniform ranges); callers wait `patience` seconds in
    queue before they abandon and never hang up on an agent (the agent ends each call).
    """

    def __init__(
        self,
        database: str,
        *,
        agents: int,
        calls_per_minute: float,
        speed: float,
        seed: int,
        talk: tuple[float, float] = (20.0, 90.0),
        wrap: tuple[float, float] = (2.0, 10.0),
        patience: float = 180.0,
        recordings_dir: Path | None = None,
        errors: ErrorCount | None = None,
    ) -> None:
        from openagc.services import Services  # composition: the same services object the server uses
        from openagc.switch.simulated import CustomerScript, SimulatedSwitch

        self.services = Services(
            settings=Settings(database=database, sweep_seconds=0.2), db=Database(database), clock=ScaledClock(speed)
        )
        self.switch = SimulatedSwitch(
            server_ip="10.10.10.15",
            clock=self.services.clock,
            speed=speed,
            seed=seed,
            default_script=CustomerScript.answers(ring=1.0, talk=None, patience=patience),
            recordings_dir=recordings_dir,
        )
        self.services.extra["switch"] = self.switch
        self.agents, self.speed = agents, speed
        self.callers = Callers(self.switch, calls_per_minute=calls_per_minute, seed=seed, ingroups=DEMO_INGROUPS)
        self.rng = random.Random(seed)
        self.talk, self.wrap = talk, wrap
        self.errors = errors
        self.stats = Stats(calls=self.callers.tally)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._busy: set[str] = set()

    async def start(self) -> None:
        users = await ensure_agents(self.services.db, self.agents)
        self._stop = await runtime.start(self.services)
        self.engine: runtime.Engine = self.services.extra["engine"]
        for user in users:
            req = session.LoginRequest(
                user=user,
                password="1234",
                phone_login=user,
                phone_pass="test",
                campaign_id="TESTCAMP",
                ingroups=list(DEMO_INGROUPS),
                blended=False,
            )
            try:
                await self.engine.login(req)
            except session.LoginError as exc:
                if exc.status != 409:
                    raise
                # already logged in (a --database of an earlier run): the session is rebuilt from the database
            await self.write(user, external_pause=f"RESUME!{self.engine.moment().epoch}")
        self.services.bus.subscribe(topics.STATE_EVENT, self._on_event)
        self.callers.start()

    async def stop(self) -> None:
        self.callers.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stop()
        await self.switch.aclose()
        await self.services.db.dispose()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def write(self, user: str, **columns: Any) -> None:
        """What an integrator does: write command columns, then announce them on the bus."""
        async with self.services.db.begin() as conn:
            await conn.execute(
                sa.update(vicidial_live_agents).where(vicidial_live_agents.c.user == user).values(**columns)
            )
        self.services.bus.publish(AGENT_COMMAND, user)

    async def sleep(self, simulated_seconds: float) -> None:
        await asyncio.sleep(simulated_seconds / self.speed)

    def _on_event(self, _topic: str, message: Any) -> None:
        user, event = message
        if event.get("event") == "call" and user not in self._busy:
            self._busy.add(user)
            self._spawn(self._handle(user))

    async def _handle(self, user: str) -> None:
        try:
            await self.sleep(self.rng.uniform(*self.talk))
            await self.write(user, external_hangup="1")
            await self.sleep(self.rng.uniform(*self.wrap))
            status = self.rng.choice(DISPOSITIONS)
            await self.write(user, external_status=status)
            self.stats.dispositions[status] += 1
        finally:
            self._busy.discard(user)

    def elapsed(self) -> float:
        """Simulated seconds since the switch started."""
        return self.switch.now()

    async def snapshot(self) -> Stats:
        async with self.services.db.connect() as conn:
            rows = await conn.execute(
                sa.select(vicidial_live_agents.c.status, vicidial_live_agents.c.lead_id)
            )
            self.stats.phases = Counter(context.phase_of({"status": s, "lead_id": lead}) for s, lead in rows)
        if self.errors is not None:
            self.stats.switch_errors, self.stats.other_errors = self.errors.switch, self.errors.other
        return self.stats

    async def totals(self) -> dict[str, int]:
        """Agent-log seconds summed over the run (what a report would show), in simulated seconds."""
        A = vicidial_agent_log.c
        async with self.services.db.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(
                        sa.func.sum(A.pause_sec),
                        sa.func.sum(A.wait_sec),
                        sa.func.sum(A.talk_sec),
                        sa.func.sum(A.dispo_sec),
                    )
                )
            ).first()
        return dict(zip(("pause", "wait", "talk", "dispo"), (int(v or 0) for v in row), strict=True))
