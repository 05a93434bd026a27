"""`external_transferconf` (spec §4.6, API part 3 §3.4): transfers and 3-way calls as a state machine.

Per agent, one `Transfer`:

```
 IDLE ──DIAL_WITH_CUSTOMER / PARK_CUSTOMER_DIAL──▶ DIALING ──3rd party answers──▶ CONFERENCED
  ▲                                                   │ busy / no answer / hung up     │
  └───────────────── HANGUP_XFER, HANGUP_BOTH, LEAVE_3WAY_CALL, the call's end ◀───────┘
 IDLE ──BLIND_TRANSFER / LOCAL_CLOSER / LEAVE_VM──▶ (customer redirected, call ended → dispo) ──▶ IDLE
```

The table of these moves and their effects is `states.TRANSFER_TRANSITIONS`; `Transfer.move` follows it.
The state is the lock: a command that starts a transfer (dial, park-and-dial, blind, local closer,
voicemail) is refused (`command_ignored`, reason `transfer in progress`) unless the agent's transfer is
IDLE, so a second transfer can never start while one is in progress. HANGUP_XFER / HANGUP_BOTH /
LEAVE_3WAY_CALL act on the transfer in progress. The command id (field 7, `{epoch}.{tag}{seq}`) is compared as
a string with the last one executed, and a repeat is dropped.

Closer side: a call sent to an in-group (`990009*GROUP*…`, `90009*GROUP*CXFER*…`) comes back from the switch as
an INBOUND with the extension; `routing.queue_transfer` queues it in the in-group with its lead, a `vicidial_xfer_log`
row and a `vicidial_closer_log` row carrying `xfercallid` (AGENTDIRECT: `agent_only` = the target agent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from openagc.engine import logs, media, session, states
from openagc.engine.context import Ctx, Host
from openagc.engine.states import TransferEvent, TransferPhase
from openagc.store.schema import (
    groups_alias,
    user_call_log,
    vicidial_3way_press_live,
    vicidial_3way_press_multi,
    vicidial_auto_calls,
    vicidial_closer_log,
    vicidial_conferences,
    vicidial_lead_messages,
    vicidial_live_agents,
    vicidial_log,
    vicidial_session_data,
    vicidial_xfer_log,
)
from openagc.switch.port import ChannelKind, EventKind, SwitchEvent

VAC, VLA = vicidial_auto_calls.c, vicidial_live_agents.c
STARTS = frozenset({"DIAL_WITH_CUSTOMER", "PARK_CUSTOMER_DIAL", "BLIND_TRANSFER", "LOCAL_CLOSER", "LEAVE_VM"})
ENDS = frozenset({"HANGUP_XFER", "HANGUP_BOTH", "LEAVE_3WAY_CALL"})
LEG_PREFIXES = ("DC", "DV")


@dataclass
class Transfer:
    """The agent's transfer in progress (per engine process; a restart finds it IDLE)."""

    phase: TransferPhase = TransferPhase.IDLE
    call_ids: list[str] = field(default_factory=list)  # the 3rd-party legs' tracking ids
    number: str = ""
    multi: bool = False
    last_id: str = ""  # the last command id executed (compared as a string)

    def move(self, user: str, event: TransferEvent) -> None:
        """The next phase, as `states.TRANSFER_TRANSITIONS` has it."""
        self.phase = states.transfer_step(user, self.phase, event)


def state(ctx_or_engine: Any, user: str) -> Transfer:
    engine = getattr(ctx_or_engine, "engine", ctx_or_engine)
    transfers: dict[str, Transfer] = engine.__dict__.setdefault("transfers", {})
    return transfers.setdefault(user, Transfer())


@dataclass(frozen=True)
class Command:
    """The fields of an `external_transferconf` value (layouts A/B/C)."""

    function: str
    ingroup: str = ""
    number: str = ""
    consultative: str = ""
    override: str = ""
    group_alias: str = ""
    alias_cid: str = ""
    command_id: str = ""
    cid_choice: str = ""

    @classmethod
    def parse(cls, value: str) -> Command:
        return cls(*(value.split("---") + [""] * 9)[:9])


# --- the column handler -------------------------------------------------------------------------------------


