"""Whose view a subscription's deliveries carry: its owner must be allowed to read events as the event stream
(`/api/v1/events`) allows it — an active user of user level 7 or more with `view_reports` — and sees the campaigns
of its user group's `allowed_campaigns` and the agents of the user groups in its `admin_viewable_groups`
(`caller.scope_of`), by the stream's rule: a restricted owner sees an event only when its campaign is allowed and
its user group viewable, so an event without a campaign or a user group reaches only owners whose scope is every
campaign or every user group.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.integrations.caller import scope_of
from openagc.integrations.event_stream import MIN_USER_LEVEL
from openagc.store.event_log import Event
from openagc.store.schema import vicidial_user_groups, vicidial_users


class NotPermitted(ValueError):
    """The owner may not read events (no such user, not active, or no permission); the message says which."""


@dataclass(frozen=True)
class Scope:
    campaigns: frozenset[str] | None  # None: every campaign
    groups: frozenset[str] | None  # None: every user group

    def sees(self, event: Event) -> bool:
        return ((self.campaigns is None or event.campaign_id in self.campaigns)
                and (self.groups is None or event.user_group in self.groups))


async def scope_of_owner(conn: AsyncConnection, user: str) -> Scope:
    """What `user` may see, or `NotPermitted`."""
    U, G = vicidial_users.c, vicidial_user_groups.c
    row = (await conn.execute(
        sa.select(U.active, U.user_level, U.view_reports, G.allowed_campaigns, G.admin_viewable_groups)
        .select_from(vicidial_users.outerjoin(vicidial_user_groups, G.user_group == U.user_group))
        .where(U.user == user).limit(1))).first()
    if row is None:
        raise NotPermitted(f"no user {user!r}")
    if row.active != "Y":
        raise NotPermitted(f"user {user!r} is not active")
    if int(row.user_level or 0) < MIN_USER_LEVEL or (row.view_reports or "0") != "1":
        raise NotPermitted(f"user {user!r} may not read events (user level {MIN_USER_LEVEL} or more with "
                           "view_reports)")
    campaigns, groups = scope_of(row.allowed_campaigns, row.admin_viewable_groups)  # no user group: nothing
    return Scope(campaigns, groups)
