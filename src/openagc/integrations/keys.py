"""API keys: an integrator's credential that is not a password in the URL (ours; upstream has none).

A key is `oagc_<public id>_<secret>`: a 12-hex-digit public id that finds the row, and a 256-bit random secret of
which only the SHA-256 is stored (`openagc_api_keys.secret_sha256`; a fast hash is right for a random token — there
is nothing to guess — and it is compared in constant time). The key is shown once, when it is made
(`openagc keys create`), and never logged. It is sent as `Authorization: Bearer <key>` and acts as its user, with
that user's permissions and every check api.php makes after the password (docs/api-keys.md).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store.schema import openagc_api_keys, vicidial_users

K = openagc_api_keys.c
PREFIX = "oagc"
PUBLIC_ID_HEX = 12
TOUCH_SECONDS = 60  # `last_used` is written at most once a minute per key and process
NAME_CHARS = 100
_DECOY = hashlib.sha256(b"no such key").hexdigest()


class KeyProblem(ValueError):
    """A key operation that cannot be done (unknown user or key, bad name or rate); nothing was changed."""


@dataclass(frozen=True)
class ApiKey:
    """A live key, as a request sees it: whose it is and its own rate (None: the `api_key_rate` setting)."""

    key_id: int
    public_id: str
    user: str
    rate: int | None


def digest(secret: str) -> str:
    """The stored form of a secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> tuple[str, str, str]:
    """(public id, secret, the key as given to the integrator)."""
    public_id = secrets.token_hex(PUBLIC_ID_HEX // 2)
    secret = secrets.token_urlsafe(32)
    return public_id, secret, f"{PREFIX}_{public_id}_{secret}"


def parse(token: str) -> tuple[str, str] | None:
    """(public id, secret) of a key, or None when `token` is not shaped like one."""
    prefix, _, rest = token.partition("_")
    public_id, _, secret = rest.partition("_")
    if prefix != PREFIX or len(public_id) != PUBLIC_ID_HEX or len(secret) < 20 or len(token) > 200:
        return None
    return public_id, secret


def bearer(header: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None for any other scheme."""
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


# --- what the command line does (a sync connection) ---------------------------------------------------------------

def create(conn: sa.Connection, *, user: str, name: str = "", rate: int | None = None,
           now: datetime | None = None) -> tuple[int, str]:
    """Make a key for `user`; returns (its id, the key). The key itself is not kept anywhere."""
    if len(name) > NAME_CHARS:
        raise KeyProblem(f"the name is longer than {NAME_CHARS} characters")
    if rate is not None and rate < 0:
        raise KeyProblem("the rate must be 0 (no limit) or more requests a minute")
    U = vicidial_users.c
    if conn.execute(sa.select(U.user).where(U.user == user).limit(1)).first() is None:
        raise KeyProblem(f"no user {user!r} in vicidial_users")
    public_id, secret, token = new_token()
    result = conn.execute(openagc_api_keys.insert().values(
        public_id=public_id, secret_sha256=digest(secret), user=user, name=name, rate=rate,
        created=(now or datetime.now()).replace(microsecond=0)))
    return int(result.inserted_primary_key[0]), token


def listing(conn: sa.Connection) -> list[dict[str, Any]]:
    """Every key (revoked ones too), oldest first, without anything secret: `prefix` is `oagc_<public id>`."""
    rows = conn.execute(sa.select(K.key_id, K.user, K.name, K.public_id, K.created, K.last_used, K.revoked, K.rate)
                        .order_by(K.key_id)).mappings()
    return [{"id": r["key_id"], "user": r["user"], "name": r["name"], "prefix": f"{PREFIX}_{r['public_id']}",
             "created": r["created"], "last_used": r["last_used"], "revoked": r["revoked"], "rate": r["rate"]}
            for r in rows]


def table(rows: list[dict[str, Any]]) -> str:
    """`listing` as aligned columns (`-` for never / not revoked; rate `default` follows the setting)."""
    head = ("id", "user", "name", "prefix", "created", "last used", "revoked", "rate")

    def shown(value: Any) -> str:
        return "-" if value is None or value == "" else str(value)

    def rate(value: int | None) -> str:
        return "default" if value is None else "no limit" if value == 0 else f"{value}/min"

    lines = [head] + [(str(r["id"]), r["user"], shown(r["name"]), r["prefix"], shown(r["created"]),
                       shown(r["last_used"]), shown(r["revoked"]), rate(r["rate"])) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
                     for line in lines)


def revoke(conn: sa.Connection, key_id: int, now: datetime | None = None) -> datetime | None:
    """Revoke a key at once (every process refuses it from its next request). Returns when it had already been
    revoked, None when this call revoked it; `KeyProblem` for an unknown id."""
    found = conn.execute(sa.select(K.revoked).where(K.key_id == key_id)).first()
    if found is None:
        raise KeyProblem(f"no key {key_id}")
    if found.revoked is not None:
        return found.revoked
    conn.execute(sa.update(openagc_api_keys).where(K.key_id == key_id, K.revoked.is_(None))
                 .values(revoked=(now or datetime.now()).replace(microsecond=0)))
    return None


# --- what a request does (an async connection) --------------------------------------------------------------------

SELECT_KEY = sa.select(K.key_id, K.public_id, K.user, K.rate, K.secret_sha256, K.revoked).where(
    K.public_id == sa.bindparam("public_id")).limit(1)


async def lookup(conn: AsyncConnection, token: str) -> ApiKey | None:
    """The live key `token` is, or None (not a key, unknown, wrong secret, revoked): one indexed read."""
    parts = parse(token)
    if parts is None:
        return None
    public_id, secret = parts
    row = (await conn.execute(SELECT_KEY, {"public_id": public_id})).mappings().first()
    matches = hmac.compare_digest(digest(secret), row["secret_sha256"] if row else _DECOY)
    if row is None or not matches or row["revoked"] is not None:
        return None
    return ApiKey(int(row["key_id"]), row["public_id"], row["user"], None if row["rate"] is None else int(row["rate"]))


_touched: dict[str, float] = {}  # public id → when this process last wrote its `last_used` (monotonic)


async def touch(conn: AsyncConnection, key: ApiKey, now: datetime) -> None:
    """Note the key's use in `last_used`, at most once a minute (per process here, across processes in the
    statement's condition), so busy keys add no write to most requests."""
    due = time.monotonic()
    if due - _touched.get(key.public_id, -TOUCH_SECONDS) < TOUCH_SECONDS:
        return
    if len(_touched) > 10_000:  # keys made and dropped over a long run: forget them all, one extra write each
        _touched.clear()
    _touched[key.public_id] = due
    now = now.replace(microsecond=0)
    await conn.execute(sa.update(openagc_api_keys).where(
        K.key_id == key.key_id,
        sa.or_(K.last_used.is_(None), K.last_used < now - timedelta(seconds=TOUCH_SECONDS))).values(last_used=now))


async def resolve(conn: AsyncConnection, token: str) -> tuple[str, int] | None:
    """(The key's user, its id) for a live key (`integrations.caller` reads `Authorization: Bearer` with it)."""
    key = await lookup(conn, token)
    if key is None:
        return None
    await touch(conn, key, datetime.now())
    return key.user, key.key_id