async def transferconf(ctx: Ctx) -> bool:
    """external_transferconf: claimed at once (Clear_API_Field), then carried out if the state allows."""
    value = ctx.vla.get("external_transferconf") or ""
    if not value:
        return False
    if ctx.vla["status"] != "INCALL":
        return await ctx.refuse("external_transferconf", value, "agent has no call")
    if not await ctx.claim("external_transferconf", value):
        return False
    cmd = Command.parse(value)
    xfer = state(ctx, ctx.user)
    if cmd.command_id and cmd.command_id == xfer.last_id:
        ctx.ignored("external_transferconf", value, "repeated command id")
        return True
    if cmd.function in STARTS and xfer.phase not in states.TRANSFER_MAY_START:
        ctx.ignored("external_transferconf", value, "transfer in progress")
        return True
    handler = HANDLERS.get(cmd.function)
    if handler is None:
        ctx.ignored("external_transferconf", value, "unknown transfer function")
        return True
    xfer.last_id = cmd.command_id
    await handler(ctx, cmd)
    ctx.emit("transfer", function=cmd.function, phase=state(ctx, ctx.user).phase.value)
    ctx.emit("state")
    return True


# --- helpers ------------------------------------------------------------------------------------------------


def user_call_id(ctx: Ctx, prefix: str) -> str:
    return logs.hangup_call_id(ctx.at, ctx.user, prefix)


async def _call_log(ctx: Ctx, call_type: str, number: str, dialed: str, callerid: str, alias: str = "") -> None:
    await ctx.conn.execute(sa.insert(user_call_log).values(
        user=ctx.user, call_date=ctx.at.now, call_type=call_type, server_ip=ctx.server_ip,
        phone_number=number[:100], number_dialed=dialed[:100], lead_id=int(ctx.vla.get("lead_id") or 0),
        callerid=callerid[:20], group_alias_id=alias[:30], campaign_id=ctx.campaign_id))


def _dial(ctx: Ctx, lead: dict[str, Any], number: str, override: str) -> tuple[str, str]:
    """(prefix, number as dialled): (3-way dial prefix, `[phone_code]number`), or ("", the number as given) with
    dial_override YES. Together they are upstream's dial string."""
    if override == "YES":
        return "", number
    prefix = ctx.campaign.get("three_way_dial_prefix") or ctx.campaign.get("dial_prefix") or "9"
    code = "" if ctx.campaign.get("omit_phone_code") == "Y" else str(lead.get("phone_code") or "1")
    return prefix, f"{code}{number}"


async def _caller_id(ctx: Ctx, cmd: Command, lead: dict[str, Any]) -> str:
    """The 3-way caller ID: the alias's number, else the cid_choice (or the campaign's three_way_call_cid)."""
    if cmd.alias_cid:
        return cmd.alias_cid
    if cmd.group_alias:
        found = (await ctx.conn.execute(sa.select(groups_alias.c.caller_id_number).where(
            groups_alias.c.group_alias_id == cmd.group_alias))).scalar()
        if found:
            return str(found)
    choice = cmd.cid_choice if len(cmd.cid_choice) > 3 else (ctx.campaign.get("three_way_call_cid") or "CAMPAIGN")
    if choice == "CUSTOMER":
        return str(lead.get("phone_number") or "")
    if choice == "AGENT_PHONE":
        return str((await media.phone(ctx)).get("outbound_cid") or "")
    return ctx.campaign.get("campaign_cid") or "0000000000"


async def _redirect_vd(ctx: Ctx, prefix: str, exten: str, *, sounds: tuple[str, ...] = ()) -> None:
    """RedirectVD: the call log XFER (end, length), the park log closed, the customer sent to `exten`."""
    uniqueid, channel = ctx.vla.get("uniqueid") or "", ctx.vla.get("channel") or ""
    if ctx.vla.get("comments") == "INBOUND":
        CL = vicidial_closer_log.c
        row = await logs.latest_closer_row(ctx.conn, uniqueid)
        if row is not None:
            await ctx.conn.execute(sa.update(vicidial_closer_log).where(CL.closecallid == row["closecallid"])
                                   .values(status="XFER", end_epoch=ctx.at.epoch,
                                           length_in_sec=max(0, ctx.at.epoch - int(row["start_epoch"] or 0))))
    else:
        VL = vicidial_log.c
        row = (await ctx.conn.execute(sa.select(VL.start_epoch).where(VL.uniqueid == uniqueid))).first()
        if row is not None:
            await ctx.conn.execute(sa.update(vicidial_log).where(VL.uniqueid == uniqueid).values(
                status="XFER", end_epoch=ctx.at.epoch, length_in_sec=max(0, ctx.at.epoch - int(row[0] or 0))))
    await media.close_park_log(ctx, "GRABBED")
    await ctx.conn.execute(sa.delete(media.parked_channels).where(media.PC.channel == channel[:100]))
    context = media.context_of(await media.phone(ctx))
    cid = user_call_id(ctx, prefix)
    await logs.manager(
        ctx.conn, ctx.at, server_ip=ctx.vla.get("call_server_ip") or ctx.server_ip, action="Redirect",
        callerid=cid, channel=channel,
        lines=[f"Channel: {channel}", f"Context: {context}", f"Exten: {exten}", "Priority: 1", f"CallerID: {cid}"])
    engine = ctx.engine
    if channel:
        ctx.switch(lambda: engine.switch.redirect(channel, exten=exten, sounds=sounds))


