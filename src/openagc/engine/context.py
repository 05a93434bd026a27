"""A transition in flight (`Ctx`) and what it needs from the engine that runs it (`Host`).

The bottom of the engine's layers: the session's state machine, the call operations and the command handlers
all act through a `Ctx`, and reach the engine only through `Host`, which `runtime.Engine` implements. Nothing
here imports a module above it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.engine import logs, states
from openagc.engine.logs import Moment
from openagc.engine.states import Event
from openagc.services import Services
from openagc.store import command_records, executor
from openagc.store.schema import vicidial_list, vicidial_live_agents, vicidial_users
from openagc.switch.port import SwitchPort

VLA = vicidial_live_agents.c


class Host(Protocol):
    """What a transition needs from the engine: its services, the switch, per-process memory, switch actions,
    and the call operations that run at the session's transitions (wired in by the runtime)."""

    services: Services
    switch: SwitchPort
    server_ip: str
    phones: sa.Table
    alt_dial: dict[str, str]  # call id → the number dialled (MAIN, ALT, ADDR3)
    timers: dict[str, Any]  # user → its call timer (`commands.Timer`)
    command_validity: dict[str, int]

    def moment(self) -> Moment: ...

    async def campaign(self, conn: AsyncConnection, campaign_id: str, *, fresh: bool = False) -> Mapping[str, Any]: ...

    async def campaign_allowed(self, conn: AsyncConnection, user_group: str, campaign_id: str) -> bool: ...

    async def password_ok(self, conn: AsyncConnection, password: str, user: sa.RowMapping) -> bool: ...

    async def transact(self, user: str, action: Callable[[Ctx], Awaitable[Any]]) -> Any: ...

    async def originate(
        self, *, number: str, call_id: str, conference: str | None, caller_id: str, timeout: float, prefix: str
    ) -> None: ...

    async def hangup_call(self, channel: str, call_id: str) -> None: ...

    async def redirect(self, channel: str, conference: str) -> None: ...

    async def call_agent_phone(self, extension: str, call_id: str, conference: str, caller_id: str = "") -> None: ...

    async def hangup_agent_phone(self, conference: str, extension: str = "") -> None: ...

    def phoneless(self) -> set[str]: ...

    def publish_event(self, user: str, event: dict[str, Any]) -> None: ...

    async def talk_started(self, ctx: Ctx) -> None:
        """The customer and the agent are talking (the campaign's recording starts)."""

    async def call_ended(self, ctx: Ctx) -> None:
        """The agent's call ended (its recordings stop)."""

    async def call_over(self, ctx: Ctx) -> None:
        """The call was dispositioned (its transfer legs are done)."""


@dataclass(frozen=True, eq=False)
class Guard:
    """A condition on the agent's row built once, as a module constant (`Ctx.enter(event, GUARD, ...)`): a write
    guarded only by such conditions takes the executor (one statement built per combination)."""

    clause: sa.ColumnElement[bool]


def phase_of(vla: dict[str, Any]) -> str:
    """PAUSED, READY, CLOSER, QUEUE, INCALL, or DISPO (PAUSED with a lead still on screen)."""
    if vla["status"] == "PAUSED" and int(vla["lead_id"] or 0) > 0:
        return "DISPO"
    return vla["status"]


