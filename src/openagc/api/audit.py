"""The api log: one `vicidial_api_log` row per printed line, and its `vicidial_api_urls` twin."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store import executor
from openagc.store.schema import vicidial_api_log, vicidial_api_urls

# Built once and run through the executor (compiled once, straight on the driver): the hot path writes these
# two rows for every answer.
INSERT_LOG = sa.insert(vicidial_api_log)
INSERT_URL = sa.insert(vicidial_api_urls)


def log_rows(
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
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One log row and its URL row, whose `api_id` is the log row's id once written (one clock for both: ours,
    never the database's).

    `script` is `vicidial_api_log.api_script`: `agent` for api.php, `non-agent` for non_agent_api.php (upstream's).

    Values are cut to their columns so strict SQL accepts them (upstream relied on silent truncation).
    """
    log = {
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
    }
    return log, {"api_id": None, "api_date": api_date, "remote_ip": remote_ip[:50], "url": url}


async def write_log(conn: AsyncConnection, **fields: Any) -> int:
    """Insert one log row and its URL row (`log_rows` takes the fields); the log row's id."""
    log, url = log_rows(**fields)
    api_id = int((await executor.execute(conn, INSERT_LOG, log)).lastrowid or 0)
    await executor.execute(conn, INSERT_URL, url | {"api_id": api_id})
    return api_id