async def _finish_call(ctx: Ctx) -> None:
    """After a blind, local-closer or voicemail transfer: call-end logging without a hangup, then dispo."""
    state(ctx, ctx.user).move(ctx.user, TransferEvent.DONE)
    await session.end_call(ctx, term_reason="AGENT", hangup_channel=False)


async def xfer_channels(ctx: Ctx) -> list[str]:
    """The live channels of the agent's 3rd-party legs (in the conference, ringing or parked)."""
    ids = set(state(ctx, ctx.user).call_ids)
    channels = await ctx.engine.switch.channels()
    found = [c.name for c in channels if c.call_id in ids and not c.name.endswith(";2")]
    if not found:  # after a restart: the legs still in the conference
        found = [c.name for c in channels if c.conference == ctx.conf and c.call_id.startswith(LEG_PREFIXES)
                 and c.kind == ChannelKind.CUSTOMER]
    return found


async def hangup_leg(ctx: Ctx, channel: str) -> None:
    cid = user_call_id(ctx, "HXvdcW")
    await logs.manager(ctx.conn, ctx.at, server_ip=ctx.server_ip, action="Hangup", callerid=cid,
                       channel=channel, lines=[f"Channel: {channel}"])
    await ctx.conn.execute(sa.delete(media.parked_channels).where(media.PC.channel == channel[:100]))
    engine = ctx.engine
    ctx.switch(lambda: engine.switch.hangup(channel))


# --- the functions ------------------------------------------------------------------------------------------


async def hangup_xfer(ctx: Ctx, cmd: Command) -> None:
    for channel in await xfer_channels(ctx):
        await hangup_leg(ctx, channel)
    await _legs_done(ctx, "HUNGUP")


async def hangup_both(ctx: Ctx, cmd: Command) -> None:
    await hangup_xfer(ctx, cmd)
    await session.end_call(ctx)


async def blind_transfer(ctx: Ctx, cmd: Command) -> None:
    lead = await ctx.lead(int(ctx.vla["lead_id"] or 0)) or {}
    exten = "".join(_dial(ctx, lead, cmd.number, cmd.override))
    await _call_log(ctx, "BLIND_XFER", cmd.number, exten, user_call_id(ctx, "XBvdcW"), cmd.group_alias)
    await _redirect_vd(ctx, "XBvdcW", exten)
    await _finish_call(ctx)


async def leave_vm(ctx: Ctx, cmd: Command) -> None:
    """The customer hears the lead's vm_message audio (else the campaign's message), then the call ends."""
    lead_id = int(ctx.vla["lead_id"] or 0)
    lead = await ctx.lead(lead_id) or {}
    M = vicidial_lead_messages.c
    message = (await ctx.conn.execute(sa.select(M.message_entry, M.call_date).where(M.lead_id == lead_id, M.played == 0)
                                      .order_by(M.call_date.desc()).limit(1))).mappings().first()
    base = ctx.campaign.get("am_message_exten") or "vm-goodbye"
    if message is not None:
        sounds = tuple(s for s in (message["message_entry"] or "").split("|") if s)
        await ctx.conn.execute(sa.update(vicidial_lead_messages).where(M.lead_id == lead_id, M.played == 0)
                               .values(played=1))
    else:
        sounds = (base,)
    exten = f"{base}*{ctx.campaign_id}*{lead.get('phone_code') or ''}*{lead.get('phone_number') or ''}*{lead_id}"
    await _redirect_vd(ctx, "LVvdcW", exten, sounds=sounds)
    await _finish_call(ctx)


def ingroup_exten(ctx: Ctx, lead: dict[str, Any], cmd: Command, *, consult: bool) -> str:
    agentdirect = cmd.number if cmd.ingroup == "AGENTDIRECT" else ""
    phone = str(lead.get("phone_number") or "")
    if consult:
        return f"90009*{cmd.ingroup}*CXFER*{lead.get('lead_id')}**{phone}*{ctx.user}*{agentdirect}*0*"
    return f"990009*{cmd.ingroup}**{lead.get('lead_id')}**{phone}*{ctx.user}*{agentdirect}*"


