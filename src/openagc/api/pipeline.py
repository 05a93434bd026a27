"""The shared steps every Agent API function runs, and the declaration a function handler makes.

A handler declares what it needs with `@api_function(...)`; the pipeline runs upstream's order —
validity (A), permission (B), alt_user (C), logged in (D) — so no handler repeats those checks:

    @api_function("external_hangup", valid=lambda c: len(c.p.value) >= 1 and c.identifies_agent())
    async def external_hangup(call: Call) -> Line:
        await call.update_agent(external_hangup=call.p.value[:1])
        return success("external_hangup function set", call.p.value, call.p.agent_user)
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.api.params import Params
from openagc.api.reply import Line, error
from openagc.clock import fmt_cid, fmt_datetime, fmt_entry
from openagc.config import Settings
from openagc.credentials import ApiUser, caller_row, select_user_with_source, source_of
from openagc.store import command_records, executor
from openagc.store.group_commit import ReadAhead
from openagc.store.schema import vicidial_live_agents, vicidial_manager, vicidial_users

VLA = vicidial_live_agents.c

Handler = Callable[["Call"], Awaitable[Line | None]]
CallCheck = Callable[["Call"], bool]
CallLine = Callable[["Call"], Line]


@functools.cache
def select_agent(columns: tuple[str, ...] | None = None) -> sa.Select:
    """The first `vicidial_live_agents` row of `:user`: the named columns, or all (built once per set, so the
    executor compiles it once)."""
    return sa.select(*_agent_columns(columns)).where(VLA.user == sa.bindparam("user")).limit(1)


def _agent_columns(columns: tuple[str, ...] | None) -> list[sa.Column[Any]]:
    """The named columns of `vicidial_live_agents`, or all."""
    return list(vicidial_live_agents.c) if columns is None else [vicidial_live_agents.c[name] for name in columns]


AHEAD = "agent__"  # the label prefix of the agent's columns read beside the caller's row


@functools.cache
def select_user_and_agent(columns: tuple[str, ...] | None = None) -> sa.Select:
    """`credentials.select_user_with_source` and beside it the first `vicidial_live_agents` row of `:agent_user`
    (the named columns, or all, labelled `AHEAD` + name; its id tells whether there is one): one statement where
    three would do (built once per set of columns)."""
    agent = [VLA.live_agent_id.label(AHEAD), *(c.label(AHEAD + c.name) for c in _agent_columns(columns))]
    return (select_user_with_source().outerjoin(vicidial_live_agents, VLA.user == sa.bindparam("agent_user"))
            .add_columns(*agent))


def caller_read(p: Params, client_ip: str) -> tuple[sa.Select, dict[str, Any], bool] | None:
    """The read `read_caller` makes for `p`: (statement, parameters, whether it reads the agent's row too), or None
    when there is no caller to read."""
    if not p.user:
        return None
    spec = REGISTRY.get(p.function)
    if (spec is None or not spec.logged_in or not p.agent_user
            or (spec.alt_user and len(p.alt_user.encode()) >= 2)):
        return select_user_with_source(), {"user": p.user, "source": source_of(client_ip)}, False
    return (select_user_and_agent(spec.agent_columns),
            {"user": p.user, "source": source_of(client_ip), "agent_user": p.agent_user}, True)


def read_ahead(p: Params, client_ip: str) -> ReadAhead | None:
    """`read_caller`'s read for `p` as a `ReadAhead` its batch may make (None: no caller to read). Confined: of
    `vicidial_users`, `openagc_login_failures` and `vicidial_live_agents`, the function writes only agent_user's
    rows (FunctionSpec.confined; `version` none) and, through the credential check, which notes it, the caller's;
    and no alt_user can name another agent."""
    read = caller_read(p, client_ip)
    if read is None:
        return None
    statement, params, with_agent = read
    spec = REGISTRY.get(p.function)
    confined = p.function == "version" or (spec is not None and spec.confined and with_agent)
    agent = p.agent_user.lower()  # MariaDB compares users without case: owners that differ only so are one
    return ReadAhead(statement, params, reads=frozenset({p.user.lower(), agent}),
                     writes=frozenset({agent}) if with_agent else frozenset(), confined=confined)


async def read_caller(conn: AsyncConnection, p: Params, client_ip: str, ahead: ReadAhead | None = None
                      ) -> tuple[Mapping[str, Any] | None, tuple[str, Mapping[str, Any] | None] | None]:
    """The caller's `vicidial_users` row (`credentials.load_user`'s, with `client_ip`) and, when the function will
    look up `agent_user`'s row at step D (and no alt_user will replace it), that row too, read in the same
    statement: (caller, (agent_user, row) or None). With `ahead`, the row its batch read ahead, if it did."""
    read = caller_read(p, client_ip)
    if read is None:
        return None, None
    statement, params, with_agent = read
    row = (await ahead.take(conn, statement, params) if ahead is not None
           else await executor.fetch_one(conn, statement, params))
    if row is None:
        return None, None
    if not with_agent:
        return caller_row(row), None
    agent = (None if row[AHEAD] is None
             else {k[len(AHEAD):]: v for k, v in row.items() if k.startswith(AHEAD) and k != AHEAD})
    caller = caller_row({k: v for k, v in row.items() if not k.startswith(AHEAD)})
    return caller, (p.agent_user, agent)


class Stop(Exception):
    """Raised by a shared step or handler to end the function after `line` (already emitted)."""


@dataclass
class Call:
    """One Agent API request in flight: its parameters, caller, clock and database transaction."""

    function: str
    p: Params
    db: AsyncConnection
    system: dict[str, Any]
    api_user: ApiUser
    now: datetime
    epoch: int
    settings: Settings
    services: Any = None  # the app's shared objects (clock, bus, remote clients …)
    agent: Mapping[str, Any] | None = None  # the agent's vicidial_live_agents row, once looked up
    agent_ahead: tuple[str, Mapping[str, Any] | None] | None = None  # (agent_user, its row) read with the caller's
    lines: list[Line] = field(default_factory=list)
    woken: set[str] = field(default_factory=set)
    log_identity: Callable[[Call], tuple[str, str]] | None = None
    sent_names: frozenset[str] = frozenset()  # every parameter name the request carried (GET and POST)
    client_ip: str = ""  # the caller's address (REMOTE_ADDR)
    commands: list[int] = field(default_factory=list)  # ids of the command records this call wrote
    unrecorded: list[tuple[str, dict[str, Any], datetime]] = field(default_factory=list)  # writes awaiting records

    # --- time formats upstream prints -------------------------------------------------------------
    @property
    def now_time(self) -> str:
        return fmt_datetime(self.now)

    @property
    def entry_date(self) -> str:
        return fmt_entry(self.now)

    @property
    def cid_date(self) -> str:
        return fmt_cid(self.now)

    # --- lines --------------------------------------------------------------------------------------
    def emit(self, line: Line) -> Line:
        """Print `line` now; its log row records `value` and `agent_user` as they stand at this moment."""
        agent_user, value = (self.log_identity or _default_identity)(self)
        stamped = replace(line, log_value=value, log_agent_user=agent_user)
        self.lines.append(stamped)
        return stamped

    def stop(self, line: Line) -> Stop:
        """Emit `line` and return the exception that ends the function: `raise call.stop(line)`."""
        self.emit(line)
        return Stop()

    # --- shared checks ---------------------------------------------------------------------------
    def identifies_agent(self, agent_min: int = 1, alt_min: int = 2) -> bool:
        """Upstream's "agent_user ≥ n or alt_user ≥ m characters" rule."""
        return len(self.p.agent_user.encode()) >= agent_min or len(self.p.alt_user.encode()) >= alt_min

    async def resolve_alt_user(self, key: str, *, miss: CallLine | None = None) -> bool:
        """Replace agent_user with the first user whose `custom_three` equals `key`.

        On a miss, print upstream's `no user found` line and end the function (upstream carried on
        with the caller's agent_user and could act on another agent: spec hazard, DECISIONS §2).
        """
        U = vicidial_users.c
        found = await self.db.execute(sa.select(U.user).where(U.custom_three == key).order_by(U.user).limit(1))
        user = found.scalar()
        if user is None:
            raise self.stop(miss(self) if miss else error("no user found", key))
        self.p.agent_user = user
        return True

    async def live_agent(
        self, user: str | None = None, columns: tuple[str, ...] | None = None
    ) -> Mapping[str, Any] | None:
        """The first `vicidial_live_agents` row of `user` (default: agent_user): the named columns, or all."""
        who = self.p.agent_user if user is None else user
        return await executor.fetch_one(self.db, select_agent(columns), {"user": who})

    # --- writes -------------------------------------------------------------------------------------
    async def update_agent(self, user: str | None = None, **values: Any) -> int:
        """Write command columns on every live row of `user` (default: agent_user) and wake its session after the
        commit; each command's record is opened by `record_commands`, in the same transaction."""
        who = self.p.agent_user if user is None else user
        at = self.services.clock.now() if self.services is not None else self.now
        changed = await command_records.write_columns(self.db, user=who, values=values)
        if changed:
            self.unrecorded.append((who, values, at))
        self.woken.add(who)
        return changed

    async def record_commands(self, api_log_id: int | None) -> None:
        """Open the records of the commands written (`store.command_records`), linked to the request's last log
        row: written after it, so the link needs no statement of its own."""
        for who, values, at in self.unrecorded:
            self.commands.extend(await command_records.open_records(
                self.db, user=who, values=values, function=self.function, source="api", at=at, api_log_id=api_log_id))
        self.unrecorded.clear()

    def command_rows(self) -> list[dict[str, Any]]:
        """The records of the commands written, as rows for a `store.write_tail.Tail` (which writes them with the
        request's log rows and puts their ids in `commands`)."""
        rows = [row for who, values, at in self.unrecorded for row in command_records.record_rows(
            user=who, values=values, function=self.function, source="api", at=at)]
        self.unrecorded.clear()
        return rows

    async def insert_manager(self, **values: Any) -> int:
        """Queue one switch action in `vicidial_manager` (upstream's AMI command table)."""
        row = {
            "uniqueid": "",
            "entry_date": self.now,
            "status": "NEW",
            "response": "N",
            "channel": "",
        } | values
        result = await self.db.execute(sa.insert(vicidial_manager).values(**row))
        return int(result.inserted_primary_key[0])

    async def scalar(self, statement: sa.Executable) -> Any:
        return (await self.db.execute(statement)).scalar()

    async def first(self, statement: sa.Executable) -> sa.RowMapping | None:
        return (await self.db.execute(statement)).mappings().first()

    async def all(self, statement: sa.Executable) -> list[sa.RowMapping]:
        return list((await self.db.execute(statement)).mappings().all())


