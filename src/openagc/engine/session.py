"""The agent state machine (spec §3): login, ready, pause, calls, disposition, logout.

State lives in the database: `vicidial_live_agents.status` (PAUSED, READY, CLOSER, QUEUE, INCALL) and the
disposition sub-state (PAUSED with `lead_id` > 0, a `vicidial_agent_log` row whose `dispo_epoch` is set).
A pending pause or logout during a call is the `external_pause` command still waiting in its column.

Each transition runs inside one transaction through a `Ctx` (context.py): it reads the agent's row, writes rows,
and queues switch operations and push events that the caller runs only after the commit (database first). The
moves themselves, with their effects, are the table of `states.py`; `Ctx.enter` checks each against it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.engine import agent_phone, logs
from openagc.engine.context import Ctx, Guard, Host, load
from openagc.engine.logs import Moment
from openagc.engine.states import Event, Phase
from openagc.store.schema import (
    vicidial_auto_calls,
    vicidial_callbacks,
    vicidial_campaign_agents,
    vicidial_campaign_statuses,
    vicidial_campaigns,
    vicidial_conferences,
    vicidial_inbound_group_agents,
    vicidial_list,
    vicidial_live_agents,
    vicidial_live_inbound_agents,
    vicidial_manual_dial_queue,
    vicidial_session_data,
    vicidial_statuses,
    vicidial_user_closer_log,
    vicidial_users,
    web_client_sessions,
)

VLA = vicidial_live_agents.c
VAC = vicidial_auto_calls.c
LIVE_STATES = ("QUEUE", "INCALL")
IDLE_STATES = ("READY", "CLOSER")
#: The guards of the ready and pause transitions (a comparison per state, not an IN list: the executor runs them).
NOT_LIVE = Guard(sa.and_(*(VLA.status != state for state in LIVE_STATES)))
IDLE = Guard(sa.or_(*(VLA.status == state for state in IDLE_STATES)))
NON_AUTODIAL_METHODS = ("MANUAL", "INBOUND_MAN")
LOGOUT_AFTER_DISPO = "LOGOUT!DISPO"  # external_pause once a LOGOUT arrived during a live call


class LoginError(Exception):
    """A login refused; `status` is the HTTP status the agent API answers with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def groups_of(text: str | None) -> list[str]:
    """The in-groups of a `closer_campaigns` style list (" A B -")."""
    return [g for g in (text or "").split() if g != "-" and len(g) >= 2]


def group_list(groups: list[str]) -> str:
    return " " + "".join(f"{g} " for g in groups) + "-"


def auto_dial(campaign: Mapping[str, Any]) -> bool:
    try:
        return float(campaign.get("auto_dial_level") or 0) > 0
    except ValueError:
        return False


# --- pause / ready (VDADpause / VDADready) --------------------------------------------------------------


def ready_stage(ctx: Ctx) -> str:
    """CLOSER when the agent has in-groups and is not blended, else READY."""
    if groups_of(ctx.vla.get("closer_campaigns")) and ctx.vla.get("outbound_autodial") != "Y":
        return "CLOSER"
    return "READY"


async def ready(ctx: Ctx, *, new_row: bool = False) -> bool:
    """VDADready: refused (False) while the agent is in QUEUE or INCALL."""
    if ctx.vla["status"] in LIVE_STATES or (ctx.phase == "DISPO" and not new_row):
        return False
    if new_row:
        await ctx.new_cycle()
    values: dict[str, Any] = {
        "status": ready_stage(ctx),
        "pause_code": "",
        "external_pause_code": "",
        "last_state_change": ctx.at.now,
    }
    if ctx.campaign.get("dial_method") == "INBOUND_MAN":
        values["outbound_autodial"] = "N"
    if not await ctx.enter(Event.READY, NOT_LIVE, **values):
        return False
    await logs.val_ready(ctx.conn, ctx.at, int(ctx.vla["agent_log_id"] or 0))
    ctx.emit("state")
    return True


