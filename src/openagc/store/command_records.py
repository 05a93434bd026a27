"""Command records: every command written into an agent's command columns, and what became of it.

A command is one value written into one command column of `vicidial_live_agents` (by `api.php`, the console,
`/agent/`, or plain SQL). Its record (`openagc_commands`) is written in the same transaction as the column, and
ends in exactly one final state, written in the same transaction as the effect:

* ``queued`` — written, not carried out yet (waiting for a wake-up, or deferred: a pause or logout after the call,
  a disposition until the call ends);
* ``applied`` — the engine carried it out;
* ``rejected`` — the agent's state did not allow it (``reason`` says why in words); the column is cleared;
* ``expired`` — it was not carried out within its family's validity (`VALIDITY`); the column is cleared;
* ``superseded`` — a newer command was written into the same column before this one was carried out;
* ``delivered`` — with the engine off (drop-in), upstream's agent screen cleared the column.

After the commit an outcome is published on the bus (`OUTCOME_TOPIC`) so a caller waiting for it wakes at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.openapi.describe import INTEGER, STRING, component, nullable, obj
from openagc.store import executor
from openagc.store.schema import openagc_commands, vicidial_live_agents

if TYPE_CHECKING:
    from openagc.bus import Bus

CMD, VLA = openagc_commands.c, vicidial_live_agents.c

QUEUED, APPLIED, REJECTED, EXPIRED, SUPERSEDED, DELIVERED = (
    "queued", "applied", "rejected", "expired", "superseded", "delivered")
FINAL = frozenset({APPLIED, REJECTED, EXPIRED, SUPERSEDED, DELIVERED})
OUTCOME_TOPIC = "command.outcome"  # bus message: the record (a dict) once its final state is committed

#: Command column → family (validity is per family).
FAMILIES: dict[str, str] = {
    "external_dial": "dial",
    "external_hangup": "call",
    "external_dtmf": "call",
    "external_park": "call",
    "external_transferconf": "call",
    "external_recording": "call",
    "external_lead_id": "call",
    "external_pause": "pause",
    "external_pause_code": "pause",
    "external_status": "status",
    "external_update_fields": "screen",
    "external_timer_action": "screen",
    "manager_ingroup_set": "screen",
}
#: Default validity per family in seconds: a dial or a call control is carried out at once or never; a pause,
#: logout or disposition may wait for the end of a call.
VALIDITY: dict[str, int] = {"dial": 10, "call": 10, "pause": 3600, "status": 3600, "screen": 60}
#: Values that mean "no command" in a column (its resting state).
RESTING: dict[str, frozenset[str]] = {
    "external_hangup": frozenset({"", "0"}),
    "external_update_fields": frozenset({"", "0"}),
    "manager_ingroup_set": frozenset({"", "N", "Y"}),
    "external_lead_id": frozenset({"", "0"}),
    "external_status": frozenset({"", "::::::::::"}),
}
#: The deferred form a column takes while its command waits (LOGOUT during a call).
DEFERRED_FORMS: dict[str, dict[str, str]] = {"external_pause": {"LOGOUT!DISPO": "LOGOUT"}}


@dataclass(frozen=True)
class Written:
    """One command as written: its column and value (what the record keeps)."""

    command: str
    value: str


def commands_in(values: Mapping[str, Any]) -> list[Written]:
    """The commands among the columns of one write (`external_ingroups` … travel with `manager_ingroup_set`)."""
    out = []
    for column, raw in values.items():
        value = "" if raw is None else str(raw)
        if column in FAMILIES and not resting(column, value):
            out.append(Written(column, value))
    return out


def resting(column: str, value: Any) -> bool:
    """Whether `value` in `column` is no command (an empty column, `external_recording` holding an id …)."""
    text = "" if value is None else str(value)
    if column == "external_recording":
        return text == "" or text.isdigit()
    return text in RESTING.get(column, frozenset({""}))


def command_value(column: str, value: Any) -> str | None:
    """The command a column holds (its deferred form read back as the command), or None."""
    text = "" if value is None else str(value)
    if resting(column, text):
        return None
    return DEFERRED_FORMS.get(column, {}).get(text, text)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


INSERT_RECORD = sa.insert(openagc_commands)
ENDED_BY_COMMAND = "command "  # a superseded record's `ended_by`: this and the id of the record that superseded it
SUPERSEDE = sa.update(openagc_commands).where(
    CMD.user == sa.bindparam("s_user"), CMD.command == sa.bindparam("s_command"), CMD.state == QUEUED,
    CMD.command_id < sa.bindparam("s_id"),
).values(state=SUPERSEDED, ended=sa.bindparam("s_ended"), ended_ms=sa.bindparam("s_ms"), ended_by=sa.bindparam("s_by"))
#: The agent's row; the command columns to write are the executor's parameters (compiled once per set of columns).
UPDATE_AGENT = sa.update(vicidial_live_agents).where(VLA.user == sa.bindparam("where_user"))


def record_row(*, user: str, command: str, value: str, function: str, source: str, at: datetime,
               state: str = QUEUED, reason: str = "", by: str = "", api_log_id: int | None = None) -> dict[str, Any]:
    """The `openagc_commands` row of a command written at `at` (a final state ends it at once)."""
    ms = _ms(at)
    values: dict[str, Any] = dict(user=user, command=command, value=value[:1000], function=function[:50],
                                  source=source, created=at.replace(microsecond=0), created_ms=ms, state=state,
                                  reason=reason[:255], api_log_id=api_log_id)
    if state in FINAL:
        values |= dict(ended=at.replace(microsecond=0), ended_ms=ms, ended_by=by[:100])
    return values


def supersede_params(user: str, command: str, command_id: int, ended: datetime, ended_ms: int) -> dict[str, Any]:
    """What record `command_id` writes on the older queued commands of its agent and column (`SUPERSEDE`)."""
    return dict(s_user=user, s_command=command, s_id=command_id, s_ended=ended, s_ms=ended_ms,
                s_by=f"{ENDED_BY_COMMAND}{command_id}")


async def open_record(conn: AsyncConnection, *, user: str, command: str, value: str, function: str, source: str,
                      at: datetime, state: str = QUEUED, reason: str = "", by: str = "",
                      api_log_id: int | None = None) -> int:
    """Write a record; an older queued command of the same agent and column is superseded by it."""
    return await _insert_record(conn, record_row(user=user, command=command, value=value, function=function,
                                                 source=source, at=at, state=state, reason=reason, by=by,
                                                 api_log_id=api_log_id))


async def _insert_record(conn: AsyncConnection, row: Mapping[str, Any]) -> int:
    command_id = int((await executor.execute(conn, INSERT_RECORD, row)).lastrowid or 0)
    await executor.execute(conn, SUPERSEDE,
                           supersede_params(row["user"], row["command"], command_id, row["created"], row["created_ms"]))
    return command_id


async def write(conn: AsyncConnection, *, user: str, values: Mapping[str, Any], function: str, source: str,
                at: datetime) -> tuple[int, list[int]]:
    """Write command columns on the agent's row and open a record for each command in them, in the caller's
    transaction: (rows changed, record ids). The one way commands are written (api.php, /agent/, the console;
    api.php opens the records after its log row, `write_columns` then `open_records`, so they carry its id)."""
    rowcount = await write_columns(conn, user=user, values=values)
    if not rowcount:
        return 0, []
    return rowcount, await open_records(conn, user=user, values=values, function=function, source=source, at=at)


async def write_columns(conn: AsyncConnection, *, user: str, values: Mapping[str, Any]) -> int:
    """The first half of `write`: the columns on every live row of `user`; rows changed."""
    if any(isinstance(v, sa.ClauseElement) for v in values.values()):  # a SQL expression: SQLAlchemy's own path
        return (await conn.execute(sa.update(vicidial_live_agents).where(VLA.user == user).values(**values))
                ).rowcount
    return (await executor.execute(conn, UPDATE_AGENT, {**values, "where_user": user})).rowcount


async def open_records(conn: AsyncConnection, *, user: str, values: Mapping[str, Any], function: str, source: str,
                       at: datetime, api_log_id: int | None = None) -> list[int]:
    """The second half of `write`: a record for each command in `values` (written on a changed row); their ids."""
    return [await _insert_record(conn, row | {"api_log_id": api_log_id})
            for row in record_rows(user=user, values=values, function=function, source=source, at=at)]


def record_rows(*, user: str, values: Mapping[str, Any], function: str, source: str, at: datetime
                ) -> list[dict[str, Any]]:
    """The queued records of the commands in `values` (written on a changed row), as rows: `open_records` writes
    them one by one, `store.write_tail` many requests' at once."""
    return [record_row(user=user, command=written.command, value=written.value, function=function, source=source,
                       at=at) for written in commands_in(values)]


