"""Leases between processes, in the database: who does a piece of work, until when.

A lease is a row of `openagc_engine_leases` (`name`, `holder`, `lease_until_ms`) taken and renewed with a
compare-and-set: a holder takes a lease that is free or has run out, renews only what it still holds, and gives
back only its own. Leases run on the wall clock (`now_ms`; keep the processes' clocks in sync), never on the
service's clock, which tests freeze. The webhook dispatcher and the stock-VICIdial watcher keep their leases on
their own rows (`lease_until_ms` there too) and take `now_ms` and `holder_name` from here.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Collection

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store.schema import openagc_engine_leases

L = openagc_engine_leases.c


def now_ms() -> int:
    """Wall-clock milliseconds: leases are compared across processes."""
    return int(time.time() * 1000)


def holder_name(kind: str) -> str:
    """A holder name unique to this process and object: `<kind><host>:<pid>:<random>` (the host cut to 30)."""
    return f"{kind}{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def held(conn: AsyncConnection) -> dict[str, tuple[str, int]]:
    """Every lease: name → (holder, until ms)."""
    return {r.name: (r.holder, int(r.lease_until_ms)) for r in await conn.execute(
        sa.select(L.name, L.holder, L.lease_until_ms))}


async def take(conn: AsyncConnection, name: str, holder: str, until_ms: int, now: int) -> bool:
    """Take (or keep) `name` until `until_ms` if it is free, run out or already `holder`'s; True if taken."""
    took = await conn.execute(sa.update(openagc_engine_leases).where(
        L.name == name, sa.or_(L.holder == holder, L.lease_until_ms <= now)).values(holder=holder,
                                                                                     lease_until_ms=until_ms))
    if took.rowcount == 1:
        return True
    if (await conn.execute(sa.select(L.name).where(L.name == name))).first() is not None:
        return False  # someone else's, still running
    try:
        async with conn.begin_nested():
            await conn.execute(sa.insert(openagc_engine_leases).values(name=name, holder=holder,
                                                                        lease_until_ms=until_ms))
    except IntegrityError:  # another process created it first
        return False
    return True


async def renew(conn: AsyncConnection, holder: str, names: Collection[str], until_ms: int) -> set[str]:
    """Extend those of `names` that `holder` still holds; returns them."""
    if not names:
        return set()
    where = (L.holder == holder, L.name.in_(sorted(names)))
    await conn.execute(sa.update(openagc_engine_leases).where(*where).values(lease_until_ms=until_ms))
    return {r[0] for r in await conn.execute(sa.select(L.name).where(*where))}


async def release(conn: AsyncConnection, holder: str, names: Collection[str] | None = None) -> None:
    """Give back `holder`'s leases (`names`, or all of them): free for others at once."""
    where = [L.holder == holder]
    if names is not None:
        if not names:
            return
        where.append(L.name.in_(sorted(names)))
    await conn.execute(sa.update(openagc_engine_leases).where(*where).values(holder="", lease_until_ms=0))


async def prune(conn: AsyncConnection, prefix: str, before_ms: int) -> None:
    """Delete leases named `prefix…` that ran out before `before_ms` (heartbeats of engines long gone)."""
    await conn.execute(sa.delete(openagc_engine_leases).where(
        L.name.startswith(prefix, autoescape=True), L.lease_until_ms < before_ms))
