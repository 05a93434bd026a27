"""Who is calling: credentials, the lockout, IP lists, API access and per-function permission.

Upstream's `user_authorization()` facts, with the hazards of spec/api-common.md §18 fixed:
the password is compared exactly and in constant time (never by a case-insensitive collation), a bcrypt
helper that cannot hash fails closed, and the lockout does what it says and cannot be turned against the
account's owner (`Lockout`; the rule is in docs/compatibility.md and docs/security.md).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.passhash import verify_pass_hash
from openagc.store import executor
from openagc.store.group_commit import note_written
from openagc.store.schema import (
    openagc_login_failures,
    servers,
    vicidial_ip_list_entries,
    vicidial_user_groups,
    vicidial_users,
)

LOCKOUT_FAILURES = 10
LOCKOUT_SECONDS = 900


@dataclass(frozen=True)
class Lockout:
    """The lockout rule.

    `failures` failed logins for one user from one source (an IPv4 address, an IPv6 /64) within `seconds`
    lock that user *from that source* for `seconds` from the last of them; the account keeps working from
    everywhere else. `user_failures` failed logins for the user from all sources together within `seconds`
    (`vicidial_users.failed_login_count`, window start in `last_login_date`) lock the user everywhere: since one
    source can add at most `failures` per window, that takes a distributed attack. Attempts refused during a
    lock are not counted and do not extend it; a success clears its own source's count.
    """

    failures: int = LOCKOUT_FAILURES
    user_failures: int = 50
    seconds: int = LOCKOUT_SECONDS

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


ON_RECORD = "on_record"  # a caller's row read with `client_ip`: the failures on record from its source, or None


@functools.cache
def select_user_with_source() -> sa.Select:
    """`SELECT_USER` with the failures on record for the user from `:source` beside its row (a left join; see
    `caller_row`)."""
    on = sa.and_(F.user == U.user, F.source == sa.bindparam("source"))
    return (sa.select(*USER_COLUMNS, F.failures.label("source_failures"), F.window_start.label("source_since"))
            .select_from(vicidial_users.outerjoin(openagc_login_failures, on))
            .where(U.user == sa.bindparam("user")).limit(1))


def caller_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of `select_user_with_source` as `load_user`'s, the source's failures under `ON_RECORD`."""
    failures, since = row.pop("source_failures"), row.pop("source_since")
    row[ON_RECORD] = None if failures is None else {"failures": failures, "window_start": since}
    return row


async def load_user(conn: AsyncConnection, user: str, client_ip: str | None = None) -> Mapping[str, Any] | None:
    """The caller's `vicidial_users` row (one query serves language, permissions and credentials); with
    `client_ip`, the failures on record from its source (what the lockout reads) in the same statement."""
    if client_ip is None:
        return await executor.fetch_one(conn, SELECT_USER, {"user": user})
    row = await executor.fetch_one(conn, select_user_with_source(), {"user": user, "source": source_of(client_ip)})
    return None if row is None else caller_row(row)


