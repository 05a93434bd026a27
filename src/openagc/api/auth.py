"""Who is calling: credentials, the lockout, IP lists, API access and per-function permission.

Upstream's `user_authorization()` facts, with the hazards of spec/api-common.md §18 fixed:
the password is compared exactly (never by a case-insensitive collation), a bcrypt helper that
cannot hash fails closed, and the lockout does what it says (see `LOCKOUT_*`).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.passhash import verify_pass_hash
from openagc.store.schema import (
    servers,
    vicidial_ip_list_entries,
    vicidial_user_groups,
    vicidial_users,
)

LOCKOUT_FAILURES = 10
LOCKOUT_SECONDS = 900

GOOD, BAD, LOCK, ERRSERVERS, IPBLOCK = "GOOD", "BAD", "LOCK", "ERRSERVERS", "IPBLOCK"

U = vicidial_users.c
USER_COLUMNS = (
    U.user,
    U["pass"],
    U.pass_hash,
    U.user_level,
    U.active,
    U.user_group,
    U.vdc_agent_api_access,
    U.api_allowed_functions,
    U.selected_language,
    U.ignore_ip_list,
    U.failed_login_count,
    U.last_login_date,
    U.api_list_restrict,
)


@dataclass(frozen=True)
class ApiUser:
    """The authenticated API caller (the `user` parameter), as the functions need it."""

    user: str
    user_group: str
    api_allowed_functions: str
    selected_language: str

    def may_use(self, function: str) -> bool:
        """Upstream's rule: ` {function} ` in the list, or `ALL_FUNCTIONS` anywhere in it."""
        allowed = self.api_allowed_functions
        return f" {function} " in allowed or "ALL_FUNCTIONS" in allowed


@dataclass(frozen=True)
class AuthResult:
    code: str  # GOOD, BAD, LOCK, ERRSERVERS, IPBLOCK
    api_access: bool
    user: ApiUser | None

    @property
    def ok(self) -> bool:
        return self.code == GOOD and self.api_access


SELECT_USER = sa.select(*USER_COLUMNS).where(U.user == sa.bindparam("user")).limit(1)


async def load_user(conn: AsyncConnection, user: str) -> sa.RowMapping | None:
    """The caller's `vicidial_users` row (one query serves language, permissions and credentials)."""
    return (await conn.execute(SELECT_USER, {"user": user})).mappings().first()


def _locked(row: sa.RowMapping, now: datetime) -> bool:
    """Locked while `LOCKOUT_FAILURES` failures stand and the lock (or window) began < 15 min ago."""
    count = row["failed_login_count"] or 0
    since = row["last_login_date"]
    return count >= LOCKOUT_FAILURES and since is not None and now - since < timedelta(seconds=LOCKOUT_SECONDS)


def _password_matches(row: sa.RowMapping, password: str, system: dict[str, Any]) -> bool:
    if str(system.get("pass_hash_enabled") or "0") != "0":
        return verify_pass_hash(
            password, row["pass_hash"] or "", system.get("pass_key") or "", int(system.get("pass_cost") or 2)
        )
    stored = row["pass"] or ""
    return bool(stored) and hmac.compare_digest(stored.encode(), password.encode())


async def _record_failure(conn: AsyncConnection, row: sa.RowMapping, now: datetime, client_ip: str, code: str) -> None:
    """Count a failed attempt. The window opens at the first failure; the 10th starts a 15-minute lock."""
    values: dict[str, Any] = {
        "failed_login_attempts_today": U.failed_login_attempts_today + 1,
        "failed_last_ip_today": client_ip[:50],
    }
    if code == LOCK:
        values["failed_last_type_today"] = "03cLOCK"
    elif code == BAD:
        count = row["failed_login_count"] or 0
        since = row["last_login_date"]
        window_open = since is not None and now - since < timedelta(seconds=LOCKOUT_SECONDS) and 0 < count
        values["failed_login_count_today"] = U.failed_login_count_today + 1
        if window_open and count < LOCKOUT_FAILURES:
            values["failed_login_count"] = U.failed_login_count + 1  # concurrent failures all count
            values["failed_last_type_today"] = "01cBAD"
            if count + 1 >= LOCKOUT_FAILURES:
                values["last_login_date"] = now  # the lock runs 15 minutes from this failure
        else:
            values["failed_login_count"] = 1
            values["last_login_date"] = now
            values["failed_last_type_today"] = "01cBAD" if count == 0 else "02cBAD"
    else:
        values["failed_last_type_today"] = f"04c{code}"
    await conn.execute(sa.update(vicidial_users).where(U.user == row["user"]).values(**values))


