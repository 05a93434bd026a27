"""`openagc simulate`: a whole demo centre — agents, inbound callers, the engine — on the simulated switch.

Agents are logged in through the engine and then driven the way an integrator drives them: through the
command columns (`external_hangup`, `external_status`), after a talk time drawn from a seeded RNG. Callers
arrive in the demo in-groups at the requested rate. Time runs `speed` times faster than the wall clock.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from openagc.bus import AGENT_COMMAND
from openagc.config import Settings
from openagc.engine import runtime, session
from openagc.store.database import Database
from openagc.store.schema import (
    phones,
    vicidial_agent_log,
    vicidial_auto_calls,
    vicidial_inbound_group_agents,
    vicidial_live_agents,
    vicidial_users,
)

DISPOSITIONS = ("SALE", "NI", "NP", "CALLBK", "DNC")


@dataclass
class Stats:
    calls_offered: int = 0
    calls_handled: int = 0
    dispositions: Counter[str] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)
    waiting: int = 0


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
    """The running simulation: engine, switch, caller generator and agent bots."""

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
    ) -> None:
        from openagc.api.app import Services  # composition: the same services object the server uses
        from openagc.switch.simulated import CustomerScript, SimulatedSwitch

        self.services = Services(
            settings=Settings(database=database, sweep_seconds=0.2), db=Database(database)
        )
        self.switch = SimulatedSwitch(
            server_ip="10.10.10.15",
            clock=self.services.clock,
            speed=speed,
            seed=seed,
            default_script=CustomerScript.answers(ring=1.0, talk=None, patience=180),
        )
        self.services.extra["switch"] = self.switch
        self.agents, self.rate, self.speed = agents, calls_per_minute, speed
        self.rng = random.Random(seed)
        self.talk, self.wrap = talk, wrap
        self.stats = Stats()
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
                ingroups=["TEST_IN", "SALESLINE"],
                blended=False,
            )
            try:
                await self.engine.login(req)
            except session.LoginError:
                pass  # already logged in from an earlier run: the session is rebuilt from the database
            await self.write(user, external_pause=f"RESUME!{self.engine.moment().epoch}")
        self.services.bus.subscribe(runtime.STATE_EVENT, self._on_event)
        self._spawn(self._callers())

    async def stop(self) -> None:
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

    async def _callers(self) -> None:
        while True:
            await self.sleep(self.rng.expovariate(self.rate / 60.0))
            number = f"312555{self.rng.randrange(10000):04d}"
            self.switch.inject_inbound(number, self.rng.choice(("TEST_IN", "SALESLINE")))
            self.stats.calls_offered += 1

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
            self.stats.calls_handled += 1
            self.stats.dispositions[status] += 1
        finally:
            self._busy.discard(user)

    async def snapshot(self) -> Stats:
        async with self.services.db.connect() as conn:
            rows = await conn.execute(
                sa.select(vicidial_live_agents.c.status, vicidial_live_agents.c.lead_id)
            )
            self.stats.phases = Counter(session.phase_of({"status": s, "lead_id": lead}) for s, lead in rows)
            self.stats.waiting = (
                await conn.execute(
                    sa.select(sa.func.count())
                    .select_from(vicidial_auto_calls)
                    .where(vicidial_auto_calls.c.status == "LIVE")
                )
            ).scalar() or 0
        return self.stats

    async def totals(self) -> dict[str, int]:
        """Agent-log seconds summed over the run (what a report would show)."""
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
