"""Remote agents: `vicidial_live_agents` rows without a screen (extension `R/<number>`, upstream's
AST_VDremote_agents), whose calls are controlled by `ra_call_control`.

- Delivery: a remote agent READY/CLOSER takes calls like any agent; the caller is not put into a conference
  but redirected to the remote agent's number (`conf_exten`), i.e. dialled and bridged (see routing).
- `ra_call_control` (the API) hangs up or redirects the call through `vicidial_manager` rows, closes the call
  logs with the status and length, and sets the agent READY itself; the manager queue carries the rows out.
- A caller who hangs up on a remote agent ends the call here: call-end logging (term_reason CALLER) and the
  agent back to READY/CLOSER with no lead (there is no disposition screen; the call log keeps DISPO and the
  lead its INCALL status, as upstream leaves them without an ra_call_control disposition).
"""

from __future__ import annotations

from typing import Any

from openagc.engine import session
from openagc.engine.context import Ctx
from openagc.engine.states import Event

REMOTE_PREFIX = "R/"


def is_remote(vla: dict[str, Any]) -> bool:
    return str(vla.get("extension") or "").startswith(REMOTE_PREFIX)


async def call_gone(ctx: Ctx) -> None:
    """The remote agent's caller hung up: log the call's end and make the agent available again."""
    if ctx.vla["status"] == "INCALL":
        await session.end_call(ctx, term_reason="CALLER", hangup_channel=False)
    await ctx.enter(Event.REMOTE_FREE, status=session.ready_stage(ctx), lead_id=0, last_state_change=ctx.at.now)
    ctx.emit("state")
