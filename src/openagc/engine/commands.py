"""One handler per `vicidial_live_agents` command column (spec §4), evaluated against the agent's state.

Every handler follows the same rule: read the column, check the gate for the agent's current phase, and
act only after claiming the value with a compare-and-clear (`UPDATE … SET col=<cleared> WHERE user=? AND
col=<value read>`, one row changed). Every command ends in a final state (`store.command_records`): applied,
or rejected with a reason when the agent's state does not allow it — then it is cleared, never left lying in
its column to fire later. Only what upstream's screen defers waits: a pause, resume or logout asked during a
call (until after its disposition), a disposition asked during a call (until the call ends), a pause code in
the disposition phase — each within its validity (`command_records.VALIDITY`). `process()` applies the queued
commands in the order they were written, then looks at every column in a fixed order until none acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from openagc.engine import command_outcomes, logs, media, routing, session, transfer
from openagc.engine.context import Ctx
from openagc.engine.session import auto_dial
from openagc.engine.states import Event
from openagc.store import command_records
from openagc.store.leads import UPDATABLE_LEAD_FIELDS
from openagc.store.schema import (
    vicidial_agent_function_log,
    vicidial_agent_log,
    vicidial_auto_calls,
    vicidial_callbacks,
    vicidial_closer_log,
    vicidial_list,
    vicidial_log,
    vicidial_manual_dial_queue,
    vicidial_user_closer_log,
)

PREVIEW_WORDS = ("SKIP", "DIALONLY", "ALTDIAL", "ADR3DIAL", "FINISH")


@dataclass
class Timer:
    """A call timer set by external_timer_action (fires once call seconds ≥ seconds)."""

    action: str
    message: str
    seconds: int
    destination: str


async def process(ctx: Ctx) -> None:
    """Expire what waited too long, apply the queued commands in the order they were written, then every
    column in a fixed order, until nothing more happens."""
    queue, ctx.superseded = await command_records.pending_and_superseded(ctx.conn, ctx.user)
    queue = await command_outcomes.expire(ctx, await command_outcomes.adopt(ctx, queue))
    ctx.queue = queue  # what `command_outcomes.flush` ends (read once per transaction)
    written = [BY_COLUMN[r["command"]] for r in queue if r["command"] in BY_COLUMN]
    order = list(dict.fromkeys([*written, *HANDLERS]))
    for _ in range(8):
        acted = False
        for handler in order:
            if ctx.vla.get("_gone"):
                return
            if await handler(ctx):
                acted = True
        if not acted:
            return


# --- in-groups, timer, fields, lead switch --------------------------------------------------------------


async def ingroups(ctx: Ctx) -> bool:
    """manager_ingroup_set=SET: the new in-group selection and blended flag take effect."""
    if ctx.vla.get("manager_ingroup_set") != "SET" or not await ctx.claim("manager_ingroup_set", "SET", "Y"):
        return False
    groups = ctx.vla.get("external_ingroups") or ""
    blended = ctx.vla.get("external_blended") == "1"
    autodial = blended and ctx.campaign.get("dial_method") not in session.NON_AUTODIAL_METHODS
    await ctx.set(closer_campaigns=groups, outbound_autodial="Y" if autodial else "N")
    setter = ctx.vla.get("external_igb_set_user") or ""
    await ctx.conn.execute(
        sa.insert(vicidial_user_closer_log).values(
            user=ctx.user,
            campaign_id=ctx.campaign_id,
            event_date=ctx.at.now,
            blended="1" if blended else "0",
            closer_campaigns=groups,
            manager_change=setter,
        )
    )
    if ctx.vla["status"] in session.IDLE_STATES:
        await ctx.enter(Event.INGROUPS, status=session.ready_stage(ctx))
    ctx.emit("ingroups_changed", ingroups=session.groups_of(groups), blended=blended, set_by=setter)
    ctx.emit("state")
    return True


async def timer_action(ctx: Ctx) -> bool:
    """external_timer_action: handed to the call timer once, then blanked (the poll's own clear)."""
    action = ctx.vla.get("external_timer_action") or ""
    if len(action) <= 3 or not await ctx.claim("external_timer_action", action):
        return False
    raw_seconds = ctx.vla.get("external_timer_action_seconds")
    try:  # 0 fires at once (upstream); only a missing value means "no timer"
        seconds = int(raw_seconds) if raw_seconds not in (None, "") else -1
    except ValueError:
        seconds = -1
    ctx.engine.timers[ctx.user] = Timer(
        action,
        ctx.vla.get("external_timer_action_message") or "",
        seconds,
        ctx.vla.get("external_timer_action_destination") or "",
    )
    ctx.emit("timer_set", action=action, seconds=seconds)
    return True


async def fire_timer(ctx: Ctx) -> bool:
    """Fire the call timer on the first tick where call seconds ≥ its seconds."""
    timer = ctx.engine.timers.get(ctx.user)
    if timer is None or timer.seconds < 0 or ctx.vla["status"] != "INCALL":
        return False
    val = await logs.val_row(ctx.conn, int(ctx.vla["agent_log_id"] or 0))
    if val is None or val["talk_epoch"] is None or ctx.at.epoch - val["talk_epoch"] < timer.seconds:
        return False
    ctx.engine.timers.pop(ctx.user, None)
    ctx.emit("timer_fired", action=timer.action, message=timer.message, destination=timer.destination)
    if timer.action == "HANGUP":
        await session.end_call(ctx)
    return True


async def update_fields(ctx: Ctx) -> bool:
    """external_update_fields=1: clear the flags and push the lead's current values to the console."""
    if ctx.vla.get("external_update_fields") != "1":
        return False
    names = ctx.vla.get("external_update_fields_data") or ""
    if not await ctx.set(
        sa.and_(session.VLA.external_update_fields == "1", session.VLA.external_update_fields_data == names),
        external_update_fields="0",
        external_update_fields_data="",
    ):
        return False
    ctx.applied("external_update_fields", "1")
    fields = [f for f in names.split(",") if f]
    lead = await ctx.lead(int(ctx.vla["lead_id"] or 0)) or {}
    ctx.emit("update_fields", fields=fields, lead={k: _json(lead.get(k)) for k in fields if k in UPDATABLE_LEAD_FIELDS})
    return True


def _json(value: Any) -> Any:
    return value if value is None or isinstance(value, (int, str, float)) else str(value)


async def switch_lead(ctx: Ctx) -> bool:
    """external_lead_id: the live inbound call's lead becomes another lead (LeaDSearcHSelecTUpdatE)."""
    new_id = int(ctx.vla.get("external_lead_id") or 0)
    if new_id < 1 or not await ctx.claim("external_lead_id", new_id, 0):
        return False
    old_id = int(ctx.vla["lead_id"] or 0)
    if ctx.vla["status"] != "INCALL" or old_id < 1:
        ctx.ignored("external_lead_id", new_id, "agent has no call")
        return True
    if await ctx.lead(new_id) is None:
        ctx.ignored("external_lead_id", new_id, "no such lead")
        return True
    uniqueid = ctx.vla.get("uniqueid") or ""
    conn = ctx.conn
    await ctx.set(lead_id=new_id)
    await conn.execute(
        sa.update(vicidial_auto_calls)
        .where(vicidial_auto_calls.c.callerid == ctx.vla["callerid"])
        .values(lead_id=new_id)
    )
    await conn.execute(
        sa.update(vicidial_list).where(vicidial_list.c.lead_id == old_id).values(status="LSMERG")
    )
    await conn.execute(
        sa.update(vicidial_list)
        .where(vicidial_list.c.lead_id == new_id)
        .values(status="INCALL", user=ctx.user)
    )
    await conn.execute(
        sa.update(vicidial_closer_log)
        .where(vicidial_closer_log.c.uniqueid == uniqueid, vicidial_closer_log.c.lead_id == old_id)
        .values(lead_id=new_id)
    )
    await conn.execute(
        sa.update(vicidial_log).where(vicidial_log.c.uniqueid == uniqueid).values(lead_id=new_id)
    )
    await conn.execute(
        sa.update(vicidial_agent_log)
        .where(vicidial_agent_log.c.agent_log_id == int(ctx.vla["agent_log_id"] or 0))
        .values(lead_id=new_id)
    )
    CB = vicidial_callbacks.c
    await conn.execute(
        sa.update(vicidial_callbacks)
        .where(CB.lead_id == new_id, CB.status.in_(("ACTIVE", "LIVE")))
        .values(status="INACTIVE")
    )
    await conn.execute(
        sa.insert(vicidial_agent_function_log).values(
            agent_log_id=int(ctx.vla["agent_log_id"] or 0),
            user=ctx.user,
            function="switch_lead",
            event_time=ctx.at.now,
            lead_id=new_id,
            campaign_id=ctx.campaign_id,
            user_group=ctx.user_group,
            caller_code=ctx.vla.get("callerid") or "",
            comments=f"{old_id}|{new_id}",
        )
    )
    ctx.emit("lead_switched", old_lead_id=old_id, lead_id=new_id)
    ctx.emit("state")
    return True


# --- session commands ---------------------------------------------------------------------------------------


async def pause_code(ctx: Ctx) -> bool:
    """external_pause_code: applied while paused (not in the dispo phase); cleared by the submit."""
    code = ctx.vla.get("external_pause_code") or ""
    if not code:
        return False
    if ctx.phase != "PAUSED":
        if ctx.phase == "DISPO" or _pause_pending(ctx):
            return False  # deferred: the code applies once the agent is paused after the call
        return await ctx.refuse("external_pause_code", code, "agent is not paused")
    if not await ctx.claim("external_pause_code", code):
        return False
    await session.pause_code(ctx, code)
    return True


def _pause_pending(ctx: Ctx) -> bool:
    """A pause (or logout) waits for the end of the agent's call."""
    pending = ctx.vla.get("external_pause") or ""
    return ctx.vla["status"] in session.LIVE_STATES and (pending.startswith("PAUSE") or pending.startswith("LOGOUT"))


async def hangup(ctx: Ctx) -> bool:
    """external_hangup=1 with a call (live, ringing or dead): hang up and log the call end."""
    if ctx.vla.get("external_hangup") != "1":
        return False
    if ctx.vla["status"] != "INCALL":
        return await ctx.refuse("external_hangup", "1", "agent has no call", cleared="0")
    if not await ctx.claim("external_hangup", "1", "0"):
        return False
    await session.end_call(ctx)
    return True


async def status(ctx: Ctx) -> bool:
    """external_status: the disposition, applied once the dispo phase is open."""
    value = ctx.vla.get("external_status") or ""
    if not value or value == "::::::::::":
        return False
    if len(value) >= 1000:
        return await ctx.refuse("external_status", value, "disposition too long")
    if ctx.phase != "DISPO":
        if ctx.vla["status"] in session.LIVE_STATES:
            return False  # deferred: the disposition applies when the call ends
        return await ctx.refuse("external_status", value, "agent has no call to disposition")
    if not await ctx.claim("external_status", value):
        return False
    await session.dispo(ctx, value)
    return True


async def defer_logout(ctx: Ctx) -> bool:
    """A LOGOUT that arrived during a live call waits for the disposition: marked before anything in the same
    pass (a hangup) can end the call, so the logout is never mistaken for one asked in the dispo phase."""
    if ctx.vla.get("external_pause") == "LOGOUT" and ctx.vla["status"] in session.LIVE_STATES:
        if await ctx.claim("external_pause", "LOGOUT", session.LOGOUT_AFTER_DISPO):
            ctx.emit("state")
    return False


async def pause(ctx: Ctx) -> bool:
    """external_pause: PAUSE!epoch / RESUME!epoch / LOGOUT, deferred past a live call and its dispo."""
    value = ctx.vla.get("external_pause") or ""
    if value == "LOGOUT" and ctx.vla["status"] in session.LIVE_STATES:
        # logout asked during a call: it waits for the disposition (marked so the dispo phase knows)
        if await ctx.claim("external_pause", value, session.LOGOUT_AFTER_DISPO):
            ctx.emit("state")
        return False
    if (
        not value
        or value == session.LOGOUT_AFTER_DISPO
        or ctx.vla["status"] in session.LIVE_STATES
        or ctx.phase == "DISPO"
        and value != "LOGOUT"
    ):
        return False
    if value == "LOGOUT":
        if await session.logout(ctx, expect_command=True):
            ctx.vla["_gone"] = True
            return True
        return False
    word = value.split("!", 1)[0]
    if not await ctx.claim("external_pause", value):
        return False
    if word == "PAUSE" and ctx.vla["status"] in session.IDLE_STATES:
        await session.pause(ctx)
    elif word == "RESUME" and ctx.phase == "PAUSED" and auto_dial(ctx.campaign):
        await session.ready(ctx)
    elif word == "PAUSE":
        ctx.ignored("external_pause", value, "agent is already paused")
    elif word == "RESUME" and ctx.phase != "PAUSED":
        ctx.ignored("external_pause", value, "agent is not paused")
    elif word == "RESUME":
        ctx.ignored("external_pause", value, "the campaign does not dial automatically")
    else:
        ctx.ignored("external_pause", value, "unknown pause command")
    return True


async def dial(ctx: Ctx) -> bool:
    """external_dial: a dial string, MANUALNEXT, or a preview action word."""
    value = ctx.vla.get("external_dial") or ""
    if value in PREVIEW_WORDS:
        return await preview_action(ctx, value)
    if not value:
        return False
    if len(value) <= 9 and not value.startswith("MANUALNEXT"):
        return await ctx.refuse("external_dial", value, "not a dial command")
    spec = routing.DialSpec.parse(value)
    if ctx.phase != "PAUSED" and not spec.dial_ingroup:
        return await ctx.refuse("external_dial", value, "agent is not paused")
    if not await ctx.claim("external_dial", value):
        return False
    await routing.manual_dial(ctx, spec)
    return True


async def preview_action(ctx: Ctx, word: str) -> bool:
    """SKIP / DIALONLY / ALTDIAL / ADR3DIAL while previewing; FINISH ends a pending alt-dial choice."""
    previewing = int(ctx.vla.get("preview_lead_id") or 0) > 0 and ctx.phase == "PAUSED"
    if word == "FINISH":
        if ctx.phase != "DISPO":
            return await ctx.refuse("external_dial", word, "agent is not dispositioning a call")
        if not await ctx.claim("external_dial", word):
            return False
        ctx.emit("alt_dial_finished")
        return True
    if not previewing:
        return await ctx.refuse("external_dial", word, "no lead in preview")
    if not await ctx.claim("external_dial", word):
        return False
    lead_id = int(ctx.vla["preview_lead_id"])
    if word == "SKIP":
        await routing.skip_preview(ctx, lead_id)
    else:
        alt = {"DIALONLY": "MAIN", "ALTDIAL": "ALT", "ADR3DIAL": "ADDR3"}[word]
        await routing.dial_previewed(ctx, lead_id, alt)
    return True


async def promote_queue(ctx: Ctx) -> bool:
    """Manual-dial queue: the oldest READY entry becomes the agent's external_dial (QUEUE modes)."""
    if (
        ctx.campaign.get("api_manual_dial") not in ("QUEUE", "QUEUE_AND_AUTOCALL")
        or ctx.phase != "PAUSED"
        or int(ctx.vla.get("preview_lead_id") or 0) > 0
        or len(ctx.vla.get("external_dial") or "") >= 16
    ):
        return False
    MQ = vicidial_manual_dial_queue.c
    row = (
        (
            await ctx.conn.execute(
                sa.select(vicidial_manual_dial_queue)
                .where(MQ.user == ctx.user, MQ.status == "READY")
                .order_by(MQ.entry_time, MQ.mdq_id)
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return False
    took = await ctx.conn.execute(
        sa.update(vicidial_manual_dial_queue)
        .where(MQ.mdq_id == row["mdq_id"], MQ.status == "READY")
        .values(status="QUEUE")
    )
    if took.rowcount != 1:
        return False
    await ctx.set(external_dial=row["external_dial"])
    ctx.emit("manual_dial_queue", phone_number=row["phone_number"])
    return True


HANDLERS = (
    defer_logout,
    ingroups,
    timer_action,
    update_fields,
    switch_lead,
    pause_code,
    media.dtmf,
    media.recording,
    transfer.park,
    transfer.transferconf,
    hangup,
    status,
    pause,
    promote_queue,
    dial,
    fire_timer,
)

#: The handler of each command column (queued commands are applied in the order they were written).
BY_COLUMN = {
    "manager_ingroup_set": ingroups,
    "external_timer_action": timer_action,
    "external_update_fields": update_fields,
    "external_lead_id": switch_lead,
    "external_pause_code": pause_code,
    "external_dtmf": media.dtmf,
    "external_recording": media.recording,
    "external_park": transfer.park,
    "external_transferconf": transfer.transferconf,
    "external_hangup": hangup,
    "external_status": status,
    "external_pause": pause,
    "external_dial": dial,
}