@dataclass
class Ctx:
    """One transition in flight: the transaction, the instant, the agent's row and what to do after commit."""

    engine: Host
    conn: AsyncConnection
    at: Moment
    vla: dict[str, Any]
    campaign: Mapping[str, Any]  # read-only: shared by the transactions of its time to live
    user_group: str
    ops: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    # What this transition did with each command column: (value, final state, reason), written to the records
    # before the commit (`command_outcomes.flush`); the records ended, published after it.
    outcomes: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    finished: list[dict[str, Any]] = field(default_factory=list)
    loaded: dict[str, Any] = field(default_factory=dict)  # the command columns as the transition found them
    # The agent's queued command records as `commands.process` read them in this transaction (adopted and expired
    # ones accounted for); None when not read. Nothing else in a transition opens or ends a record before `flush`.
    queue: list[dict[str, Any]] | None = None
    # What each record of that queue superseded, read with it (for the events of its outcome).
    superseded: dict[int, list[dict[str, Any]]] | None = None
    journal: Any = None  # integrators' events of this transition (engine/events.py)

    @property
    def user(self) -> str:
        return self.vla["user"]

    @property
    def conf(self) -> str:
        return str(self.vla["conf_exten"] or "")

    @property
    def server_ip(self) -> str:
        return self.vla["server_ip"]

    @property
    def campaign_id(self) -> str:
        return self.vla["campaign_id"] or ""

    @property
    def phase(self) -> str:
        return phase_of(self.vla)

    async def set(self, *where: Any, **values: Any) -> bool:
        """Update the agent's row (optionally guarded by `where`); True when a row changed. A change of phase
        belongs in `enter`: here it is reported as undeclared."""
        return await self._write(None, where, values)

    async def enter(self, event: Event, *where: Any, **values: Any) -> bool:
        """A transition of the state machine: `set`, with the move checked against `states.TRANSITIONS`."""
        return await self._write(event, where, values)

    def moved(self, event: Event, source: str, target: str) -> None:
        """A transition made by inserting or deleting the agent's row (login, logout)."""
        states.check(self.user, source, event, target)

    async def _write(self, event: Event | None, where: tuple[Any, ...], values: dict[str, Any],
                     guard: tuple[str, Any] | None = None) -> bool:
        """Write `values` to the agent's row if `where` holds and the column `guard[0]` still holds `guard[1]`;
        plain values with `Guard`s and a guard take the executor (one built statement per guarded column and set of
        `Guard`s), the rest SQLAlchemy."""
        source = self.phase
        built = all(isinstance(w, Guard) for w in where)
        if not built or (guard and guard[1] is None) or any(isinstance(v, sa.ClauseElement) for v in values.values()):
            clauses = tuple(w.clause if isinstance(w, Guard) else w for w in where)
            guards = (*clauses, VLA[guard[0]] == guard[1]) if guard else clauses
            result = await self.conn.execute(
                sa.update(vicidial_live_agents).where(VLA.user == self.user, *guards).values(**values)
            )
            changed = result.rowcount
        else:
            params = {**values, "where_user": self.user} | ({"where_seen": guard[1]} if guard else {})
            statement = _agent_update(guard[0] if guard else None, where)
            changed = (await executor.execute(self.conn, statement, params)).rowcount
        if changed:
            self.vla.update(values)
            if self.phase != source:
                states.check(self.user, source, event, self.phase)
        return bool(changed)

    async def claim(self, column: str, seen: Any, cleared: Any = "") -> bool:
        """Compare-and-clear a command column: True only for the one process that cleared `seen`.

        A claimed command is `applied` unless the handler then calls `ignored`; a claim that only rewrites a
        command into its deferred form (LOGOUT → LOGOUT!DISPO) is no outcome.
        """
        took = await self._write(None, (), {column: cleared}, guard=(column, seen))
        command = command_records.command_value(column, seen)
        if took and command is not None and command_records.command_value(column, cleared) != command:
            self.outcomes[column] = (command, command_records.APPLIED, "")
        return took

    def applied(self, column: str, value: Any) -> None:
        """The command in `column` took effect (for a handler that clears its column without `claim`)."""
        self.outcomes[column] = (str(value), command_records.APPLIED, "")

    def ignored(self, column: str, value: Any, reason: str, **data: Any) -> None:
        """The claimed command in `column` was refused: `reason` in words goes to its record and the agent."""
        self.emit("command_ignored", command=column, value=value, reason=reason, **data)
        self.outcomes[column] = (str(value), command_records.REJECTED, reason)

    async def refuse(self, column: str, value: Any, reason: str, cleared: Any = "") -> bool:
        """Claim a command the agent's state does not allow and reject it (never left lying in its column)."""
        if not await self.claim(column, value, cleared):
            return False
        self.ignored(column, value, reason)
        return True

    def emit(self, kind: str, **data: Any) -> None:
        self.events.append({"event": kind, **data})

    def switch(self, op: Callable[[], Awaitable[Any]]) -> None:
        """Queue a switch operation to run after the commit."""
        self.ops.append(op)

    async def lead(self, lead_id: int) -> dict[str, Any] | None:
        row = (
            (await self.conn.execute(sa.select(vicidial_list).where(vicidial_list.c.lead_id == lead_id)))
            .mappings()
            .first()
        )
        return dict(row) if row else None

    async def new_cycle(self, sub_status: str | None = None) -> int:
        """Open a new agent-log row and point the agent at it."""
        new_id = await logs.val_open(
            self.conn,
            self.at,
            user=self.user,
            server_ip=self.server_ip,
            campaign_id=self.campaign_id,
            user_group=self.user_group,
            sub_status=sub_status,
        )
        await self.set(agent_log_id=new_id)
        return new_id


@functools.cache
def _agent_update(guarded: str | None, guards: tuple[Guard, ...] = ()) -> sa.Update:
    """The executor's write of an agent's row, by user; when `guarded` names a column, only while that column still
    holds the value seen; and only where every one of `guards` holds (module constants: the cache stays as small
    as the code's combinations)."""
    statement = sa.update(vicidial_live_agents).where(VLA.user == sa.bindparam("where_user"),
                                                      *(g.clause for g in guards))
    return statement if guarded is None else statement.where(VLA[guarded] == sa.bindparam("where_seen"))


_GROUP = "openagc_user_group"  # the agent's user group, read with its row (not a column of the row)
#: The agent's row with its user's group in one statement. The lock is the row's: a locking read does not lock what
#: a subquery reads.
_AGENT_FOR_UPDATE = sa.select(
    vicidial_live_agents,
    sa.select(vicidial_users.c.user_group).where(vicidial_users.c.user == VLA.user).limit(1).scalar_subquery()
    .label(_GROUP),
).where(VLA.user == sa.bindparam("user")).limit(1).with_for_update()


async def load(engine: Host, conn: AsyncConnection, user: str, at: Moment) -> Ctx | None:
    """The agent's context, row-locked on MariaDB (SQLite transactions are already exclusive)."""
    row = await executor.fetch_one(conn, _AGENT_FOR_UPDATE, {"user": user})
    if row is None:
        return None
    group = row.pop(_GROUP) or ""
    campaign = await engine.campaign(conn, row["campaign_id"] or "")
    return Ctx(engine=engine, conn=conn, at=at, vla=row, campaign=campaign, user_group=group,
               loaded={column: row[column] for column in command_records.FAMILIES if column in row})