def _default_identity(call: Call) -> tuple[str, str]:
    return call.p.agent_user, call.p.value


def not_valid(call: Call) -> Line:
    """The common step-A failure: `ERROR: {function} not valid - {value}|{agent_user}`."""
    return error(f"{call.function} not valid", call.p.value, call.p.agent_user)


def not_logged_in(call: Call) -> Line:
    return error("agent_user is not logged in", call.p.agent_user)


def permission_subject(call: Call) -> tuple[str, ...]:
    return (call.p.value,)


@dataclass(frozen=True)
class FunctionSpec:
    """What a function needs from the shared steps."""

    name: str
    handler: Handler
    valid: CallCheck | None = None  # step A
    invalid: CallLine = not_valid
    denied_subject: Callable[[Call], tuple[str, ...]] = permission_subject  # leading fields of step B's line
    alt_user: bool = True  # step C: resolve `alt_user` (≥ 2 characters) through custom_three
    alt_user_miss: CallLine | None = None
    logged_in: bool = True  # step D
    agent_columns: tuple[str, ...] | None = None  # the columns of the agent's row the handler reads (None: all)
    not_logged_in: CallLine = not_logged_in
    log_identity: Callable[[Call], tuple[str, str]] | None = None  # (agent_user, value) of log rows
    after: Callable[[Call], Awaitable[None]] | None = None  # runs after the function unless a line EXITed
    alone: bool = False  # waits on something besides the database (a remote call): its own transaction, no group
    # writes no vicidial_users, openagc_login_failures or vicidial_live_agents row but agent_user's (and the
    # caller's, through the credential check): its batch may read its caller ahead (`read_ahead`)
    confined: bool = False