async def pause(ctx: Ctx, code: str = "") -> bool:
    """VDADpause from READY/CLOSER: wait closes, a new (paused) agent-log row opens."""
    if ctx.vla["status"] not in IDLE_STATES:
        return False
    if not await ctx.enter(
        Event.PAUSE,
        IDLE,
        status="PAUSED",
        ring_callerid="",
        uniqueid="",
        callerid="",
        channel="",
        comments="",
        last_state_change=ctx.at.now,
    ):
        return False
    await logs.val_close_wait(ctx.conn, ctx.at, int(ctx.vla["agent_log_id"] or 0))
    await ctx.new_cycle()
    if code:
        await pause_code(ctx, code)
    elif ctx.campaign.get("agent_pause_codes_active") == "FORCE":
        ctx.emit("pause_code_required")
    ctx.emit("state")
    return True


async def pause_code(ctx: Ctx, code: str) -> None:
    """PauseCodeSubmit: label the pause (a second code in one pause starts a new row)."""
    new_id = await logs.val_pause_code(
        ctx.conn,
        ctx.at,
        int(ctx.vla["agent_log_id"] or 0),
        code,
        user=ctx.user,
        server_ip=ctx.server_ip,
        campaign_id=ctx.campaign_id,
        user_group=ctx.user_group,
    )
    values: dict[str, Any] = {"pause_code": code}
    if new_id != ctx.vla["agent_log_id"]:
        values |= {"agent_log_id": new_id, "last_state_change": ctx.at.now}
    await ctx.set(**values)
    ctx.emit("state")


# --- calls ----------------------------------------------------------------------------------------------

INCALL_WIPE = {"external_hangup": "", "external_status": "", "external_pause": "", "external_dial": ""}


async def pick_up(
    ctx: Ctx,
    *,
    lead_id: int,
    uniqueid: str,
    callerid: str,
    channel: str,
    call_server_ip: str,
    comments: str,
    group_id: str = "",
) -> None:
    """VDADcheckINCOMING: a call routed to the agent (QUEUE) becomes INCALL; talk starts."""
    values: dict[str, Any] = {
        "status": "INCALL",
        "lead_id": lead_id,
        "uniqueid": uniqueid,
        "callerid": callerid,
        "channel": channel,
        "call_server_ip": call_server_ip,
        "comments": comments,
        "last_call_time": ctx.at.now,
        "calls_today": int(ctx.vla.get("calls_today") or 0) + 1,
        "pause_code": "",
        "preview_lead_id": 0,
        "last_state_change": ctx.at.now,
        **INCALL_WIPE,
    }
    if comments == "INBOUND":
        values["last_inbound_call_time"] = ctx.at.now
    await ctx.enter(Event.PICK_UP, **values)
    await ctx.conn.execute(
        sa.update(vicidial_list)
        .where(vicidial_list.c.lead_id == lead_id)
        .values(status="INCALL", user=ctx.user)
    )
    if comments == "INBOUND":
        await logs.closer_answered(
            ctx.conn, ctx.at, uniqueid=uniqueid, user=ctx.user, user_group=ctx.user_group
        )
        LIA = vicidial_live_inbound_agents.c
        await ctx.conn.execute(
            sa.update(vicidial_live_inbound_agents)
            .where(LIA.user == ctx.user, LIA.group_id == group_id)
            .values(calls_today=LIA.calls_today + 1, last_call_time=ctx.at.now)
        )
        await ctx.conn.execute(
            sa.update(vicidial_callbacks)
            .where(vicidial_callbacks.c.lead_id == lead_id, vicidial_callbacks.c.status == "LIVE")
            .values(status="SENT")
        )
    else:
        lead = await ctx.lead(lead_id)
        if lead is not None:
            await logs.outbound_start(
                ctx.conn,
                ctx.at,
                uniqueid=uniqueid,
                lead=lead,
                campaign_id=ctx.campaign_id,
                user=ctx.user,
                user_group=ctx.user_group,
                comments="AUTO",
                callerid=callerid,
                server_ip=call_server_ip,
            )
    CA = vicidial_campaign_agents.c
    await ctx.conn.execute(
        sa.update(vicidial_campaign_agents)
        .where(CA.user == ctx.user, CA.campaign_id == ctx.campaign_id)
        .values(calls_today=CA.calls_today + 1)
    )
    await _talk_starts(ctx, lead_id, comments)
    ctx.emit(
        "call",
        direction="inbound" if comments == "INBOUND" else "outbound",
        lead_id=lead_id,
        callerid=callerid,
        group=group_id,
    )
    ctx.emit("state")


