"""`version` (answered before any login, as upstream) and the coffee requests' 418."""

from __future__ import annotations

import time
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.clock import fmt_datetime
from openagc.companion.answer import Answer, failure
from openagc.store.schema import servers

# The non_agent_api.php of the same upstream snapshot as api.php 2.14-82 (build 250122-1010).
VERSION = "2.14-202"
BUILD = "250720-1841"
COFFEE = frozenset({"coffee", "start_coffee", "make_coffee", "brew_coffee"})


def php_number(value: float) -> str:
    """A number as PHP prints a float (`-4`, `5.3`)."""
    return f"{value:.14G}"


def _hhmm(seconds: int) -> int:
    """A UTC offset as PHP's `date("O")` digits read as a number (-0530 → -530), as upstream divides it by 100."""
    hhmm = abs(seconds) // 3600 * 100 + abs(seconds) % 3600 // 60
    return -hhmm if seconds < 0 else hhmm


async def _zone(conn: AsyncConnection, epoch: int) -> tuple[int, str, str]:
    """(DST, TZ, TZNOW): DST is 1 while local time is daylight saving time; TZ the first active server's
    `local_gmt` as stored; TZNOW that plus one hour in DST. Without an active server TZ is empty and TZNOW this
    process's UTC offset as upstream reads it (`-0530` → `-5.3`)."""
    dst = 1 if time.localtime(epoch).tm_isdst > 0 else 0
    S = servers.c
    local_gmt = (await conn.execute(sa.select(S.local_gmt).where(S.active == "Y").limit(1))).scalar()
    try:
        offset = float(local_gmt) if local_gmt else None
    except ValueError:
        offset = None
    if offset is None:
        return dst, "", php_number(_hhmm(time.localtime(epoch).tm_gmtoff) / 100)
    return dst, str(local_gmt), php_number(offset + 1) if dst else str(local_gmt)


async def version(conn: AsyncConnection, now: datetime, epoch: int) -> Answer:
    dst, tz, tznow = await _zone(conn, epoch)
    text = (f"VERSION: {VERSION}|BUILD: {BUILD}|DATE: {fmt_datetime(now)}|EPOCH: {epoch}|DST: {dst}|TZ: {tz}|"
            f"TZNOW: {tznow}|")
    record = {"version": VERSION, "build": BUILD, "date": fmt_datetime(now), "epoch": epoch, "dst": dst,
              "tz": tz, "tznow": tznow}
    return Answer(text + "\n", "SUCCESS", "", text, records=(record,))


def coffee(function: str) -> Answer:
    """HTTP 418 with upstream's text (no newline)."""
    text = f"Coffee: {function}|Error 418 I'm a teapot"
    return failure("", text, function, "Error 418 I'm a teapot", data=text, status=418)
