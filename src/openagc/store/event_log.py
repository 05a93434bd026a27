"""The durable event log: what happened in the centre, in order, for integrators' streams and webhooks.

An event is appended in the same transaction as the change it reports (`append`), so it exists exactly when the
change does: never for a rolled-back change, never missing for a committed one. After the commit the writer
publishes `EVENTS_TOPIC` on the bus (only a wake-up; the event itself is read from the table).

Ids are consumers' resume points (SSE `Last-Event-ID`, a webhook cursor), so they must become visible in order:
a reader that has seen id 12 must never later find an id 11 committed behind it. Auto-increment ids do not
promise that (two transactions may commit in the other order than they inserted), so `append` takes its ids from
the one row of `openagc_event_sequence`, and that row stays locked until the writer commits: event-writing
transactions commit one after another in id order. `append` should therefore come last in its transaction.

Ids have no gaps (a rolled-back writer gives its ids back with its transaction), so only `prune` (bounded
retention) removes any; `resumable` tells a resuming reader whether everything it missed is still there.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store import executor
from openagc.store.schema import openagc_event_sequence, openagc_events

EVENTS_TOPIC = "events.appended"  # bus message: the highest event id just committed
SEQUENCE = "events"
E, S = openagc_events.c, openagc_event_sequence.c


@dataclass(frozen=True)
class NewEvent:
    """An event to append: its kind (`agent.state`, `call.answered`, …), whom it concerns and its data."""

    kind: str
    user: str = ""
    campaign_id: str = ""
    user_group: str = ""
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    """An event as stored: `NewEvent`'s fields with its id and the time it was appended (ms since the epoch)."""

    id: int
    created_ms: int
    kind: str
    user: str
    campaign_id: str
    user_group: str
    data: dict[str, Any]

    def public(self) -> dict[str, Any]:
        """The form integrators receive (streams and webhooks alike)."""
        time = datetime.fromtimestamp(self.created_ms / 1000, UTC).isoformat(timespec="milliseconds")
        return {"id": self.id, "type": self.kind, "time": time, "agent": self.user, "campaign": self.campaign_id,
                "user_group": self.user_group, "data": self.data}


@dataclass(frozen=True)
class EventFilter:
    """Which events a reader wants: kinds, agents, campaigns, user groups (None: any)."""

    kinds: frozenset[str] | None = None
    users: frozenset[str] | None = None
    campaigns: frozenset[str] | None = None
    user_groups: frozenset[str] | None = None

    def clauses(self) -> list[Any]:
        pairs = ((E.kind, self.kinds), (E.user, self.users), (E.campaign_id, self.campaigns),
                 (E.user_group, self.user_groups))
        return [column.in_(sorted(values)) for column, values in pairs if values is not None]

    def matches(self, event: Event) -> bool:
        pairs = ((event.kind, self.kinds), (event.user, self.users), (event.campaign_id, self.campaigns),
                 (event.user_group, self.user_groups))
        return all(values is None or value in values for value, values in pairs)


_BUMP = sa.update(openagc_event_sequence).where(S.name == SEQUENCE)
_BUMPED = S.last_id + sa.bindparam("count")
# The bumped value comes back with the update's own answer, so the sequence row is held one statement less: by
# RETURNING where the database has it for an update (SQLite), else (MariaDB) as the id the update reports after
# setting `last_insert_id(expr)`.
_BUMP_RETURNING = _BUMP.values(last_id=_BUMPED).returning(S.last_id)
_BUMP_REPORTING = _BUMP.values(last_id=sa.func.last_insert_id(_BUMPED))


async def _bump(conn: AsyncConnection, count: int) -> int | None:
    """Add `count` to the sequence row (locking it until commit); its new value, or None if there is no row."""
    if conn.dialect.update_returning:
        found = await executor.fetch_one(conn, _BUMP_RETURNING, {"count": count})
        return None if found is None else int(found["last_id"])
    bumped = await executor.execute(conn, _BUMP_REPORTING, {"count": count})
    return int(bumped.lastrowid or 0) if bumped.rowcount else None