async def _talk_starts(ctx: Ctx, lead_id: int, comments: str) -> None:
    """The agent and the customer are connected: the talk segment opens and auto-recording starts."""
    await logs.val_talk(ctx.conn, ctx.at, int(ctx.vla["agent_log_id"] or 0), lead_id=lead_id, comments=comments)
    await ctx.engine.talk_started(ctx)


async def connected(ctx: Ctx, *, uniqueid: str, channel: str) -> None:
    """A manual dial was answered (upstream: the originate's channel found): talk starts, call logged."""
    if ctx.vla["status"] != "INCALL" or ctx.vla.get("uniqueid"):
        return
    callerid = ctx.vla["callerid"]
    await ctx.set(uniqueid=uniqueid[:20], channel=channel[:100], call_server_ip=ctx.server_ip)
    await ctx.conn.execute(
        sa.update(vicidial_auto_calls)
        .where(VAC.callerid == callerid)
        .values(uniqueid=uniqueid[:20], channel=channel[:100])
    )
    await logs.manager_answered(ctx.conn, callerid, uniqueid=uniqueid, channel=channel)
    lead_id = int(ctx.vla["lead_id"])
    lead = await ctx.lead(lead_id)
    if lead is not None:
        await logs.outbound_start(
            ctx.conn,
            ctx.at,
            uniqueid=uniqueid,
            lead=lead,
            campaign_id=ctx.campaign_id,
            user=ctx.user,
            user_group=ctx.user_group,
            comments="MANUAL",
            callerid=callerid,
            server_ip=ctx.server_ip,
            alt_dial=ctx.engine.alt_dial.get(callerid, "MAIN"),
        )
    await _talk_starts(ctx, lead_id, "MANUAL")
    ctx.emit("answered", lead_id=lead_id, callerid=callerid)
    ctx.emit("state")


async def customer_left(ctx: Ctx) -> None:
    """The customer hung up first: the call is dead until the agent hangs up (dead time starts)."""
    uniqueid, callerid = ctx.vla.get("uniqueid") or "", ctx.vla.get("callerid") or ""
    await logs.mark_caller_hangup(ctx.conn, ctx.at, uniqueid=uniqueid)
    await ctx.conn.execute(sa.delete(vicidial_auto_calls).where(VAC.callerid == callerid))
    await logs.val_dead(ctx.conn, ctx.at, int(ctx.vla["agent_log_id"] or 0))
    await ctx.set(last_state_change=ctx.at.now)
    ctx.emit("customer_hangup", callerid=callerid)
    ctx.emit("state")


