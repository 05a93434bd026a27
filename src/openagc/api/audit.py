"""The api log: one `vicidial_api_log` row per printed line, and its `vicidial_api_urls` twin."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store.database import Database
from openagc.store.schema import vicidial_api_log, vicidial_api_urls, vicidial_urls, vicidial_webservers


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


# Built once: executing a prepared Core statement with a parameter dict skips statement construction
# and cache-key generation on every request (the hot path writes these two rows for every answer).
INSERT_LOG = sa.insert(vicidial_api_log)
INSERT_URL = sa.insert(vicidial_api_urls)


async def write_log(
    conn: AsyncConnection,
    *,
    user: str,
    agent_user: str,
    function: str,
    value: str,
    result: str,
    reason: str,
    source: str,
    data: str,
    api_date,
    run_time: float,
    webserver: int,
    api_url: int,
    remote_ip: str,
    url: str,
    script: str = "agent",
) -> int:
    """Insert one log row and its URL row (one clock for both: ours, never the database's).

    `script` is `vicidial_api_log.api_script`: `agent` for api.php, `non-agent` for non_agent_api.php (upstream's).

    Values are cut to their columns so strict SQL accepts them (upstream relied on silent truncation).
    """
    inserted = await conn.execute(
        INSERT_LOG,
        {
            "user": user[:20],
            "agent_user": agent_user[:20],
            "function": function[:20],
            "value": value[:255],
            "result": result[:10],
            "result_reason": reason[:255],
            "source": source[:20],
            "data": data.replace('"', "'"),
            "api_date": api_date,
            "api_script": script,
            "run_time": f"{run_time:.6f}"[:20],
            "webserver": webserver,
            "api_url": api_url,
        },
    )
    api_id = int(inserted.inserted_primary_key[0])
    await conn.execute(INSERT_URL, {"api_id": api_id, "api_date": api_date, "remote_ip": remote_ip[:50], "url": url})
    return api_id
