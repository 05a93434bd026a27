"""What a subscription's owner may see: the campaigns of its user group's `allowed_campaigns` and the agents of the
user groups in its `admin_viewable_groups` (`caller.scope_of`), by the rule of the event stream (`/api/v1/events`):
a restricted owner sees an event only when its campaign is allowed and its user group viewable, so an event
without a campaign or a user group reaches only owners whose scope is every campaign or every user group.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.integrations.caller import scope_of
from openagc.store.event_log import Event
from openagc.store.schema import vicidial_user_groups, vicidial_users


@dataclass(frozen=True)
class Scope:
    campaigns: frozenset[str] | None  # None: every campaign
    groups: frozenset[str] | None  # None: every user group

    def sees(self, event: Event) -> bool:
        return ((self.campaigns is None or event.campaign_id in self.campaigns)
                and (self.groups is None or event.user_group in self.groups))


async def scope_of_user(conn: AsyncConnection, user: str) -> Scope | None:
    """The scope of `user`, or None when it is not an active user (nothing may be delivered for it)."""
    U, G = vicidial_users.c, vicidial_user_groups.c
    row = (await conn.execute(
        sa.select(U.active, G.allowed_campaigns, G.admin_viewable_groups)
        .select_from(vicidial_users.outerjoin(vicidial_user_groups, G.user_group == U.user_group))
        .where(U.user == user).limit(1))).first()
    if row is None or row.active != "Y":
        return None
    campaigns, groups = scope_of(row.allowed_campaigns, row.admin_viewable_groups)  # no user group: nothing
    return Scope(campaigns, groups)
