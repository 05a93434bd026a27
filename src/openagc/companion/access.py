"""Who may ask: api.php's credential check, then non_agent_api.php's own rules for the caller and its scope.

Upstream's facts: the script accepts users above level 6 (its `REPORTS` login), each function then requires
`vdc_agent_api_access`, and most `view_reports` (agent_campaigns: level 8 and `modify_users` as well). What the
caller sees is bounded by its user group: `admin_viewable_groups` (whose agents; `--ALL--` anywhere, or a value
of 3 characters or fewer, means every group) and `allowed_campaigns` (`-ALL` anywhere means every campaign).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.credentials import GOOD, Lockout, authenticate, load_user
from openagc.store.schema import vicidial_user_groups, vicidial_users

ALL_GROUPS = "---ALL---"  # an in-group or user group of this name is visible to every caller (upstream's IN list)
REPORTS_LEVEL = 7  # non_agent_api.php's login: user_level > 6

U = vicidial_users.c
CALLER_COLUMNS = (U.user, U.user_level, U.user_group, U.active, U.vdc_agent_api_access, U.view_reports,
                  U.modify_users, U.change_agent_campaign, U.api_allowed_functions, U.selected_language)


def viewable_groups(text: str | None) -> frozenset[str] | None:
    """The user groups of `admin_viewable_groups` (None: every group), plus `---ALL---`."""
    value = text or ""
    if "--ALL--" in value.upper() or len(value) <= 3:
        return None
    return frozenset(g for g in value.replace(" -", "").split(" ") if g) | {ALL_GROUPS}


def allowed_campaigns(text: str | None) -> frozenset[str] | None:
    """The campaigns of `allowed_campaigns` (None: every campaign)."""
    value = text or ""
    if "-ALL" in value.upper():
        return None
    return frozenset(c for c in value.replace(" -", "").split(" ") if c)


@dataclass(frozen=True)
class Permission:
    """What a function asks of its caller beyond the login (each flag a `vicidial_users` column = '1')."""

    min_level: int = REPORTS_LEVEL
    view_reports: bool = True
    modify_users: bool = False


@dataclass(frozen=True)
class ApiCaller:
    """The authenticated caller, its permissions and its group's scope."""

    user: str
    user_level: int
    user_group: str
    api_access: bool
    view_reports: bool
    modify_users: bool
    change_agent_campaign: bool
    api_allowed_functions: str
    selected_language: str
    groups: frozenset[str] | None  # viewable user groups (None: all)
    campaigns: frozenset[str] | None  # allowed campaigns (None: all)

    def may_use(self, function: str) -> bool:
        """Upstream's `api_allowed_functions` rule: ` {function} ` in the list, or `ALL_FUNCTIONS` anywhere."""
        allowed = self.api_allowed_functions
        return f" {function} " in allowed or "ALL_FUNCTIONS" in allowed

    def has(self, permission: Permission) -> bool:
        return (self.api_access and self.user_level >= permission.min_level
                and (self.view_reports or not permission.view_reports)
                and (self.modify_users or not permission.modify_users))

    def sees_group(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """A condition: `column` (a user group) is viewable."""
        return sa.true() if self.groups is None else column.in_(sorted(self.groups))

    def sees_campaign(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """A condition: `column` (a campaign id) is an allowed campaign."""
        return sa.true() if self.campaigns is None else column.in_(sorted(self.campaigns))


async def _always() -> bool:
    return True


async def login(conn: AsyncConnection, user: str, password: str, *, client_ip: str, now: datetime,
                system: dict[str, Any], rule: Lockout) -> ApiCaller | None:
    """The caller, or None when the credentials are refused.

    api.php's check (exact password, the lockout per user and source, IP lists; no active-server condition, as
    upstream's non-agent login has none), then upstream's level rule: a user of level 6 or below is refused with
    the same answer, and is not counted as a failed login (the password was right).
    """
    row = await load_user(conn, user) if user else None
    auth = await authenticate(conn, user, password, client_ip=client_ip, now=now, system=system, row=row,
                              servers_ok=_always, rule=rule)
    if auth.code != GOOD or row is None or (row["user_level"] or 0) < REPORTS_LEVEL:
        return None
    me = (await conn.execute(sa.select(*CALLER_COLUMNS).where(U.user == row["user"]).limit(1))).mappings().one()
    G = vicidial_user_groups.c
    group = (await conn.execute(sa.select(G.allowed_campaigns, G.admin_viewable_groups)
                                .where(G.user_group == me["user_group"]).limit(1))).first()
    return ApiCaller(
        user=me["user"],
        user_level=int(me["user_level"] or 0),
        user_group=me["user_group"] or "",
        api_access=me["vdc_agent_api_access"] == "1",
        view_reports=me["view_reports"] == "1",
        modify_users=me["modify_users"] == "1",
        change_agent_campaign=me["change_agent_campaign"] == "1",
        api_allowed_functions=me["api_allowed_functions"] or "",
        selected_language=me["selected_language"] or "",
        groups=viewable_groups(group.admin_viewable_groups if group else ""),
        campaigns=allowed_campaigns(group.allowed_campaigns if group else ""),
    )