async def local_closer(ctx: Ctx, cmd: Command) -> None:
    lead = await ctx.lead(int(ctx.vla["lead_id"] or 0)) or {}
    exten = ingroup_exten(ctx, lead, cmd, consult=False)
    await _call_log(ctx, "LOCAL_CLOSER", cmd.ingroup, exten, user_call_id(ctx, "XLvdcW"), cmd.group_alias)
    await _redirect_vd(ctx, "XLvdcW", exten)
    await _finish_call(ctx)


async def dial_with_customer(ctx: Ctx, cmd: Command) -> None:
    """3-way: a new leg dialled into the conference (or into an in-group, consultative)."""
    lead = await ctx.lead(int(ctx.vla["lead_id"] or 0)) or {}
    xfer = state(ctx, ctx.user)
    caller = await _caller_id(ctx, cmd, lead)
    consult = cmd.consultative == "YES" and bool(cmd.ingroup)
    numbers = [] if consult else await _multi_numbers(ctx)
    prefix = "DV" if cmd.override == "YES" and not consult else "DC"
    base_id = f"{prefix}{ctx.at.epoch}W{ctx.vla['lead_id']}W"
    if consult:
        targets = [(("", ingroup_exten(ctx, lead, cmd, consult=True)), base_id[:20])]
    elif numbers:
        targets = [(_dial(ctx, lead, n, cmd.override), f"{prefix}{ctx.at.epoch}{i}W{ctx.vla['lead_id']}W"[:20])
                   for i, n in enumerate(numbers)]
    else:
        targets = [(_dial(ctx, lead, cmd.number, cmd.override), base_id[:20])]
    context = media.context_of(await media.phone(ctx))
    timeout = int(ctx.campaign.get("dial_timeout") or 60)
    engine, conf = ctx.engine, ctx.conf
    xfer.move(ctx.user, TransferEvent.DIAL)
    xfer.call_ids, xfer.number, xfer.multi = [], cmd.number, bool(numbers)
    for (out_prefix, number), call_id in targets:
        dial = out_prefix + number
        await logs.manager(
            ctx.conn, ctx.at, server_ip=ctx.server_ip, action="Originate", callerid=call_id,
            lines=[f"Channel: Local/{dial}@{context}", f"Context: {context}", f"Exten: {ctx.conf}", "Priority: 1",
                   f'Callerid: "{call_id}" <{caller}>', f"Timeout: {timeout * 1000}"])
        await _call_log(ctx, "XFER_3WAY", cmd.number or cmd.ingroup, dial, call_id, cmd.group_alias)
        if numbers:
            await ctx.conn.execute(sa.insert(vicidial_3way_press_live).values(
                call_date=ctx.at.now, caller_code=call_id, user=ctx.user, lead_id=int(ctx.vla["lead_id"]),
                phone_number=dial[-18:], status="CALLING"))
        xfer.call_ids.append(call_id)
        join = None if numbers else conf
        ctx.switch(lambda p=out_prefix, n=number, call_id=call_id, join=join: engine.switch.originate(
            number=n, call_id=call_id, conference=join, caller_id=caller, timeout=float(timeout), prefix=p))
    if numbers:
        await ctx.conn.execute(sa.update(vicidial_3way_press_multi).where(
            vicidial_3way_press_multi.c.user == ctx.user).values(status="SENT"))


async def _multi_numbers(ctx: Ctx) -> list[str]:
    """The agent's NEW multi-dial list (transfer_conference multi_dial_phones), for a 3-way press-1 race."""
    T = vicidial_3way_press_multi.c
    row = (await ctx.conn.execute(sa.select(T.phone_numbers).where(T.user == ctx.user, T.status == "NEW"))).first()
    return [n for n in (row[0] or "").split(",") if n] if row else []


async def park_customer_dial(ctx: Ctx, cmd: Command) -> None:
    channel = ctx.vla.get("channel") or ""
    if channel:
        await media.park_channel(ctx, channel, customer=True)
    await dial_with_customer(ctx, cmd)