def source_of(client_ip: str) -> str:
    """The source a failure is counted against: the IPv4 address, or the /64 of an IPv6 address."""
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return client_ip[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


F = openagc_login_failures.c


def _user_locked(row: sa.RowMapping, now: datetime, rule: Lockout) -> bool:
    count = row["failed_login_count"] or 0
    since = row["last_login_date"]
    return count >= rule.user_failures and since is not None and now - since < timedelta(seconds=rule.seconds)


SOURCE_FAILURES = sa.select(F.failures, F.window_start).where(
    F.user == sa.bindparam("user"), F.source == sa.bindparam("source"))


async def _source_failures(conn: AsyncConnection, user: str, source: str) -> dict[str, Any] | None:
    """The failures on record for `user` from `source` (count and window start), or None."""
    return await executor.fetch_one(conn, SOURCE_FAILURES, {"user": user, "source": source})


def _source_lock_holds(found: Mapping[str, Any] | None, now: datetime, rule: Lockout) -> bool:
    return found is not None and found["failures"] >= rule.failures and now - found["window_start"] < timedelta(
        seconds=rule.seconds)


def _password_matches(row: sa.RowMapping, password: str, system: dict[str, Any]) -> bool:
    if str(system.get("pass_hash_enabled") or "0") != "0":
        return verify_pass_hash(
            password, row["pass_hash"] or "", system.get("pass_key") or "", int(system.get("pass_cost") or 2)
        )
    stored = row["pass"] or ""
    return bool(stored) and hmac.compare_digest(stored.encode(), password.encode())


def _same_work_for_unknown_user(password: str, system: dict[str, Any]) -> None:
    """Spend a hash computation when the user does not exist, so timing does not tell who exists."""
    if str(system.get("pass_hash_enabled") or "0") != "0":
        verify_pass_hash(password, "x" * 31, system.get("pass_key") or "", int(system.get("pass_cost") or 2))


async def _count_failure(conn: AsyncConnection, user: str, source: str, now: datetime, rule: Lockout) -> bool:
    """Count one failure for (user, source) and for the user, atomically; False when a lock already holds.

    Each step is a conditional UPDATE, so concurrent failures serialise on the row and never pass the
    threshold (SQLite: one writer at a time; MariaDB: the row lock, the WHERE re-read at the latest version).
    """
    cutoff = now - timedelta(seconds=rule.seconds)
    await conn.execute(sa.delete(openagc_login_failures).where(
        F.user == user, F.source == source, F.window_start <= cutoff))
    row = {"user": user, "source": source, "failures": 0, "window_start": now}
    if conn.dialect.name == "sqlite":
        await conn.execute(sqlite.insert(openagc_login_failures).values(**row).on_conflict_do_nothing())
    else:  # a no-op update on a duplicate key (INSERT IGNORE would log a warning each time)
        await conn.execute(mysql.insert(openagc_login_failures).values(**row).on_duplicate_key_update(
            failures=openagc_login_failures.c.failures))
    counted = await conn.execute(
        sa.update(openagc_login_failures)
        .where(F.user == user, F.source == source, F.failures < rule.failures)
        # window_start first: MariaDB evaluates later assignments with the new values, SQLite with the old
        .ordered_values((F.window_start, sa.case((F.failures + 1 >= rule.failures, now), else_=F.window_start)),
                        (F.failures, F.failures + 1))
    )
    if counted.rowcount != 1:
        return False
    await conn.execute(sa.update(vicidial_users).where(
        U.user == user, U.failed_login_count > 0, sa.or_(U.last_login_date.is_(None), U.last_login_date <= cutoff)
    ).values(failed_login_count=0))
    await conn.execute(
        sa.update(vicidial_users)
        .where(U.user == user, U.failed_login_count < rule.user_failures)
        .ordered_values(
            (U.last_login_date, sa.case(
                (sa.or_(U.failed_login_count == 0, U.failed_login_count + 1 >= rule.user_failures), now),
                else_=U.last_login_date)),
            (U.failed_login_count, U.failed_login_count + 1))
    )
    return True


#: upstream's `failed_*_today` notes of a refusal (`record_failure`); a BAD one also counts and keeps the address.
NOTE_REFUSAL = sa.update(vicidial_users).where(U.user == sa.bindparam("where_user")).values(
    failed_login_attempts_today=U.failed_login_attempts_today + 1,
    failed_last_type_today=sa.bindparam("refusal_kind"))
NOTE_BAD = sa.update(vicidial_users).where(U.user == sa.bindparam("where_user")).values(
    failed_login_attempts_today=U.failed_login_attempts_today + 1,
    failed_last_type_today=sa.bindparam("refusal_kind"),
    failed_login_count_today=U.failed_login_count_today + 1,
    failed_last_ip_today=sa.bindparam("refusal_ip"))


async def record_failure(conn: AsyncConnection, row: sa.RowMapping, now: datetime, client_ip: str, code: str,
                          rule: Lockout) -> str:
    """Count a failed attempt (BAD only) and note it in upstream's `failed_*_today` columns; the final code.

    As upstream: every refusal adds to `failed_login_attempts_today` and sets `failed_last_type_today`; only a
    BAD one also adds to `failed_login_count_today` and writes the client's address to `failed_last_ip_today`
    (a LOCK, ERRSERVERS or IPBLOCK refusal leaves the last failing address as it was).
    """
    note_written(row["user"])  # the bodies after this one in its batch read this user's rows for themselves
    if code == BAD and not await _count_failure(conn, row["user"], source_of(client_ip), now, rule):
        code = LOCK
    kind = {BAD: "01cBAD", LOCK: "03cLOCK"}.get(code, f"04c{code}")
    if code == BAD:
        await executor.execute(conn, NOTE_BAD, {"where_user": row["user"], "refusal_kind": kind,
                                                "refusal_ip": client_ip[:50]})
    else:
        await executor.execute(conn, NOTE_REFUSAL, {"where_user": row["user"], "refusal_kind": kind})
    return code


CLEAR_SOURCE = sa.delete(openagc_login_failures).where(
    F.user == sa.bindparam("where_user"), F.source == sa.bindparam("where_source"),
    sa.or_(F.failures < sa.bindparam("below"), F.window_start <= sa.bindparam("cutoff")))
USER_FAILURES = sa.select(U.failed_login_count, U.last_login_date).where(U.user == sa.bindparam("user"))


async def _clear_source(conn: AsyncConnection, row: sa.RowMapping, source: str, on_record: Mapping[str, Any] | None,
                        now: datetime, rule: Lockout) -> bool:
    """After a right password: clear this source's failures (`on_record`, read by the lock check) unless a lock
    holds now (then False).

    A user whose count is not zero (upstream never resets it for an API user) costs one more read when this source
    has no failures on record, the usual case; otherwise the conditional delete clears them unless they lock it."""
    if not row["failed_login_count"]:  # no failure counted for this user anywhere (every failure adds one)
        return True
    if on_record is not None:
        note_written(row["user"])
        await executor.execute(conn, CLEAR_SOURCE, {"where_user": row["user"], "where_source": source,
                                                    "below": rule.failures,
                                                    "cutoff": now - timedelta(seconds=rule.seconds)})
        if _source_lock_holds(await _source_failures(conn, row["user"], source), now, rule):
            return False
    fresh = await executor.fetch_one(conn, USER_FAILURES, {"user": row["user"]})
    return fresh is None or not _user_locked(fresh, now, rule)


def usable(row: sa.RowMapping) -> bool:
    """An account that may log in at all: active, with a user level above 0."""
    return (row["user_level"] or 0) > 0 and row["active"] == "Y"


async def check_password(
    conn: AsyncConnection,
    user: str,
    password: str,
    *,
    client_ip: str,
    now: datetime,
    system: dict[str, Any],
    row: sa.RowMapping | None,
    rule: Lockout,
    also: Callable[[], Awaitable[bool]] | None = None,
) -> str:
    """Credentials and the lockout only (api.php and /agent/login share them): GOOD, BAD or LOCK.

    `also` is a further credential (the agent's phone) checked after the password and counted like it.
    """
    if row is None:
        _same_work_for_unknown_user(password, system)
        return BAD
    if len(user) < 2 or len(password) < 2:
        return await record_failure(conn, row, now, client_ip, BAD, rule)
    source = source_of(client_ip)
    on_record = None
    if row["failed_login_count"]:  # read with the row, or now
        on_record = row[ON_RECORD] if ON_RECORD in row else await _source_failures(conn, row["user"], source)
    if row["failed_login_count"] and (_user_locked(row, now, rule) or _source_lock_holds(on_record, now, rule)):
        return await record_failure(conn, row, now, client_ip, LOCK, rule)
    if not (_password_matches(row, password, system) and usable(row)) or (also is not None and not await also()):
        return await record_failure(conn, row, now, client_ip, BAD, rule)
    if not await _clear_source(conn, row, source, on_record, now, rule):
        return await record_failure(conn, row, now, client_ip, LOCK, rule)
    return GOOD


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
    rule: Lockout = Lockout(),
    by_key: bool = False,
) -> AuthResult:
    """Check the API caller; counts failures (see `Lockout`).

    `by_key`: the caller proved itself with a live API key of `user` (integrations/keys.py) instead of a password,
    so the password and the lockout are skipped (a key is refused without counting towards it); every later check
    is the same.
    """
    if by_key:
        code = GOOD if row is not None and usable(row) else BAD
        if code != GOOD:
            return AuthResult(code, False, None)
    else:
        code = await check_password(conn, user, password, client_ip=client_ip, now=now, system=system, row=row,
                                    rule=rule)
    if row is None:
        return AuthResult(BAD, False, None)
    api_access = row["vdc_agent_api_access"] == "1"
    if code != GOOD:
        return AuthResult(code, api_access, None)
    if not await (servers_ok() if servers_ok else servers_active(conn)):
        code = ERRSERVERS
    elif not await _ip_allowed(conn, row, client_ip, system):
        code = IPBLOCK
    if code != GOOD:
        await record_failure(conn, row, now, client_ip, code, rule)
        return AuthResult(code, api_access, None)
    api_user = ApiUser(
        user=row["user"],
        user_group=row["user_group"] or "",
        api_allowed_functions=row["api_allowed_functions"] or "",
        selected_language=row["selected_language"] or "",
    )
    return AuthResult(GOOD, api_access, api_user)