REGISTRY: dict[str, FunctionSpec] = {}


def api_function(name: str, **options: Any) -> Callable[[Handler], Handler]:
    """Register a handler for `function={name}` with the shared steps it needs (see FunctionSpec)."""

    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise ValueError(f"api function {name} registered twice")
        REGISTRY[name] = FunctionSpec(name=name, handler=handler, **options)
        select_agent(REGISTRY[name].agent_columns)  # a column the table lacks fails here, at import
        return handler

    return register


PERMISSION_DENIED = "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION"


async def run(spec: FunctionSpec, call: Call) -> None:
    """Run the shared steps and the handler; every printed line ends up in `call.lines`."""
    call.log_identity = spec.log_identity
    try:
        if spec.valid is not None and not spec.valid(call):
            raise call.stop(spec.invalid(call))
        if not call.api_user.may_use(spec.name):
            denied = error(
                PERMISSION_DENIED,
                *spec.denied_subject(call),
                call.api_user.user,
                spec.name,
                call.api_user.user_group,
            )
            raise call.stop(denied.ends())
        if spec.alt_user and len(call.p.alt_user.encode()) >= 2:
            await call.resolve_alt_user(call.p.alt_user, miss=spec.alt_user_miss)
        if spec.logged_in:
            ahead, call.agent_ahead = call.agent_ahead, None
            call.agent = (ahead[1] if ahead is not None and ahead[0] == call.p.agent_user  # alt_user may change it
                          else await call.live_agent(columns=spec.agent_columns))
            if call.agent is None:
                raise call.stop(spec.not_logged_in(call))
        line = await spec.handler(call)
        if line is not None:
            call.emit(line)
    except Stop:
        pass
    if spec.after is not None and not any(line.exit for line in call.lines):
        await spec.after(call)