async def leave_3way_call(ctx: Ctx, cmd: Command) -> None:
    """The agent leaves: their phone moves to a new empty conference; customer and 3rd party stay (§4.6)."""
    old = ctx.conf
    new = await reserve_conference(ctx)
    if new is None:
        ctx.ignored("external_transferconf", ctx.outcomes.get("external_transferconf", ("",))[0],
                    "no free conference")
        return
    C = vicidial_conferences.c
    await ctx.conn.execute(sa.update(vicidial_conferences).where(C.conf_exten == int(old), C.server_ip == ctx.server_ip)
                           .values(extension=f"3WAY_{ctx.user}"[:100], leave_3way="1",
                                   leave_3way_datetime=ctx.at.now))
    agent_channels = [c.name for c in await ctx.engine.switch.channels()
                      if c.kind == ChannelKind.AGENT and c.conference == old]
    cid = user_call_id(ctx, "VXvdcW")
    for channel in agent_channels:
        await logs.manager(ctx.conn, ctx.at, server_ip=ctx.server_ip, action="Redirect", callerid=cid,
                           channel=channel, lines=[f"Channel: {channel}", "Context: default", f"Exten: {new}",
                                                   "Priority: 1", f"CallerID: {cid}"])
    await ctx.set(conf_exten=new)
    await ctx.conn.execute(sa.update(vicidial_session_data).where(vicidial_session_data.c.user == ctx.user)
                           .values(conf_exten=new))
    engine = ctx.engine
    for channel in agent_channels:
        ctx.switch(lambda channel=channel: engine.switch.redirect(channel, conference=new))
    await _legs_done(ctx, "TRANSFER")
    await session.end_call(ctx, term_reason="AGENT", hangup_channel=False)
    ctx.emit("left_3way", old_conf_exten=old, conf_exten=new)


async def reserve_conference(ctx: Ctx) -> str | None:
    C = vicidial_conferences.c
    for _ in range(20):
        free = (await ctx.conn.execute(
            sa.select(C.conf_exten)
            .where(C.server_ip == ctx.server_ip, sa.or_(C.extension == "", C.extension.is_(None)))
            .order_by(C.conf_exten).limit(1))).scalar()
        if free is None:
            return None
        took = await ctx.conn.execute(sa.update(vicidial_conferences).where(
            C.conf_exten == free, C.server_ip == ctx.server_ip, sa.or_(C.extension == "", C.extension.is_(None))
        ).values(extension=ctx.vla.get("extension") or ""))
        if took.rowcount == 1:
            return str(free)
    return None


async def _legs_done(ctx: Ctx, status: str) -> None:
    xfer = state(ctx, ctx.user)
    if xfer.multi and xfer.call_ids:
        T = vicidial_3way_press_live.c
        await ctx.conn.execute(sa.update(vicidial_3way_press_live).where(
            T.caller_code.in_(xfer.call_ids), T.status.in_(("CALLING", "ACCEPTED"))).values(status=status))
    xfer.move(ctx.user, TransferEvent.DONE)
    xfer.call_ids, xfer.multi = [], False


HANDLERS = {
    "HANGUP_XFER": hangup_xfer,
    "HANGUP_BOTH": hangup_both,
    "BLIND_TRANSFER": blind_transfer,
    "LEAVE_VM": leave_vm,
    "LOCAL_CLOSER": local_closer,
    "DIAL_WITH_CUSTOMER": dial_with_customer,
    "PARK_CUSTOMER_DIAL": park_customer_dial,
    "LEAVE_3WAY_CALL": leave_3way_call,
}


async def call_over(ctx: Ctx) -> None:
    """The agent's call is over (dispo): a transfer still marked in progress is released."""
    xfer = state(ctx, ctx.user)
    if xfer.phase != TransferPhase.IDLE:
        await _legs_done(ctx, "HUNGUP")


# --- 3rd-party leg events -----------------------------------------------------------------------------------


def owner_of(engine: Host, call_id: str) -> str | None:
    for user, xfer in engine.__dict__.get("transfers", {}).items():
        if call_id in xfer.call_ids:
            return user
    return None


async def on_leg_event(engine: Host, event: SwitchEvent) -> None:
    """A 3-way leg rang, answered or went away: the owning agent's transfer moves on."""
    ch = event.channel
    user = owner_of(engine, ch.call_id)
    if user is None or ch.name.endswith(";2"):
        return
    await engine.transact(user, lambda ctx: _leg_event(ctx, event))


