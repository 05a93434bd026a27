"""The ids the api log rows name: `vicidial_webservers` and `vicidial_urls`, cached per process."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from openagc.store.database import Database
from openagc.store.schema import vicidial_urls, vicidial_webservers


class Ids:
    """`vicidial_webservers` / `vicidial_urls` ids, looked up (or inserted) once per process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._webservers: dict[tuple[str, str], int] = {}
        self._urls: dict[str, int] = {}

    def clear(self) -> None:
        self._webservers.clear()
        self._urls.clear()

    async def _get_or_insert(self, table: sa.Table, key_col: str, where: dict[str, str]) -> int:
        cond = [table.c[k] == v for k, v in where.items()]
        for attempt in range(2):
            async with self.db.begin() as conn:
                found = (await conn.execute(sa.select(table.c[key_col]).where(*cond).limit(1))).scalar()
                if found is not None:
                    return int(found)
                try:
                    result = await conn.execute(sa.insert(table).values(**where))
                    return int(result.inserted_primary_key[0])
                except IntegrityError:  # another process inserted it first
                    if attempt:
                        raise
        raise AssertionError("unreachable")

    async def webserver(self, server_name: str, hostname: str) -> int:
        key = (server_name[:125] or "X", hostname[:125] or "X")
        if key not in self._webservers:
            self._webservers[key] = await self._get_or_insert(
                vicidial_webservers, "webserver_id", {"webserver": key[0], "hostname": key[1]}
            )
        return self._webservers[key]

    async def url(self, page: str) -> int:
        page = page[:250]
        if page not in self._urls:
            self._urls[page] = await self._get_or_insert(vicidial_urls, "url_id", {"url": page})
        return self._urls[page]