LOCKS_PER_STATEMENT = 32  # agents' columns a `lock_queued` statement takes (bounds the statements compiled)


@functools.cache
def _lock_statement(count: int) -> sa.Select:
    """The queued records of `count` agents' columns, locked in the order of the index that finds them
    (`openagc_commands_pending`: agent, column, state)."""
    pairs = [sa.and_(CMD.user == sa.bindparam(f"l_user_{k}"), CMD.command == sa.bindparam(f"l_command_{k}"))
             for k in range(count)]
    return (sa.select(CMD.command_id).where(CMD.state == QUEUED, sa.or_(*pairs))
            .order_by(CMD.user, CMD.command, CMD.command_id).with_for_update())


async def lock_queued(conn: AsyncConnection, pairs: Iterable[tuple[str, str]]) -> None:
    """Lock the queued records of these (agent, column) pairs through that index, in its order, until the commit.

    Where `vicidial_live_agents` cannot roll back (upstream's MyISAM), its row lock no longer keeps two writers of
    one agent's column apart. Writers that take this lock before inserting, superseding or ending a record of those
    columns wait for one another instead of passing over each other's uncommitted records or deadlocking
    (`store.write_tail`, `api.delivery`). Pairs past one statement go in several, in the same order (agents and
    columns compare without case, as the schema's)."""
    ordered = sorted(set(pairs), key=lambda p: (p[0].lower(), p[1].lower(), p))
    for start in range(0, len(ordered), LOCKS_PER_STATEMENT):
        chunk = ordered[start:start + LOCKS_PER_STATEMENT]
        params = {name: value for k, (user, command) in enumerate(chunk)
                  for name, value in ((f"l_user_{k}", user), (f"l_command_{k}", command))}
        await executor.fetch_all(conn, _lock_statement(len(chunk)), params)