async def _take_ids(conn: AsyncConnection, count: int) -> int:
    """Reserve `count` ids (locking the sequence row until commit); returns the last of them."""
    last = await _bump(conn, count)
    if last is None:  # a new (or emptied) database: start after what the log holds
        highest = (await conn.execute(sa.select(sa.func.max(E.event_id)))).scalar() or 0
        try:
            async with conn.begin_nested():
                await conn.execute(sa.insert(openagc_event_sequence).values(name=SEQUENCE, last_id=highest + count))
        except IntegrityError:  # another writer created it first
            return await _take_ids(conn, count)
        return highest + count
    return last


_COLUMNS = ("event_id", "created_ms", "kind", "user", "campaign_id", "user_group", "data")
#: Events appended in one multi-row statement on the executor; more take one such statement per sixteen.
_ROWS_AT_ONCE = 16


@functools.cache
def _insert_rows(count: int) -> sa.Insert:
    """`count` events appended in one statement (bound parameters `<column>_<n>`); built once per count."""
    return sa.insert(openagc_events).values([{c: sa.bindparam(f"{c}_{n}") for c in _COLUMNS} for n in range(count)])


async def append(conn: AsyncConnection, events: Sequence[NewEvent], now_ms: int) -> list[int]:
    """Append `events` within the caller's transaction; returns their ids. Call it last before the commit."""
    return await append_timed(conn, [(event, now_ms) for event in events])


async def append_timed(conn: AsyncConnection, events: Sequence[tuple[NewEvent, int]]) -> list[int]:
    """`append` of events each with its own time (ms since the epoch): the events of several transitions
    committed together (`store.write_tail.Tail`). Their ids are consecutive, in the given order."""
    if not events:
        return []
    last = await _take_ids(conn, len(events))
    ids = list(range(last - len(events) + 1, last + 1))
    rows = [{"event_id": event_id, "created_ms": created_ms, "kind": e.kind[:40], "user": e.user[:20],
             "campaign_id": e.campaign_id[:8], "user_group": e.user_group[:20],
             "data": json.dumps(e.data, default=str, separators=(",", ":"))}
            for event_id, (e, created_ms) in zip(ids, events, strict=True)]
    for start in range(0, len(rows), _ROWS_AT_ONCE):
        chunk = rows[start:start + _ROWS_AT_ONCE]
        await executor.execute(conn, _insert_rows(len(chunk)),
                               {f"{column}_{n}": value for n, row in enumerate(chunk) for column, value in row.items()})
    return ids


def _event(row: Any) -> Event:
    return Event(id=int(row.event_id), created_ms=int(row.created_ms), kind=row.kind, user=row.user,
                 campaign_id=row.campaign_id, user_group=row.user_group, data=json.loads(row.data or "{}"))


async def read_after(conn: AsyncConnection, after_id: int, *, limit: int = 500,
                     where: EventFilter | None = None) -> list[Event]:
    """Events with an id above `after_id`, oldest first, at most `limit`, matching `where`."""
    query = sa.select(openagc_events).where(E.event_id > after_id, *(where.clauses() if where else ()))
    rows = await conn.execute(query.order_by(E.event_id).limit(limit))
    return [_event(row) for row in rows]


async def last_id(conn: AsyncConnection) -> int:
    """The highest id appended so far (0 when none): where a new reader that wants only what follows starts."""
    found = (await conn.execute(sa.select(S.last_id).where(S.name == SEQUENCE))).scalar()
    if found is None:
        found = (await conn.execute(sa.select(sa.func.max(E.event_id)))).scalar()
    return int(found or 0)


async def oldest_id(conn: AsyncConnection) -> int | None:
    """The lowest id still kept (None when the log is empty)."""
    found = (await conn.execute(sa.select(sa.func.min(E.event_id)))).scalar()
    return None if found is None else int(found)


async def prune(conn: AsyncConnection, *, older_than_ms: int, batch: int = 5000) -> int:
    """Delete up to `batch` events appended before `older_than_ms`; returns how many went."""
    ids = [row[0] for row in await conn.execute(
        sa.select(E.event_id).where(E.created_ms < older_than_ms).order_by(E.event_id).limit(batch))]
    if not ids:
        return 0
    await conn.execute(sa.delete(openagc_events).where(E.event_id.in_(ids)))
    return len(ids)


def resumable(after_id: int, oldest: int | None, newest: int) -> bool:
    """Whether a reader that saw up to `after_id` can resume without a loss (nothing it missed was pruned)."""
    if after_id >= newest:
        return True
    return oldest is not None and after_id + 1 >= oldest

