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
from openagc.store import executor
from openagc.store.command_records import CMD, ENDED_BY_COMMAND, SUPERSEDED, openagc_commands
from openagc.store.event_log import NewEvent

#: The records one record superseded ((user, command, state) is the records' index).
_SUPERSEDED_BY = (sa.select(openagc_commands)
                  .where(CMD.user == sa.bindparam("user"), CMD.command == sa.bindparam("command"),
                         CMD.state == SUPERSEDED, CMD.ended_by == sa.bindparam("ended_by"))
                  .order_by(CMD.command_id))


async def outcome_events(conn: AsyncConnection, ended: Iterable[Mapping[str, Any]], campaign_id: str,
                         user_group: str, superseded: Mapping[int, list[dict[str, Any]]] | None = None
                         ) -> list[NewEvent]:
    """For each ended record: the records it superseded, then itself. `superseded`: what records read in this
    transaction superseded (`command_records.pending_and_superseded`); the others' are read here."""
    out = []
    for command_id, record in {int(r["command_id"]): r for r in ended}.items():
        known = None if superseded is None else superseded.get(command_id)
        if known is None:
            params = {"user": record["user"], "command": record["command"],
                      "ended_by": f"{ENDED_BY_COMMAND}{command_id}"}
            known = await executor.fetch_all(conn, _SUPERSEDED_BY, params)
        out.extend(command_event(old, campaign_id, user_group) for old in known)
        out.append(command_event(record, campaign_id, user_group))
    return out