_QUEUED = sa.select(openagc_commands).where(CMD.user == sa.bindparam("user"), CMD.state == QUEUED)
_PENDING = _QUEUED.order_by(CMD.command_id)
_BY = openagc_commands.alias("superseding")
#: The agent's queued records and, in the same statement, the records each of them superseded (`ended_by` names
#: it), which its outcome's events report.
_QUEUED_AND_SUPERSEDED = sa.union_all(
    _QUEUED,
    sa.select(openagc_commands).join(_BY, sa.and_(
        _BY.c.user == CMD.user, _BY.c.command == CMD.command,
        CMD.ended_by == sa.literal(ENDED_BY_COMMAND, sa.String) + sa.cast(_BY.c.command_id, sa.String),
    )).where(_BY.c.user == sa.bindparam("user"), _BY.c.state == QUEUED, CMD.state == SUPERSEDED),
)
_PENDING_AND_SUPERSEDED = _QUEUED_AND_SUPERSEDED.order_by(_QUEUED_AND_SUPERSEDED.selected_columns.command_id)
_GET = sa.select(openagc_commands).where(CMD.command_id == sa.bindparam("command_id"))
_CLOSE = sa.update(openagc_commands).where(CMD.command_id == sa.bindparam("where_id"), CMD.state == QUEUED)


