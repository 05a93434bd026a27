"""What a subscription's owner may see: the campaigns of its user group's `allowed_campaigns` and the agents of the
user groups in its `admin_viewable_groups` (`caller.scope_of`, as `/api/v1/` callers are scoped).

An event about a campaign is seen only when that campaign is allowed; an event about an agent only when the
agent's user group (`Event.user_group`, recorded when the event was appended) is viewable. An event about neither
(nothing in it is restricted) is seen by every owner.
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
        if event.campaign_id and self.campaigns is not None and event.campaign_id not in self.campaigns:
            return False
        return not (event.user and self.groups is not None and event.user_group not in self.groups)


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