async def _ip_allowed(conn: AsyncConnection, row: sa.RowMapping, client_ip: str, system: dict[str, Any]) -> bool:
    """IP white/black lists (only when `system_settings.allow_ip_lists` > 0)."""
    if str(system.get("allow_ip_lists") or "0") == "0" or str(row["ignore_ip_list"] or "0") != "0":
        return True
    candidates = {client_ip}
    if "." in client_ip:
        candidates.add(client_ip.rsplit(".", 1)[0] + ".x")
    E = vicidial_ip_list_entries.c

    async def listed(list_id: str) -> bool:
        hit = await conn.execute(
            sa.select(sa.func.count())
            .select_from(vicidial_ip_list_entries)
            .where(E.ip_list_id == list_id, E.ip_address.in_(candidates))
        )
        return (hit.scalar() or 0) > 0

    blacklist = system.get("system_ip_blacklist") or ""
    if len(blacklist) > 1 and await listed(blacklist):
        return False
    group = await conn.execute(
        sa.select(vicidial_user_groups.c.api_ip_list).where(vicidial_user_groups.c.user_group == row["user_group"])
    )
    whitelist = group.scalar()
    if whitelist and len(whitelist) > 1:
        return await listed(whitelist)
    return True


async def servers_active(conn: AsyncConnection) -> bool:
    """At least one active server with an active Asterisk (else every login answers ERRSERVERS)."""
    S = servers.c
    n = await conn.execute(
        sa.select(sa.func.count()).select_from(servers).where(S.active == "Y", S.active_asterisk_server == "Y")
    )
    return (n.scalar() or 0) > 0


async def authenticate(
    conn: AsyncConnection,
    user: str,
    password: str,
    *,
    client_ip: str,
    now: datetime,
    system: dict[str, Any],
    row: sa.RowMapping | None,
    servers_ok: Callable[[], Awaitable[bool]] | None = None,
) -> AuthResult:
    """Check the API caller; writes the failure counters, and resets them on a success that follows failures."""
    if row is None or len(user) < 2 or len(password) < 2:
        if row is not None:
            await _record_failure(conn, row, now, client_ip, BAD)
        return AuthResult(BAD, False, None)
    if _locked(row, now):
        await _record_failure(conn, row, now, client_ip, LOCK)
        return AuthResult(LOCK, row["vdc_agent_api_access"] == "1", None)
    usable = (row["user_level"] or 0) > 0 and row["active"] == "Y"
    if not (usable and _password_matches(row, password, system)):
        await _record_failure(conn, row, now, client_ip, BAD)
        return AuthResult(BAD, row["vdc_agent_api_access"] == "1", None)
    code = GOOD
    if not await (servers_ok() if servers_ok else servers_active(conn)):
        code = ERRSERVERS
    elif not await _ip_allowed(conn, row, client_ip, system):
        code = IPBLOCK
    if code != GOOD:
        await _record_failure(conn, row, now, client_ip, code)
        return AuthResult(code, row["vdc_agent_api_access"] == "1", None)
    if row["failed_login_count"]:
        await conn.execute(sa.update(vicidial_users).where(U.user == row["user"]).values(failed_login_count=0))
    api_user = ApiUser(
        user=row["user"],
        user_group=row["user_group"] or "",
        api_allowed_functions=row["api_allowed_functions"] or "",
        selected_language=row["selected_language"] or "",
    )
    return AuthResult(GOOD, row["vdc_agent_api_access"] == "1", api_user)
