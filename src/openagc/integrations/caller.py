"""Who is calling an integrator endpoint (`/api/v1/…`), and what that caller may see.

Credentials never travel in the URL here: HTTP Basic with a VICIdial user and password (checked exactly as
api.php checks them, with the same lockout, IP lists and API access), or `Authorization: Bearer <api key>`.
The caller's scope comes from its user group: `allowed_campaigns` (campaigns) and `admin_viewable_groups`
(the user groups whose agents it may see), as upstream's admin screens and non_agent_api.php read them.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.exceptions import HTTPException
from starlette.requests import Request

from openagc.companion.access import allowed_campaigns, viewable_groups
from openagc.credentials import authenticate, load_user
from openagc.integrations import keys, ratelimit
from openagc.services import Services, load_system
from openagc.store.schema import vicidial_user_groups


class Unauthorized(HTTPException):
    """401 with a `WWW-Authenticate` challenge naming both schemes."""

    def __init__(self, detail: str = "authentication required") -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": 'Basic realm="openagc", Bearer'})


@dataclass(frozen=True)
class Caller:
    """An authenticated integrator: its user, level, group and what that group may see."""

    user: str
    user_level: int
    user_group: str
    api_allowed_functions: str
    campaigns: frozenset[str] | None  # None: every campaign
    viewable_groups: frozenset[str] | None  # None: every user group
    key_id: int | None = None

    def may_see_campaign(self, campaign_id: str) -> bool:
        return self.campaigns is None or campaign_id in self.campaigns

    def may_see_group(self, user_group: str) -> bool:
        return self.viewable_groups is None or user_group in self.viewable_groups


def scope_of(allowed: str | None, viewable: str | None) -> tuple[frozenset[str] | None, frozenset[str] | None]:
    """(campaigns, user groups) of a user group's `allowed_campaigns` and `admin_viewable_groups`, read as upstream
    reads them (`companion.access`); None means every one."""
    return allowed_campaigns(allowed), viewable_groups(viewable)


def basic_credentials(header: str) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic …` header, or None when it is not one."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


async def _caller(conn: AsyncConnection, row: sa.RowMapping, key_id: int | None = None) -> Caller:
    G = vicidial_user_groups.c
    group = (await conn.execute(sa.select(G.allowed_campaigns, G.admin_viewable_groups)
                                .where(G.user_group == row["user_group"]).limit(1))).first()
    campaigns, groups = scope_of(group.allowed_campaigns, group.admin_viewable_groups) if group else (
        frozenset(), frozenset())
    return Caller(user=row["user"], user_level=int(row["user_level"] or 0), user_group=row["user_group"] or "",
                  api_allowed_functions=row["api_allowed_functions"] or "", campaigns=campaigns,
                  viewable_groups=groups, key_id=key_id)


async def identify(request: Request, services: Services) -> Caller:
    """The caller of `request`, or `Unauthorized`. Basic credentials count towards the lockout like api.php's
    (a failure is committed before the 401 is answered). A key takes its turn at its rate limit (429 when its
    bucket is empty, nothing written; `integrations/ratelimit.py`)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    async with services.db.begin() as conn:
        if scheme.lower() == "bearer":
            caller = await _bearer(conn, services, value.strip(), request.client.host if request.client else "")
            refusal = "invalid API key"
            if caller is not None and caller.key_id is not None:
                await ratelimit.admit(request, services, conn, caller.key_id)
        else:
            caller = await _basic(conn, services, header, request.client.host if request.client else "")
            refusal = "invalid user or password" if header else "authentication required"
    if caller is None:
        raise Unauthorized(refusal)
    return caller


async def _bearer(conn: AsyncConnection, services: Services, token: str, client_ip: str) -> Caller | None:
    """A key's user, through every check api.php makes after the password (active, API access, IP lists …)."""
    found = await keys.resolve(conn, token)
    if found is None:
        return None
    row = await load_user(conn, found[0])
    system = await services.cache.get("system_settings", lambda: load_system(conn))
    auth = await authenticate(conn, found[0], "", client_ip=client_ip, now=services.clock.now().replace(
        microsecond=0), system=system, row=row, rule=services.lockout, by_key=True)
    return await _caller(conn, row, key_id=found[1]) if auth.ok and row is not None else None


async def _basic(conn: AsyncConnection, services: Services, header: str, client_ip: str) -> Caller | None:
    credentials = basic_credentials(header)
    if credentials is None:
        return None
    user, password = credentials
    system = await services.cache.get("system_settings", lambda: load_system(conn))
    row = await load_user(conn, user) if user else None
    auth = await authenticate(conn, user, password, client_ip=client_ip, now=services.clock.now().replace(
        microsecond=0), system=system, row=row, rule=services.lockout)
    return await _caller(conn, row) if auth.ok and row is not None else None