async def end_call(ctx: Ctx, *, term_reason: str = "AGENT", hangup_channel: bool = True) -> bool:
    """manDiaLlogCaLL end: logs closed, the call row removed, the agent PAUSED in the dispo phase."""
    if ctx.vla["status"] != "INCALL":
        return False
    comments = ctx.vla.get("comments") or ""
    uniqueid, callerid = ctx.vla.get("uniqueid") or "", ctx.vla.get("callerid") or ""
    channel, call_server = ctx.vla.get("channel") or "", ctx.vla.get("call_server_ip") or ctx.server_ip
    lead_id = int(ctx.vla["lead_id"] or 0)
    if hangup_channel:
        hang_id = logs.hangup_call_id(ctx.at, ctx.user)
        target = channel or f"Local/{ctx.conf}@default"
        await logs.manager(
            ctx.conn,
            ctx.at,
            server_ip=call_server,
            action="Hangup",
            callerid=hang_id,
            channel=target,
            lines=[f"Channel: {target}"],
        )
        engine = ctx.engine
        ctx.switch(lambda: engine.hangup_call(channel, callerid))
    if comments == "INBOUND":
        await logs.closer_end(ctx.conn, ctx.at, uniqueid=uniqueid, term_reason=term_reason)
        await ctx.conn.execute(sa.delete(vicidial_auto_calls).where(VAC.uniqueid == uniqueid))
    else:
        await logs.outbound_end(ctx.conn, ctx.at, uniqueid=uniqueid, user=ctx.user, term_reason=term_reason)
        if callerid.startswith(("M", "Y")) or not uniqueid:
            await ctx.conn.execute(sa.delete(vicidial_auto_calls).where(VAC.callerid == callerid))
        else:
            await ctx.conn.execute(sa.delete(vicidial_auto_calls).where(VAC.uniqueid == uniqueid))
    values: dict[str, Any] = {
        "status": "PAUSED",
        "uniqueid": "0",
        "callerid": "",
        "channel": "",
        "call_server_ip": "",
        "comments": "",
        "last_call_finish": ctx.at.now,
        "last_state_change": ctx.at.now,
        "preview_lead_id": 0,
        "ring_callerid": "",
    }
    if comments == "INBOUND":
        values["last_inbound_call_finish"] = ctx.at.now
    if hangup_channel and ctx.vla.get("external_hangup") not in ("", None):
        values["external_hangup"] = "0"
    await ctx.enter(Event.CALL_END, **values)
    await ctx.engine.call_ended(ctx)  # recordings stop with the call (VDstop_rec_after_each_call)
    await logs.val_call_end(
        ctx.conn,
        ctx.at,
        int(ctx.vla["agent_log_id"] or 0),
        uniqueid=uniqueid,
        lead_id=lead_id,
        comments=comments,
    )
    if comments == "INBOUND":
        LIA = vicidial_live_inbound_agents.c
        await ctx.conn.execute(
            sa.update(vicidial_live_inbound_agents)
            .where(LIA.user == ctx.user)
            .values(last_call_finish=ctx.at.now)
        )
    ctx.engine.timers.pop(ctx.user, None)
    ctx.emit("call_ended", lead_id=lead_id, term_reason=term_reason)
    ctx.emit("state")
    return True


# --- disposition ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dispo:
    """A parsed external_status value: `STATUS` or `STATUS!datetime!type!comments!qm`."""

    status: str
    callback_time: str = ""
    recipient: str = ""
    comments: str = ""

    @property
    def callback(self) -> bool:
        return bool(self.callback_time)

    @classmethod
    def parse(cls, value: str) -> Dispo:
        fields = value.split("!")
        status = fields[0].strip()[:6]
        if len(fields) > 2 and len(fields[1]) > 10 and len(fields[2]) > 5:
            return cls(status, fields[1], fields[2], fields[3] if len(fields) > 3 else "")
        return cls(status)


async def status_flags(conn: AsyncConnection, status: str, campaign_id: str) -> dict[str, Any]:
    row = (
        (await conn.execute(sa.select(vicidial_statuses).where(vicidial_statuses.c.status == status)))
        .mappings()
        .first()
    )
    if row is None:
        CS = vicidial_campaign_statuses.c
        row = (
            (
                await conn.execute(
                    sa.select(vicidial_campaign_statuses).where(
                        CS.status == status, CS.campaign_id == campaign_id
                    )
                )
            )
            .mappings()
            .first()
        )
    return dict(row) if row else {}