async def _leg_event(ctx: Ctx, event: SwitchEvent) -> None:
    xfer = state(ctx, ctx.user)
    ch = event.channel
    if ch.call_id not in xfer.call_ids:
        return
    T = vicidial_3way_press_live.c
    if event.kind == EventKind.ANSWERED and xfer.phase == TransferPhase.DIALING:
        xfer.move(ctx.user, TransferEvent.ANSWERED)
        if xfer.multi:  # press-1 race: the first to answer wins, the others are hung up
            await ctx.conn.execute(sa.update(vicidial_3way_press_live).where(T.caller_code == ch.call_id)
                                   .values(status="ACCEPTED"))
            losers = [c for c in xfer.call_ids if c != ch.call_id]
            await ctx.conn.execute(sa.update(vicidial_3way_press_live).where(
                T.caller_code.in_(losers), T.status == "CALLING").values(status="DEFEATED"))
            xfer.call_ids = [ch.call_id]
            engine, conf, name = ctx.engine, ctx.conf, ch.name
            ctx.switch(lambda: engine.switch.redirect(name, conference=conf))
            for other in await ctx.engine.switch.channels():
                if other.call_id in losers:
                    ctx.switch(lambda n=other.name: engine.switch.hangup(n))
        ctx.emit("xfer_answered", callerid=ch.call_id)
        ctx.emit("state")
    elif event.kind in (EventKind.HANGUP, EventKind.BUSY, EventKind.NO_ANSWER):
        if event.kind != EventKind.HANGUP:
            return
        if xfer.multi:
            await ctx.conn.execute(sa.update(vicidial_3way_press_live).where(
                T.caller_code == ch.call_id, T.status.in_(("CALLING", "ACCEPTED"))).values(status="HUNGUP"))
        if ch.call_id in xfer.call_ids:
            xfer.call_ids.remove(ch.call_id)
        if not xfer.call_ids:
            xfer.move(ctx.user, TransferEvent.LEG_GONE)
            xfer.multi = False
            UCL = user_call_log.c
            await ctx.conn.execute(sa.update(user_call_log).where(UCL.callerid == ch.call_id, UCL.user == ctx.user)
                                   .values(xfer_hungup="XFER_HUNGUP", xfer_hungup_datetime=ctx.at.now))
        ctx.emit("xfer_hangup", callerid=ch.call_id)
        ctx.emit("state")


# --- the closer side ----------------------------------------------------------------------------------------


def parse_ingroup_exten(exten: str) -> dict[str, str]:
    """`990009*GROUP**lead**phone*user*agentdirect*`, `90009*GROUP*CXFER*lead**phone*user*agentdirect*secs*`,
    or ra_call_control's `90009*GROUP**lead**phone**user**`."""
    f = exten.split("*") + [""] * 10
    user, direct = (f[7], "") if not f[6] else (f[6], f[7])
    return {"group": f[1], "lead_id": f[3], "phone": f[5], "user": user, "agentdirect": direct,
            "consult": "1" if f[2] == "CXFER" else ""}


async def picked_up(ctx: Ctx, call: dict[str, Any]) -> None:
    """A closer took a transferred call: its vicidial_xfer_log row names the closer."""
    CL = vicidial_closer_log.c
    xfercallid = (await ctx.conn.execute(sa.select(CL.xfercallid).where(CL.uniqueid == (call["uniqueid"] or ""))
                                         .order_by(CL.closecallid.desc()).limit(1))).scalar()
    if xfercallid:
        X = vicidial_xfer_log.c
        await ctx.conn.execute(sa.update(vicidial_xfer_log).where(X.xfercallid == xfercallid).values(
            closer=ctx.user, close_uniqueid=(call["uniqueid"] or "")[:50]))


# --- park (external_park): the customer's leg and the 3rd party's ---------------------------------------


async def park(ctx: Ctx) -> bool:
    """external_park: cleared on every request, acted on only during a call with that leg (spec §4.7)."""
    value = ctx.vla.get("external_park") or ""
    if not value or not await ctx.claim("external_park", value):
        return False
    steps = media.PARK_ACTIONS.get(value)
    if steps is None or ctx.vla["status"] != "INCALL":
        ctx.ignored("external_park", value, "unknown park action" if steps is None else "agent has no call")
        return True
    done = False
    for action, leg in steps:
        channels = [ctx.vla.get("channel") or ""] if leg == "customer" else await xfer_channels(ctx)
        for channel in [c for c in channels if c]:
            if action == "hangup":
                await hangup_leg(ctx, channel)
            elif action == "grab":
                await media.grab_channel(ctx, channel, customer=leg == "customer")
            else:
                await media.park_channel(ctx, channel, customer=leg == "customer", ivr=action == "park_ivr")
            done = True
    if not done:
        ctx.ignored("external_park", value, "no channel")
    ctx.emit("state")
    return True
