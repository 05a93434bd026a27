"""Group commit: the transaction bodies of many requests run one after another in one transaction, one commit.

Two kinds of caller use it: api.php's requests (`Services.commits`) and an engine's agents' transitions
(`Engine.commits`), each with its own queue and lanes.

A request hands its body (what `Database.transaction` would run) to `GroupCommit.run` and waits. Up to `lanes`
batches are open at once; while they run, new bodies queue, and a lane that comes free takes up to `most` of them
as its next batch. Under a light load every body is a batch of one, started at once; under load the transaction's
set-up and end (the pool's check-out, the begin, the commit and its flush) are shared, and so are the closing rows
every body hands to the batch's `Tail` (`store.write_tail`: the log rows and command records of all the bodies in
one statement per table, written after the last body, before the commit). A body's other statements are its own.

What a caller is promised is what `Database.transaction` promises:

* a body sees its own writes (and those of the bodies before it in its batch, as it would had they committed
  first);
* its result, or its error, is given only after the batch's commit: nothing is answered before it is durable;
* a body that raises gets its error alone: the batch is rolled back and runs again without it, so nothing of it is
  written and no other body is lost (`Refused`, raised before the body wrote anything, skips the re-run); when the
  shared tail fails to write, the batch runs again with each body's tail written right after it, so the error is
  found to be one body's;
* a retryable conflict rolls the batch back and runs it all again (`Database.transaction`'s attempts and time
  budget); when they run out, every body of the batch gets `Conflict`, as a body alone would;
* a caller that stops waiting before its batch starts is not run; once started, its body commits with the batch.

So a body must be safe to run more than once and must do nothing outside the transaction: it is the same rule as
`Database.transaction`'s. A body that waits on something else than the database (a remote HTTP call) holds up its
whole batch and should use `Database.transaction` instead.

**Reads ahead.** A body may declare the read it starts with (`ReadAhead`: a statement of at most one row, its
parameters, whose rows it reads and whose it writes). The batch then reads them for all its bodies in one
statement (`executor.fetch_first_each`) before the first body runs, and each body takes its row instead of
reading it. A row read ahead is given only where it is what the body would have read at its turn, i.e. no body
before it in the batch may have written it:

* every body before it declared a read and is `confined`: of the tables its read reads, it writes only the rows of
  the owners it declared (`writes`) and those it notes as it writes them (`note_written`: the credential check's
  failure counts);
* none of them declared or noted a write of an owner whose rows it reads;
* each kept to what it declared (`ReadAhead.take` was asked for that statement and those parameters).

Any other body reads for itself. The rows are read at the batch's start rather than at each body's turn: under
READ COMMITTED, as if the request had come a few statements earlier.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from prometheus_client import Histogram
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc import metrics
from openagc.store import executor
from openagc.store.database import Database, retryable
from openagc.store.write_tail import Tail, locks_queued

T = TypeVar("T")
Body = Callable[[AsyncConnection, Tail], Awaitable[T]]


class Refused(Exception):
    """Raised by a body before it has written anything (a request refused up front): its batch carries on."""


@dataclass(eq=False)
class ReadAhead:
    """The read a body starts with, which its batch may make for it (see the module's docstring)."""

    statement: sa.Select  # at most one row; built once (the executor compiles it once)
    params: Mapping[str, Any]
    reads: frozenset[str]  # whose rows it reads
    writes: frozenset[str]  # whose rows of those tables a confined body writes (besides those it notes)
    confined: bool
    _row: dict[str, Any] | None = None
    _ready: bool = False  # the batch read the row, and no body before this one may have written it
    kept: bool = False  # the body asked for this very read

    async def take(self, conn: AsyncConnection, statement: sa.Select, params: Mapping[str, Any]
                   ) -> dict[str, Any] | None:
        """The row `executor.fetch_one(conn, statement, params)` gives: the one read ahead when there is one for
        this read, else read now."""
        if statement is self.statement and params == self.params:
            self.kept = True
            if self._ready:
                self._ready = False
                return self._row
        return await executor.fetch_one(conn, statement, params)

    def _reset(self) -> None:
        self._row, self._ready, self.kept = None, False, False


_noted: ContextVar[set[str] | None] = ContextVar("group_commit_noted", default=None)


def note_written(owner: str) -> None:
    """Note that the running body wrote `owner`'s rows (a write its `ReadAhead` did not declare): the bodies after
    it in its batch read such rows for themselves. Outside a batch, nothing to do."""
    noted = _noted.get()
    if noted is not None:
        noted.add(owner.lower())


def _readable_ahead(batch: list[_Member[Any]]) -> list[ReadAhead]:
    """The reads of `batch` that can be made ahead: those of the bodies whose rows no body before them declared it
    writes (past a body that declares no read, or is not confined, none)."""
    readable: list[ReadAhead] = []
    written: set[str] = set()
    for member in batch:
        ahead = member.ahead
        if ahead is None:
            break
        if not ahead.reads & written:
            readable.append(ahead)
        if not ahead.confined:
            break
        written |= ahead.writes
    return readable


async def _read_ahead(conn: AsyncConnection, batch: list[_Member[Any]]) -> None:
    """Read in one statement per kind the rows the bodies of `batch` will ask for, where that is safe."""
    for member in batch:
        if member.ahead is not None:
            member.ahead._reset()
    by_statement: dict[sa.Select, list[ReadAhead]] = {}
    for ahead in _readable_ahead(batch):
        by_statement.setdefault(ahead.statement, []).append(ahead)
    for statement, reads in by_statement.items():
        if len(reads) < 2:
            continue  # nothing shared: the body reads it itself
        rows = await executor.fetch_first_each(conn, statement, [r.params for r in reads])
        for ahead, row in zip(reads, rows, strict=True):
            ahead._row, ahead._ready = row, True


@dataclass
class _Member(Generic[T]):
    body: Body[T]
    ahead: ReadAhead | None = None
    answer: asyncio.Future[T] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class _Unshared(Exception):
    """The batch's shared tail failed to write: the batch runs again with each body's tail written after it."""


class _Failed(Exception):
    """A member's body raised: the batch is rolled back and runs again without it."""

    def __init__(self, member: _Member[Any], error: BaseException) -> None:
        super().__init__("a body of the batch failed")
        self.member, self.error = member, error


class GroupCommit:
    """Bodies of many callers in shared transactions (see the module's docstring)."""

    def __init__(self, db: Database, *, lanes: int, most: int, sizes: Histogram = metrics.GROUP_COMMIT,
                 name: str = "group commit") -> None:
        self.db = db
        self.name = name  # its lanes' task names (what a statement's listener can tell its batches by)
        self.sizes = sizes  # observes each batch's number of bodies
        self.lanes = 1 if db.sqlite else max(1, lanes)  # SQLite: one writer at a time anyway
        self.most = max(1, most)
        self._queue: deque[_Member[Any]] = deque()
        self._open = 0  # lanes running (counted here, not by their tasks' ends: a done callback comes too late)
        self._tasks: set[asyncio.Task[None]] = set()  # strong references to the running lanes
        self.received = 0  # bodies handed to `run` so far

    async def run(self, body: Body[T], *, alone: bool = False, ahead: ReadAhead | None = None) -> T:
        """`body`'s result once its batch has committed (or its error: see the module's docstring); `alone`: in a
        transaction of its own; `ahead`: the read it starts with (a batch may read it for it)."""
        if alone or self.most == 1:
            self.received += 1
            return await self.db.transaction(lambda conn: _with_tail(conn, body, self._tail()))
        member: _Member[T] = _Member(body, ahead)
        self._queue.append(member)
        if self._open < self.lanes:
            self._open += 1
            lane = asyncio.create_task(self._lane(), name=self.name)
            self._tasks.add(lane)
            lane.add_done_callback(self._tasks.discard)
        self.received += 1
        return await member.answer

    def _tail(self) -> Tail:
        """A new tail for one attempt at a transaction, locking as the database's tables require."""
        return Tail(lock_first=locks_queued(self.db.non_transactional))

    async def _lane(self) -> None:
        """Take batches off the queue until it is empty (the lane closes in the same step as it finds it so)."""
        try:
            while self._queue:
                batch = [self._queue.popleft() for _ in range(min(self.most, len(self._queue)))]
                batch = [m for m in batch if not m.answer.done()]  # a caller that gave up is not run
                try:
                    await self._commit(batch)
                except asyncio.CancelledError:  # shutting down: no caller is left waiting
                    for member in (*batch, *self._queue):
                        _settle(member, False, asyncio.CancelledError())
                    self._queue.clear()
                    raise
        finally:
            self._open -= 1

    async def _commit(self, batch: list[_Member[Any]]) -> None:
        """Run `batch` in one transaction; each member gets its result or its error after the commit."""
        shared = True
        while batch:
            try:
                results = await self.db.transaction(
                    lambda conn, members=batch, shared=shared: self._bodies(conn, members, shared, self._tail()))
            except _Failed as failed:
                _settle(failed.member, False, failed.error)
                batch = [m for m in batch if m is not failed.member]
                continue
            except _Unshared:
                shared = False
                continue
            except Exception as exc:  # Conflict, a lost connection, a failed commit: the batch's, so each one's
                for member in batch:
                    _settle(member, False, exc)
                return
            self.sizes.observe(len(batch))
            for member, (ok, value) in zip(batch, results, strict=True):
                _settle(member, ok, value)
            return

    @staticmethod
    async def _bodies(conn: AsyncConnection, batch: list[_Member[Any]], shared: bool, tail: Tail
                      ) -> list[tuple[bool, Any]]:
        """Each body in turn; `tail` (a new one each attempt) written once after them all (`shared`) or after
        each."""
        results: list[tuple[bool, Any]] = []
        await _read_ahead(conn, batch)
        strayed = False  # a body did not keep to the read it declared: what it wrote is unknown
        noted: set[str] = set()  # owners whose rows the bodies so far noted they wrote
        for member in batch:
            ahead = member.ahead
            if ahead is not None and (strayed or ahead.reads & noted):
                ahead._ready = False
            token = _noted.set(noted)
            try:
                results.append((True, await member.body(conn, tail)))
                strayed = strayed or ahead is None or not ahead.kept
                if not shared:
                    await tail.flush(conn)
            except Refused as refused:
                results.append((False, refused))
            except Exception as exc:
                if retryable(exc):
                    raise
                raise _Failed(member, exc) from exc
            finally:
                _noted.reset(token)
        if shared:
            try:
                await tail.flush(conn)
            except Exception as exc:
                if retryable(exc):
                    raise
                raise _Unshared() from exc
        return results


async def _with_tail(conn: AsyncConnection, body: Body[T], tail: Tail) -> T:
    """`body` alone, its `tail` (a new one each attempt) written after it."""
    result = await body(conn, tail)
    await tail.flush(conn)
    return result


def _settle(member: _Member[Any], ok: bool, value: Any) -> None:
    """Give `member` its result (ok) or error, unless its caller has stopped waiting."""
    if member.answer.done():
        return
    if ok:
        member.answer.set_result(value)
    else:
        member.answer.set_exception(value)