async def dispo(ctx: Ctx, value: str) -> bool:
    """updateDISPO (spec §5.5), then the after-call decision (§3.5)."""
    lead_id = int(ctx.vla["lead_id"] or 0)
    if ctx.phase != "DISPO" or lead_id < 1:
        return False
    d = Dispo.parse(value)
    if not d.status:
        return False
    list_status = "CBHOLD" if d.callback else d.status
    lead = await ctx.lead(lead_id)
    val = await logs.val_row(ctx.conn, int(ctx.vla["agent_log_id"] or 0))
    inbound = bool(val and val["comments"] == "INBOUND")
    await ctx.enter(
        Event.DISPOSITION,
        lead_id=0,
        preview_lead_id=0,
        last_state_change=ctx.at.now,
        external_hangup="",
        external_status="",
        external_update_fields="0",
        external_update_fields_data="",
        external_timer_action_seconds=-1,
        external_dtmf="",
        external_transferconf="",
        external_park="",
        external_recording="",
        callerid="",
        ring_callerid="",
    )
    await ctx.conn.execute(
        sa.update(vicidial_list)
        .where(vicidial_list.c.lead_id == lead_id)
        .values(status=list_status, user=ctx.user)
    )
    await logs.dispo_call_logs(
        ctx.conn,
        ctx.at,
        lead_id=lead_id,
        user=ctx.user,
        status=d.status,
        inbound=inbound,
        uniqueid=(val or {}).get("uniqueid") or "",
        lead=lead,
        campaign_id=ctx.campaign_id,
        user_group=ctx.user_group,
    )
    flags = await status_flags(ctx.conn, d.status, ctx.campaign_id)
    if flags.get("dnc") == "Y" and lead is not None:
        await logs.add_dnc(
            ctx.conn,
            ctx.at,
            phone_number=lead["phone_number"],
            campaign_id=ctx.campaign_id,
            user=ctx.user,
            internal=ctx.campaign.get("use_internal_dnc") == "Y",
            campaign=ctx.campaign.get("use_campaign_dnc") == "Y",
        )
    await logs.val_dispo(
        ctx.conn, ctx.at, int(ctx.vla["agent_log_id"] or 0), lead_id=lead_id, status=d.status
    )
    await ctx.conn.execute(
        sa.update(vicidial_campaigns)
        .where(vicidial_campaigns.c.campaign_id == ctx.campaign_id)
        .values(campaign_calldate=ctx.at.now)
    )
    if d.callback and lead is not None:
        await logs.callback(
            ctx.conn,
            ctx.at,
            lead=lead,
            campaign_id=ctx.campaign_id,
            user=ctx.user,
            user_group=ctx.user_group,
            status=d.status,
            callback_time=d.callback_time,
            recipient=d.recipient,
            comments=d.comments,
        )
    MQ = vicidial_manual_dial_queue.c
    await ctx.conn.execute(
        sa.delete(vicidial_manual_dial_queue).where(MQ.user == ctx.user, MQ.status == "QUEUE")
    )
    if not auto_dial(ctx.campaign):
        await ctx.new_cycle()  # manual campaigns open the next (paused) row here
    await ctx.engine.call_over(ctx)
    ctx.emit("dispositioned", lead_id=lead_id, status=d.status, callback=d.callback)
    await after_dispo(ctx, manual_call=bool(val and val["comments"] == "MANUAL"))
    return True


async def after_dispo(ctx: Ctx, *, manual_call: bool) -> None:
    """Logout, pause or ready after a disposition: a pending command decides, then the campaign."""
    pending = ctx.vla.get("external_pause") or ""
    if pending in ("LOGOUT", LOGOUT_AFTER_DISPO):
        await logout(ctx, expect_command=True)
        return
    wants_pause = ctx.campaign.get("pause_after_each_call") == "Y" or manual_call
    if pending.startswith(("PAUSE!", "RESUME!")) and await ctx.claim("external_pause", pending):
        wants_pause = pending.startswith("PAUSE!")
    if not auto_dial(ctx.campaign):
        ctx.emit("state")
        return
    if wants_pause:
        await ctx.new_cycle()
        await ctx.set(status="PAUSED", last_state_change=ctx.at.now)
        if ctx.campaign.get("agent_pause_codes_active") == "FORCE":
            ctx.emit("pause_code_required")
        ctx.emit("state")
    else:
        await ready(ctx, new_row=True)