async def pending(conn: AsyncConnection, user: str) -> list[dict[str, Any]]:
    """The agent's queued commands in the order they were written."""
    return await executor.fetch_all(conn, _PENDING, {"user": user})


async def pending_and_superseded(conn: AsyncConnection, user: str
                                 ) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """`pending`, and for each queued record (by id) the records it superseded, oldest first: one statement."""
    queue: list[dict[str, Any]] = []
    superseded: dict[int, list[dict[str, Any]]] = {}
    for row in await executor.fetch_all(conn, _PENDING_AND_SUPERSEDED, {"user": user}):
        if row["state"] == QUEUED:
            queue.append(row)
            superseded.setdefault(int(row["command_id"]), [])
        else:
            superseded.setdefault(int(row["ended_by"].removeprefix(ENDED_BY_COMMAND)), []).append(row)
    return queue, superseded


async def close(conn: AsyncConnection, *, user: str, command: str, value: str, state: str, reason: str, by: str,
                at: datetime, command_id: int | None = None, read: Mapping[str, Any] | None = None
                ) -> dict[str, Any] | None:
    """End a queued command in `state`: the record `command_id` (one the caller read), else the agent's newest
    queued record of that column holding exactly `value`; a value with no record (written by plain SQL, or by the
    engine itself) gets one here, superseding what was queued in the column. Returns the ended record, or None
    when the record was no longer queued (another process ended it first). `read`: the record `command_id` as the
    caller read it in this transaction (the ended record is then that row with its end, not read again)."""
    ms = _ms(at)
    if command_id is None:
        mine = [r for r in await pending(conn, user) if r["command"] == command and r["value"] == value[:1000]]
        if not mine:
            created = await open_record(conn, user=user, command=command, value=value, function="sql",
                                        source="sql", at=at, state=state, reason=reason, by=by)
            return await get(conn, created)
        command_id = int(mine[-1]["command_id"])
    end = {"state": state, "reason": reason[:255], "ended": at.replace(microsecond=0), "ended_ms": ms,
           "ended_by": by[:100]}
    result = await executor.execute(conn, _CLOSE, {**end, "where_id": command_id})
    if not result.rowcount:
        return None
    if read is not None and int(read["command_id"]) == command_id:
        return {**read, **end}
    return await get(conn, command_id)


async def get(conn: AsyncConnection, command_id: int) -> dict[str, Any] | None:
    return await executor.fetch_one(conn, _GET, {"command_id": command_id})


