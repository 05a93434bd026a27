"""Webhook subscriptions (`openagc_webhooks`) and the log of every delivery attempt (`openagc_webhook_attempts`).

A subscription says where events are POSTed (`url`), which ones (kinds, campaigns, user groups, agents: each a
space-separated list, empty for any), on whose behalf (`owner`, an API user: only events that user may see are
delivered), how far delivery has come (`last_event_id`, advanced only after a 2xx) and how it is going (`failures`
in a row, `next_attempt_ms`, `active`). `lease_owner` / `lease_until_ms` are the lease of the one dispatcher that
delivers it at a time (`dispatch.py`).

The secret is the HMAC key, so it is kept as given (`whsec_…`, see `signing.py`): whoever can read this table
can sign deliveries. It is shown once, when the subscription is created, and never listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.integrations.agent_events import KINDS
from openagc.integrations.webhooks import signing
from openagc.integrations.webhooks.scope import scope_of_owner
from openagc.store import event_log
from openagc.store.event_log import EventFilter
from openagc.store.schema import openagc_webhook_attempts, openagc_webhooks

W, A = openagc_webhooks.c, openagc_webhook_attempts.c
MAX_URL = 1000
# Each filter list: its longest value (the event log's column width) and at most this many values.
FILTERS = {"kinds": 40, "campaigns": 8, "user_groups": 20, "agents": 20}
MAX_VALUES = 50
_VALUE = re.compile(r"^[A-Za-z0-9_.:@-]+$")


class Invalid(ValueError):
    """Input that cannot make a subscription (the message says why; nothing was written)."""


@dataclass(frozen=True)
class Subscription:
    """A subscription as stored (without its secret, which only the dispatcher reads)."""

    id: int
    url: str
    owner: str
    kinds: frozenset[str] | None
    campaigns: frozenset[str] | None
    user_groups: frozenset[str] | None
    agents: frozenset[str] | None
    active: bool
    failures: int
    last_event_id: int
    next_attempt_ms: int
    delivered: int
    failed: int
    created_ms: int
    disabled_ms: int | None
    disabled_reason: str

    @classmethod
    def of(cls, row: Any) -> Subscription:
        return cls(id=int(row.webhook_id), url=row.url, owner=row.owner, kinds=_set(row.kinds),
                   campaigns=_set(row.campaigns), user_groups=_set(row.user_groups), agents=_set(row.agents),
                   active=row.active == "Y", failures=int(row.failures), last_event_id=int(row.last_event_id),
                   next_attempt_ms=int(row.next_attempt_ms), delivered=int(row.delivered), failed=int(row.failed),
                   created_ms=int(row.created_ms),
                   disabled_ms=None if row.disabled_ms is None else int(row.disabled_ms),
                   disabled_reason=row.disabled_reason or "")

    def filter(self) -> EventFilter:
        """The subscription's event filter (the owner's scope is applied on top, see `dispatch.Scope`)."""
        return EventFilter(kinds=self.kinds, users=self.agents, campaigns=self.campaigns, user_groups=self.user_groups)

    def public(self) -> dict[str, Any]:
        """The JSON form of the admin endpoint (never the secret)."""
        return {
            "id": self.id, "url": self.url, "owner": self.owner, "active": self.active,
            "kinds": _list(self.kinds), "campaigns": _list(self.campaigns), "user_groups": _list(self.user_groups),
            "agents": _list(self.agents), "last_event_id": self.last_event_id, "failures": self.failures,
            "next_attempt": iso(self.next_attempt_ms) if self.next_attempt_ms else None,
            "delivered": self.delivered, "failed": self.failed, "created": iso(self.created_ms),
            "disabled": iso(self.disabled_ms) if self.disabled_ms is not None else None,
            "disabled_reason": self.disabled_reason,
        }


@dataclass(frozen=True)
class NewSubscription:
    """Validated input of a new subscription."""

    url: str
    owner: str
    secret: str
    kinds: frozenset[str] | None = None
    campaigns: frozenset[str] | None = None
    user_groups: frozenset[str] | None = None
    agents: frozenset[str] | None = None


def iso(ms: int) -> str:
    """Milliseconds since the epoch as ISO 8601 UTC (the event log's form)."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _set(text: str | None) -> frozenset[str] | None:
    values = (text or "").split()
    return frozenset(values) if values else None


def _list(values: frozenset[str] | None) -> list[str] | None:
    return None if values is None else sorted(values)


def _text(values: frozenset[str] | None) -> str:
    return " ".join(sorted(values)) if values else ""


def check_url(url: Any) -> str:
    """An absolute http(s) URL with a host, at most `MAX_URL` characters."""
    if not isinstance(url, str) or not url.strip():
        raise Invalid("url is required: the http:// or https:// address events are POSTed to")
    url = url.strip()
    if len(url) > MAX_URL:
        raise Invalid(f"url is longer than {MAX_URL} characters")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise Invalid(f"url {url!r} is not a URL ({exc})") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise Invalid(f"url {url!r} must be an absolute http:// or https:// URL")
    if any(ch.isspace() for ch in url) or not 0 < (parsed.port or 80) < 65536:
        raise Invalid(f"url {url!r} is not a URL (a space, or a port out of range)")
    return url


def check_values(name: str, values: Any) -> frozenset[str] | None:
    """One filter list: None (any) or 1 to `MAX_VALUES` values of letters, digits and `_ . : @ -`."""
    if values is None:
        return None
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise Invalid(f"{name} must be a list of values")
    values = list(values)
    if not values:
        raise Invalid(f"{name}: give at least one value, or leave it out for any")
    if len(values) > MAX_VALUES:
        raise Invalid(f"{name}: at most {MAX_VALUES} values")
    longest = FILTERS[name]
    for value in values:
        if not isinstance(value, str) or not _VALUE.match(value) or len(value) > longest:
            raise Invalid(f"{name}: {value!r} is not a value of up to {longest} letters, digits, _ . : @ or -")
    unknown = sorted(set(values) - KINDS) if name == "kinds" else []
    if unknown:  # as the event stream's `type`: a misspelt kind would silently match nothing
        raise Invalid(f"kinds: unknown event type {', '.join(unknown)} (known: {', '.join(sorted(KINDS))})")
    return frozenset(values)


def check_secret(secret: Any) -> str:
    """A given secret in the Standard Webhooks form, or a new one when none is given."""
    if secret is None or secret == "":
        return signing.new_secret()
    if not isinstance(secret, str):
        raise Invalid("secret must be a string")
    try:
        signing.key_of(secret)
    except signing.SecretError as exc:
        raise Invalid(f"{exc} (leave the secret out to have one generated)") from None
    return secret


def new_subscription(owner: str, fields: Mapping[str, Any]) -> NewSubscription:
    """Validate a subscription's fields (`url`, `secret` and the filter lists; nothing else is accepted)."""
    unknown = sorted(set(fields) - {"url", "secret", *FILTERS})
    if unknown:
        raise Invalid(f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} (known: url, secret, "
                      f"{', '.join(FILTERS)})")
    lists = {name: check_values(name, fields.get(name)) for name in FILTERS}
    return NewSubscription(url=check_url(fields.get("url")), owner=owner, secret=check_secret(fields.get("secret")),
                           **lists)


async def create(conn: AsyncConnection, new: NewSubscription, now_ms: int) -> Subscription:
    """Insert `new`; delivery starts with the events appended after this moment. `NotPermitted` when its owner may
    not read events."""
    await scope_of_owner(conn, new.owner)
    start = await event_log.last_id(conn)
    result = await conn.execute(sa.insert(openagc_webhooks).values(
        url=new.url, owner=new.owner, secret=new.secret, kinds=_text(new.kinds), campaigns=_text(new.campaigns),
        user_groups=_text(new.user_groups), agents=_text(new.agents), active="Y", failures=0, last_event_id=start,
        next_attempt_ms=0, delivered=0, failed=0, created_ms=now_ms, disabled_reason="", lease_owner="",
        lease_until_ms=0))
    found = await get(conn, int(result.inserted_primary_key[0]))
    assert found is not None
    return found


async def get(conn: AsyncConnection, webhook_id: int) -> Subscription | None:
    row = (await conn.execute(sa.select(openagc_webhooks).where(W.webhook_id == webhook_id))).first()
    return Subscription.of(row) if row else None


async def secret_of(conn: AsyncConnection, webhook_id: int) -> str | None:
    return (await conn.execute(sa.select(W.secret).where(W.webhook_id == webhook_id))).scalar()


async def listed(conn: AsyncConnection, owner: str | None = None) -> list[Subscription]:
    """Every subscription (or `owner`'s), by id."""
    query = sa.select(openagc_webhooks).order_by(W.webhook_id)
    if owner is not None:
        query = query.where(W.owner == owner)
    return [Subscription.of(row) for row in await conn.execute(query)]


async def remove(conn: AsyncConnection, webhook_id: int) -> bool:
    """Delete a subscription and its attempt log; False when there is none."""
    gone = await conn.execute(sa.delete(openagc_webhooks).where(W.webhook_id == webhook_id))
    if gone.rowcount == 0:
        return False
    await conn.execute(sa.delete(openagc_webhook_attempts).where(A.webhook_id == webhook_id))
    return True


async def enable(conn: AsyncConnection, webhook_id: int) -> Subscription | None:
    """Make a subscription active again with a clean failure count: delivery resumes after its cursor."""
    await conn.execute(sa.update(openagc_webhooks).where(W.webhook_id == webhook_id).values(
        active="Y", failures=0, next_attempt_ms=0, disabled_ms=None, disabled_reason=""))
    return await get(conn, webhook_id)


async def log_attempt(conn: AsyncConnection, *, webhook_id: int, event_id: int, attempt: int, at_ms: int,
                      status: int | None, error: str, duration_ms: int, dispatcher: str) -> None:
    """One row of the attempt log (`event_id` 0: a test delivery of `openagc webhooks test`)."""
    await conn.execute(sa.insert(openagc_webhook_attempts).values(
        webhook_id=webhook_id, event_id=event_id, attempt=attempt, attempted_ms=at_ms, status=status,
        error=error[:255], duration_ms=max(0, duration_ms), dispatcher=dispatcher[:64]))


async def attempts_of(conn: AsyncConnection, webhook_id: int, event_id: int) -> int:
    """How many attempts the log holds for one event of one subscription."""
    query = sa.select(sa.func.count()).select_from(openagc_webhook_attempts).where(
        A.webhook_id == webhook_id, A.event_id == event_id)
    return int((await conn.execute(query)).scalar_one())


async def prune_attempts(conn: AsyncConnection, *, older_than_ms: int, batch: int = 5000) -> int:
    """Delete up to `batch` attempt rows made before `older_than_ms`; returns how many went."""
    ids = [row[0] for row in await conn.execute(
        sa.select(A.attempt_id).where(A.attempted_ms < older_than_ms).order_by(A.attempt_id).limit(batch))]
    if ids:
        await conn.execute(sa.delete(openagc_webhook_attempts).where(A.attempt_id.in_(ids)))
    return len(ids)
