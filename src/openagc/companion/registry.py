"""The companion functions and what each asks of its caller.

    @companion_function("agent_status", denied="agent_status USER DOES NOT HAVE PERMISSION TO GET AGENT INFO")
    async def agent_status(ctx: Context) -> Answer: ...

`app.py` runs upstream's shared steps in order — source, `api_allowed_functions`, the function's permission —
so a handler only does what is particular to its function.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.api.params import Params
from openagc.companion.access import ApiCaller, Permission
from openagc.companion.answer import Answer


@dataclass
class Context:
    """One request in flight: its parameters, caller, clock and transaction."""

    conn: AsyncConnection
    p: Params
    caller: ApiCaller
    system: dict[str, Any]
    now: datetime
    epoch: int


Handler = Callable[[Context], Awaitable[Answer]]


@dataclass(frozen=True)
class CompanionFunction:
    name: str
    handler: Handler
    denied: str  # the permission refusal's reason
    permission: Permission


REGISTRY: dict[str, CompanionFunction] = {}


def companion_function(name: str, *, denied: str, permission: Permission = Permission()) -> Callable[[Handler],
                                                                                                       Handler]:
    """Register `handler` for `function={name}`."""

    def register(handler: Handler) -> Handler:
        if name in REGISTRY:
            raise ValueError(f"companion function {name} registered twice")
        REGISTRY[name] = CompanionFunction(name, handler, denied, permission)
        return handler

    return register