STATES = (QUEUED, APPLIED, REJECTED, EXPIRED, SUPERSEDED, DELIVERED)
#: What `public` answers, for the OpenAPI document (`/agc/commands/{id}`, api.php's `command`).
PUBLIC_SCHEMA = component("CommandRecord", obj({
    "command_id": INTEGER, "agent_user": STRING, "function": STRING, "command": STRING, "value": STRING,
    "source": STRING, "api_log_id": nullable(INTEGER), "created": STRING, "state": {"enum": list(STATES)},
    "reason": STRING, "ended": nullable(STRING), "ended_by": STRING,
    "milliseconds": nullable(INTEGER),
}, ["command_id", "agent_user", "function", "command", "value", "state"],
    description="A command written into an agent's command column, and what became of it."))


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record as the API shows it (JSON)."""
    return {
        "command_id": int(record["command_id"]),
        "agent_user": record["user"],
        "function": record["function"],
        "command": record["command"],
        "value": record["value"],
        "source": record["source"],
        "api_log_id": record["api_log_id"],
        "created": str(record["created"]),
        "state": record["state"],
        "reason": record["reason"],
        "ended": None if record["ended"] is None else str(record["ended"]),
        "ended_by": record["ended_by"],
        "milliseconds": None if record["ended_ms"] is None else int(record["ended_ms"]) - int(record["created_ms"]),
    }


#: Agents per statement when reading many agents' command columns (an IN list kept short).
COLUMNS_CHUNK = 500


async def columns_of(conn: AsyncConnection, records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], Any]:
    """{(user, column): value} of the command columns the records were written into, for their agents' rows
    (an agent's first row); an agent with no row is absent."""
    records = list(records)
    users = sorted({r["user"] for r in records})
    names = sorted({r["command"] for r in records})
    held: dict[tuple[str, str], Any] = {}
    for i in range(0, len(users), COLUMNS_CHUNK):
        rows = await conn.execute(sa.select(VLA.user, *(VLA[n] for n in names))
                                  .where(VLA.user.in_(users[i:i + COLUMNS_CHUNK])).order_by(VLA.live_agent_id))
        for row in rows.mappings():
            for name in names:
                held.setdefault((row["user"], name), row[name])
    return held


def holds(held: Mapping[tuple[str, str], Any], record: Mapping[str, Any]) -> bool:
    """Whether the columns read by `columns_of` still hold the record's command (its deferred form included)."""
    return command_value(record["command"], held.get((record["user"], record["command"]))) == record["value"]


CLEARED: dict[str, Any] = {"external_hangup": "0", "external_update_fields": "0", "manager_ingroup_set": "N",
                           "external_lead_id": 0}


async def clear_column(conn: AsyncConnection, record: Mapping[str, Any]) -> tuple[bool, Any]:
    """Clear the record's command from its column if it is still there (compare-and-clear); (cleared?, the
    column's resting value)."""
    command = record["command"]
    forms = [record["value"], *(k for k, v in DEFERRED_FORMS.get(command, {}).items() if v == record["value"])]
    cleared = CLEARED.get(command, "")
    result = await conn.execute(sa.update(vicidial_live_agents).where(
        VLA.user == record["user"], VLA[command].in_(forms)).values({command: cleared}))
    return bool(result.rowcount), cleared


def validity_of(record: Mapping[str, Any], validity: Mapping[str, int]) -> int:
    family = FAMILIES.get(record["command"], "call")
    return int(validity.get(family, VALIDITY.get(family, 10)))


def parse_validity(text: str) -> dict[str, int]:
    """`dial=10,pause=3600` → {family: seconds} over the defaults (an unknown family is an error)."""
    out = dict(VALIDITY)
    for item in filter(None, (part.strip() for part in text.split(","))):
        family, _, seconds = item.partition("=")
        if family.strip() not in VALIDITY or not seconds.strip().isdigit():
            raise ValueError(f"command validity {item!r}: expected one of {sorted(VALIDITY)} = seconds")
        out[family.strip()] = int(seconds)
    return out


class OutcomeWaiter:
    """Listens for command outcomes (`OUTCOME_TOPIC`) from the moment it is made (before the command is even
    committed, so an outcome that comes at once is not missed): api.php's `wait`, and an `/agent/` command whose
    agent another engine carries."""

    def __init__(self, bus: Bus) -> None:
        self._loop = asyncio.get_running_loop()
        self._seen: set[int] = set()
        self._wanted: set[int] = set()
        self._event = asyncio.Event()
        self._unsubscribe = bus.subscribe(OUTCOME_TOPIC, self._on_outcome)

    def _on_outcome(self, _topic: str, record: Any) -> None:
        if isinstance(record, dict) and isinstance(record.get("command_id"), int):
            self._loop.call_soon_threadsafe(self._note, record["command_id"])

    def _note(self, command_id: int) -> None:
        self._seen.add(command_id)
        if self._wanted and self._wanted <= self._seen:
            self._event.set()

    async def wait(self, command_ids: Iterable[int], seconds: float) -> None:
        """Return once every command has an outcome, or after `seconds`."""
        self._wanted = set(command_ids)
        if self._wanted <= self._seen:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)

    def close(self) -> None:
        self._unsubscribe()
