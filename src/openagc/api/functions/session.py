"""Session commands: hang up, disposition, pause/resume, logout, pause code."""

from __future__ import annotations

from openagc.api.pipeline import Call, api_function
from openagc.api.reply import Line, success


@api_function("external_hangup", valid=lambda c: len(c.p.value) >= 1 and c.identifies_agent())
async def external_hangup(call: Call) -> Line:
    """Queue a hang-up of the agent's live call (the column holds one character, as upstream's)."""
    await call.update_agent(external_hangup=call.p.value[:1])
    return success("external_hangup function set", call.p.value, call.p.agent_user)