# --- login / logout -------------------------------------------------------------------------------------


@dataclass
class LoginRequest:
    user: str
    password: str
    phone_login: str
    phone_pass: str
    campaign_id: str
    ingroups: list[str] | None = None
    blended: bool | None = None
    computer_ip: str = ""
    browser: str = ""


async def login(engine: Host, conn: AsyncConnection, at: Moment, req: LoginRequest) -> tuple[Ctx, str]:
    """Upstream's login page build (spec §5.1); returns the context and the new session token."""
    U, P = vicidial_users.c, engine.phones.c
    user = (await conn.execute(sa.select(vicidial_users).where(U.user == req.user))).mappings().first()
    if (
        user is None
        or user["active"] != "Y"
        or int(user["user_level"] or 0) < 1
        or not await engine.password_ok(conn, req.password, user)
    ):
        raise LoginError("invalid agent user or password", 401)
    phone = (
        (await conn.execute(sa.select(engine.phones).where(P.login == req.phone_login).limit(1)))
        .mappings()
        .first()
    )
    if phone is None or phone["pass"] != req.phone_pass or phone["active"] == "N":
        raise LoginError("invalid phone login or password", 401)
    campaign = await engine.campaign(conn, req.campaign_id, fresh=True)
    if not campaign or campaign.get("active") != "Y":
        raise LoginError("campaign not found or inactive", 404)
    if not await engine.campaign_allowed(conn, user["user_group"] or "", req.campaign_id):
        raise LoginError("campaign not allowed for this user", 403)
    if (await conn.execute(sa.select(VLA.user).where(VLA.user == req.user))).first():
        raise LoginError("agent is already logged in", 409)

    server_ip = phone["server_ip"] or engine.server_ip
    extension = agent_phone.dial_string(phone)
    C = vicidial_conferences.c
    # A locking read sees the latest committed rows (not this transaction's snapshot) and skips rows another
    # login is claiming right now, so concurrent logins on MariaDB each get their own conference at once.
    # (SQLite serialises write transactions, and ignores FOR UPDATE.)
    free = (
        await conn.execute(
            sa.select(C.conf_exten)
            .where(C.server_ip == server_ip, sa.or_(C.extension == "", C.extension.is_(None)))
            .order_by(C.conf_exten)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
    ).scalar()
    conf = None
    if free is not None:
        await conn.execute(
            sa.update(vicidial_conferences)
            .where(C.conf_exten == free, C.server_ip == server_ip)
            .values(extension=extension)
        )
        conf = str(free)
    if conf is None:
        raise LoginError("no free conference on this server", 503)

    allowed = groups_of(campaign.get("closer_campaigns"))
    wanted = req.ingroups if req.ingroups is not None else groups_of(user["closer_campaigns"])
    ingroups = [g for g in wanted if g in allowed] if campaign.get("campaign_allow_inbound") == "Y" else []
    blended = req.blended if req.blended is not None else user["closer_default_blended"] == "1"
    autodial = campaign.get("dial_method") not in NON_AUTODIAL_METHODS and (blended or not ingroups)
    closer = group_list(ingroups) if ingroups else ""
    CA = vicidial_campaign_agents.c
    ca = (
        (
            await conn.execute(
                sa.select(vicidial_campaign_agents).where(
                    CA.user == req.user, CA.campaign_id == req.campaign_id
                )
            )
        )
        .mappings()
        .first()
    )
    if ca is None:
        await conn.execute(
            sa.insert(vicidial_campaign_agents).values(
                user=req.user,
                campaign_id=req.campaign_id,
                campaign_rank=0,
                campaign_weight=0,
                calls_today=0,
                campaign_grade=1,
            )
        )
    await conn.execute(
        sa.insert(vicidial_live_agents).values(
            user=req.user,
            server_ip=server_ip,
            conf_exten=conf,
            extension=extension,
            status="PAUSED",
            lead_id=0,
            campaign_id=req.campaign_id,
            uniqueid="",
            callerid="",
            channel="",
            random_id=secrets.randbelow(10**8),
            last_call_time=at.now,
            last_call_finish=at.now,
            closer_campaigns=closer,
            user_level=user["user_level"],
            comments="",
            campaign_weight=(ca or {}).get("campaign_weight") or 0,
            calls_today=(ca or {}).get("calls_today") or 0,
            campaign_grade=(ca or {}).get("campaign_grade") or 1,
            pause_code="LOGIN",
            outbound_autodial="Y" if autodial else "N",
            last_state_change=at.now,
            on_hook_agent=phone["on_hook_agent"] or "N",
            external_ingroups="",
            manager_ingroup_set="N",
            agent_territories="",
        )
    )
    IGA, LIA = vicidial_inbound_group_agents.c, vicidial_live_inbound_agents.c
    for group in ingroups:
        iga = (
            await conn.execute(
                sa.select(vicidial_inbound_group_agents).where(IGA.user == req.user, IGA.group_id == group)
            )
        ).mappings().first() or {}
        await conn.execute(
            sa.delete(vicidial_live_inbound_agents).where(LIA.user == req.user, LIA.group_id == group)
        )
        await conn.execute(
            sa.insert(vicidial_live_inbound_agents).values(
                user=req.user,
                group_id=group,
                group_weight=iga.get("group_weight") or 0,
                calls_today=iga.get("calls_today") or 0,
                group_grade=iga.get("group_grade") or 1,
                calls_today_filtered=iga.get("calls_today_filtered") or 0,
                daily_limit=iga.get("daily_limit", -1),
                last_call_time=at.now,
                last_call_finish=at.now,
                last_call_time_filtered=at.now,
                last_call_finish_filtered=at.now,
            )
        )
    await conn.execute(
        sa.insert(vicidial_user_closer_log).values(
            user=req.user,
            campaign_id=req.campaign_id,
            event_date=at.now,
            blended="1" if blended else "0",
            closer_campaigns=closer,
            manager_change="",
        )
    )
    ctx = await load(engine, conn, req.user, at)
    assert ctx is not None
    ctx.moved(Event.LOGIN, Phase.OUT, ctx.phase)
    await ctx.new_cycle(sub_status="LOGIN")
    await conn.execute(
        sa.update(vicidial_campaigns)
        .where(vicidial_campaigns.c.campaign_id == req.campaign_id)
        .values(campaign_logindate=at.now)
    )

    token = secrets.token_urlsafe(30)[:40]
    login_cid = logs.login_call_id(at, conf)
    campaign_cid = campaign.get("campaign_cid") or "0000000000"
    context = phone["ext_context"] or "default"
    lines = [
        f"Channel: {extension}",
        f"Context: {context}",
        f"Exten: {conf}",
        "Priority: 1",
        f'Callerid: "{login_cid}" <{campaign_cid}>',
    ]
    login_call = "|".join(
        [
            "",
            "",
            at.now.strftime("%Y-%m-%d %H:%M:%S"),
            "NEW",
            "N",
            server_ip,
            "",
            "Originate",
            login_cid,
            *lines,
            "",
            "",
            "",
            "",
            "",
        ]
    )
    webphone = (
        ""
        if phone.get("is_webphone", "N") == "N"
        else (f"/agent/webphone?extension={phone['extension']}&server_ip={server_ip}&session_id={conf}")
    )
    await conn.execute(
        sa.insert(web_client_sessions).values(
            extension=extension, server_ip=server_ip, program="agc", start_time=at.now, session_name=token
        )
    )
    await conn.execute(sa.delete(vicidial_session_data).where(vicidial_session_data.c.user == req.user))
    await conn.execute(
        sa.insert(vicidial_session_data).values(
            session_name=token,
            user=req.user,
            campaign_id=req.campaign_id,
            server_ip=server_ip,
            conf_exten=conf,
            extension=extension,
            login_time=at.now,
            webphone_url=webphone,
            agent_login_call=login_call,
        )
    )
    await logs.user_log(
        conn,
        at,
        user=req.user,
        event="LOGIN",
        campaign_id=req.campaign_id,
        user_group=user["user_group"] or "",
        session_id=conf,
        server_ip=server_ip,
        extension=extension,
        computer_ip=req.computer_ip,
        browser=req.browser,
        phone_login=req.phone_login,
        phone_ip=phone["phone_ip"] or "",
    )
    await logs.manager(conn, at, server_ip=server_ip, action="Originate", callerid=login_cid, lines=lines)
    ctx.switch(lambda: engine.call_agent_phone(extension, login_cid, conf, campaign_cid))
    ctx.emit("logged_in", conf_exten=conf)
    ctx.emit("state")
    return ctx, token


async def logout(ctx: Ctx, *, expect_command: bool = False, event: str = "LOGOUT") -> bool:
    """userLOGout (spec §5.8). The row delete is the claim: only one process logs an agent out."""
    where = [VLA.user == ctx.user]
    if expect_command:
        where.append(VLA.external_pause.in_(("LOGOUT", LOGOUT_AFTER_DISPO)))
    if (await ctx.conn.execute(sa.delete(vicidial_live_agents).where(*where))).rowcount != 1:
        return False
    ctx.moved(Event.LOGOUT, ctx.phase, Phase.OUT)
    if expect_command:  # the row's delete was the LOGOUT command's claim
        ctx.applied("external_pause", "LOGOUT")
    if await logs.last_user_event(ctx.conn, ctx.user) != "LOGOUT":
        await logs.user_log(
            ctx.conn,
            ctx.at,
            user=ctx.user,
            event=event,
            campaign_id=ctx.campaign_id,
            user_group=ctx.user_group,
            session_id=ctx.conf,
            server_ip=ctx.server_ip,
            extension=ctx.vla.get("extension") or "",
        )
    C = vicidial_conferences.c
    await ctx.conn.execute(
        sa.update(vicidial_conferences)
        .where(C.conf_exten == int(ctx.conf or 0), C.server_ip == ctx.server_ip)
        .values(extension="")
    )
    SD = vicidial_session_data.c
    names = [r[0] for r in await ctx.conn.execute(sa.select(SD.session_name).where(SD.user == ctx.user))]
    if names:
        await ctx.conn.execute(
            sa.delete(web_client_sessions).where(web_client_sessions.c.session_name.in_(names))
        )
    await ctx.conn.execute(sa.delete(vicidial_session_data).where(SD.user == ctx.user))
    extension = ctx.vla.get("extension") or ""
    hang_id = logs.logout_call_id(ctx.at)
    await logs.manager(
        ctx.conn,
        ctx.at,
        server_ip=ctx.server_ip,
        action="Hangup",
        callerid=hang_id,
        channel=extension,
        lines=[f"Channel: {extension}"],
    )
    engine, conf = ctx.engine, ctx.conf
    ctx.switch(lambda: engine.hangup_agent_phone(conf, extension))
    await ctx.conn.execute(
        sa.delete(vicidial_live_inbound_agents).where(vicidial_live_inbound_agents.c.user == ctx.user)
    )
    await logs.val_logout(ctx.conn, ctx.at, int(ctx.vla["agent_log_id"] or 0))
    ctx.emit("logged_out")
    return True
