"""`command.outcome` events for command records that reached their final state in a transaction.

A command superseded by a newer one is ended in the transaction that writes the newer one (`api.php`, the console,
`/agent/`), which appends no events; its event goes out with the outcome of the command that replaced it (the
record says `ended_by: command <id>`), in the transaction of the engine or of the drop-in delivery watcher.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.integrations.agent_events import command_event
from openagc.store.command_records import CMD, SUPERSEDED, openagc_commands
from openagc.store.event_log import NewEvent


async def outcome_events(conn: AsyncConnection, ended: Iterable[Mapping[str, Any]], campaign_id: str,
                         user_group: str) -> list[NewEvent]:
    """For each ended record: the records it superseded, then itself."""
    records = list(ended)
    if not records:
        return []
    by = {f"command {int(r['command_id'])}": r for r in records}
    users, columns = sorted({r["user"] for r in records}), sorted({r["command"] for r in records})
    rows = await conn.execute(sa.select(openagc_commands).where(  # (user, command, state): the records' index
        CMD.user.in_(users), CMD.command.in_(columns), CMD.state == SUPERSEDED, CMD.ended_by.in_(sorted(by)))
        .order_by(CMD.command_id))
    superseded: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows.mappings():
        superseded.setdefault(row["ended_by"], []).append(row)
    out = []
    for key, record in by.items():
        out.extend(command_event(old, campaign_id, user_group) for old in superseded.get(key, ()))
        out.append(command_event(record, campaign_id, user_group))
    return out
