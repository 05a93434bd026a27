"""What every part of a server shares (the API, the engine, the console): `Services`, and the settings row."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.bus import Bus
from openagc.clock import Clock
from openagc.config import Settings
from openagc.credentials import Lockout
from openagc.store.cache import TtlCache
from openagc.store.database import Database
from openagc.store.group_commit import GroupCommit
from openagc.store.schema import system_settings
from openagc.store.url_ids import Ids
from openagc.web.streams import StreamSlots

API_BATCHES = "api.php batch"  # the task name of api.php's group-commit lanes


@dataclass
class Services:
    """What every request shares: settings, database, clock, bus and per-process caches."""

    settings: Settings
    db: Database
    clock: Clock = field(default_factory=Clock)
    bus: Bus = field(default_factory=Bus)
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ids = Ids(self.db)
        self.cache = TtlCache(lambda: self.settings.cache_seconds)
        self.streams = StreamSlots(lambda: self.settings.streams_per_session, lambda: self.settings.streams_total)

    @property
    def lockout(self) -> Lockout:
        """The lockout rule of the settings (api.php and /agent/login share it)."""
        s = self.settings
        return Lockout(failures=s.lockout_failures, user_failures=s.lockout_user_failures, seconds=s.lockout_seconds)

    @cached_property
    def commits(self) -> GroupCommit:
        """Group commit for api.php requests' transactions, as the settings have it when first used."""
        return GroupCommit(self.db, lanes=self.settings.group_commit_lanes, most=self.settings.group_commit,
                           name=API_BATCHES)

    def clear_caches(self) -> None:
        self.ids.clear()
        self.cache.clear()


async def load_system(conn: AsyncConnection) -> dict[str, Any]:
    """The first `system_settings` row (every column we know), or {} when there is none."""
    row = (await conn.execute(sa.select(system_settings).limit(1))).mappings().first()
    return dict(row) if row else {}
