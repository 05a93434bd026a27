"""Media of the agent's session: `external_dtmf`, `external_recording`, and parking or grabbing a channel (spec
§4.7–4.9; `external_park` itself is `transfer.park`, since it acts on the 3rd party's leg too).

Each handler claims its column with a compare-and-clear, writes upstream's rows (the `vicidial_manager`
record of the switch action, `recording_log`, `parked_channels`, `park_log`, `vicidial_user_dial_log`) in the
agent's transaction, and queues the switch operation to run after the commit.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from openagc.engine import agent_phone, logs
from openagc.engine.context import Ctx
from openagc.store.schema import (
    park_log,
    parked_channels,
    parked_channels_recent,
    recording_log,
    vicidial_auto_calls,
    vicidial_user_dial_log,
)

RL, PC, PL = recording_log.c, parked_channels.c, park_log.c
DTMF_MAP = str.maketrans({"P": "#", "S": "*", "Q": ","})
PLAYABLE = re.compile(r"[^0-9A-D*#,]")
UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


async def phone(ctx: Ctx) -> dict[str, Any]:
    """The agent's phone row (by the session's dial string)."""
    return await agent_phone.row_for(ctx.conn, ctx.vla.get("extension") or "", ctx.server_ip)


def context_of(ph: dict[str, Any]) -> str:
    return ph.get("ext_context") or "default"


# --- DTMF ---------------------------------------------------------------------------------------------------


def dtmf_digits(value: str) -> str:
    """The screen's substitutions (P → #, S → *, Q → `,` one second of silence); unplayable characters go."""
    return PLAYABLE.sub("", value.upper().translate(DTMF_MAP))


async def dtmf(ctx: Ctx) -> bool:
    """external_dtmf: play the digits into the agent's conference, whatever the call state (spec §4.8)."""
    value = ctx.vla.get("external_dtmf") or ""
    if not value or not await ctx.claim("external_dtmf", value):
        return False
    digits = dtmf_digits(value)
    if not digits.replace(",", ""):
        ctx.ignored("external_dtmf", value, "no digits the switch can play")
        return True
    ph = await phone(ctx)
    context = context_of(ph)
    await logs.manager(
        ctx.conn, ctx.at, server_ip=ctx.server_ip, action="Originate", callerid=digits,
        lines=[f"Channel: {ph.get('dtmf_send_extension') or 'local/8500998@default'}", f"Context: {context}",
               f"Exten: 7{ctx.conf}", "Priority: 1", f"Callerid: {digits}"],
    )
    await ctx.conn.execute(sa.insert(vicidial_user_dial_log).values(
        caller_code=digits[:30], user=ctx.user, call_date=ctx.at.now, call_type="SYS", notes=f"DTMF {ctx.conf}"))
    engine, conf = ctx.engine, ctx.conf
    ctx.switch(lambda: engine.switch.send_dtmf(conf, digits))
    ctx.emit("dtmf", digits=digits)
    return True


# --- recording ----------------------------------------------------------------------------------------------


def recording_name(ctx: Ctx, template: str, lead: dict[str, Any] | None, suffix: str) -> str:
    """The campaign's filename template with upstream's tokens substituted, then the sanitised suffix."""
    now = ctx.at.now
    lead = lead or {}
    tokens = {
        "CAMPAIGN": ctx.campaign_id, "INGROUP": "", "CUSTPHONE": str(lead.get("phone_number") or ""),
        "FULLDATE": now.strftime("%Y%m%d-%H%M%S"), "TINYDATE": now.strftime("%y%m%d%H%M%S")[1:],
        "EPOCH": str(ctx.at.epoch), "AGENT": ctx.user, "VENDORLEADCODE": str(lead.get("vendor_lead_code") or ""),
        "LEADID": str(lead.get("lead_id") or ""), "CALLID": ctx.vla.get("callerid") or "",
    }
    name = template or "FULLDATE_AGENT"
    for token in sorted(tokens, key=len, reverse=True):
        name = name.replace(token, tokens[token])
    return UNSAFE.sub("", name + UNSAFE.sub("_", suffix))[:90] or f"{ctx.at.epoch}_{ctx.user}"


async def open_recordings(ctx: Ctx) -> list[dict[str, Any]]:
    rows = await ctx.conn.execute(
        sa.select(recording_log).where(RL.user == ctx.user, RL.server_ip == ctx.server_ip, RL.end_time.is_(None))
        .order_by(RL.recording_id))
    return [dict(r) for r in rows.mappings()]


async def start_recording(ctx: Ctx, suffix: str = "") -> int | None:
    """MonitorConf: a recording_log row, the record of the originate, the switch starts recording."""
    if ctx.campaign.get("campaign_recording") == "NEVER":
        return None
    running = await open_recordings(ctx)
    if running:
        return int(running[-1]["recording_id"])
    lead_id = int(ctx.vla.get("lead_id") or 0)
    lead = await ctx.lead(lead_id) if lead_id else None
    name = recording_name(ctx, ctx.campaign.get("campaign_rec_filename") or "", lead, suffix)
    ph = await phone(ctx)
    context, exten = context_of(ph), ctx.campaign.get("campaign_rec_exten") or "8309"
    channel = f"Local/5{ctx.conf}@{context}"
    result = await ctx.conn.execute(sa.insert(recording_log).values(
        channel=channel, server_ip=ctx.server_ip, extension=exten, start_time=ctx.at.now,
        start_epoch=ctx.at.epoch, filename=name, lead_id=lead_id or None, user=ctx.user,
        vicidial_id=await _vicidial_id(ctx)))
    rec_id = int(result.inserted_primary_key[0])
    unique = name.replace("RECID", str(rec_id))
    if unique == name and (await ctx.conn.execute(sa.select(sa.func.count()).select_from(recording_log).where(
            RL.filename == name, RL.server_ip == ctx.server_ip, RL.recording_id != rec_id))).scalar():
        unique = f"{name}_{rec_id}"[:100]  # a second recording in the same second would overwrite the first's file
    if unique != name:
        name = unique
        await ctx.conn.execute(sa.update(recording_log).where(RL.recording_id == rec_id).values(filename=name))
    await logs.manager(
        ctx.conn, ctx.at, server_ip=ctx.server_ip, action="Originate", callerid=f"{name[:17]}...",
        lines=[f"Channel: {channel}", f"Context: {context}", f"Exten: {exten}", "Priority: 1",
               f"Callerid: {name}"])
    engine, conf = ctx.engine, ctx.conf
    ctx.switch(lambda: engine.switch.start_recording(conf, name))
    ctx.emit("recording_started", recording_id=rec_id, filename=name)
    return rec_id


async def _vicidial_id(ctx: Ctx) -> str:
    uniqueid = ctx.vla.get("uniqueid") or ""
    if ctx.vla.get("comments") == "INBOUND" and uniqueid:
        row = await logs.latest_closer_row(ctx.conn, uniqueid)
        return str(row["closecallid"]) if row else ""
    return uniqueid if uniqueid not in ("0",) else ""


async def stop_recordings(ctx: Ctx) -> int:
    """StopMonitorConf for every open recording of the agent: end time, length, the recording legs hung up."""
    stopped = 0
    for row in await open_recordings(ctx):
        length = max(0, ctx.at.epoch - int(row["start_epoch"] or ctx.at.epoch))
        await ctx.conn.execute(sa.update(recording_log).where(RL.recording_id == row["recording_id"]).values(
            end_time=ctx.at.now, end_epoch=ctx.at.epoch, length_in_sec=length,
            length_in_min=round(length / 60, 2), vicidial_id=row["vicidial_id"] or await _vicidial_id(ctx)))
        await logs.manager(
            ctx.conn, ctx.at, server_ip=ctx.server_ip, action="Hangup",
            callerid=f"RH12345{ctx.at.epoch}{stopped}", channel=row["channel"] or "",
            lines=[f"Channel: {row['channel']}"])
        conf = recording_conference(row["channel"] or "") or ctx.conf  # where it was started (leave 3-way moves)
        engine, name, rec_id = ctx.engine, row["filename"], int(row["recording_id"])
        ctx.switch(lambda e=engine, c=conf, n=name, r=rec_id: _stop_on_switch(e, c, n, r))
        ctx.emit("recording_stopped", recording_id=rec_id, length_in_sec=length)
        stopped += 1
    return stopped


def recording_conference(channel: str) -> str:
    """The conference a recording records: `Local/5<conf>@<context>` (its recording_log channel) → `<conf>`."""
    exten = channel.partition("/")[2].partition("@")[0]
    return exten[1:] if exten.startswith("5") else ""


async def _stop_on_switch(engine: Any, conf: str, name: str, rec_id: int) -> None:
    """Stop the switch's recording, then note where its file is (the row's `location`)."""
    rec = await engine.switch.stop_recording(conf, name)
    async with engine.services.db.begin() as conn:
        await conn.execute(sa.update(recording_log).where(RL.recording_id == rec_id).values(location=rec.path[:255]))


async def recording(ctx: Ctx) -> bool:
    """external_recording: START[suffix] → the recording id replaces the command; STOP → blank (§4.9)."""
    value = ctx.vla.get("external_recording") or ""
    if value.isdigit() or not (value.startswith("START") or value == "STOP"):
        return False
    if value == "STOP":
        if not await ctx.claim("external_recording", value):
            return False
        if not await stop_recordings(ctx):
            ctx.ignored("external_recording", value, "no recording is running")
        return True
    if not await ctx.claim("external_recording", value):
        return False
    rec_id = await start_recording(ctx, value[len("START"):])
    if rec_id is None:
        ctx.ignored("external_recording", value, "the campaign never records")
    else:
        await ctx.set(external_recording=str(rec_id))
    ctx.emit("state")
    return True


async def auto_record(ctx: Ctx) -> None:
    """ALLCALLS / ALLFORCE campaigns record every call from the moment it connects."""
    if ctx.campaign.get("campaign_recording") in ("ALLCALLS", "ALLFORCE"):
        rec_id = await start_recording(ctx)
        if rec_id is not None:
            await ctx.set(external_recording=str(rec_id))


async def call_ended(ctx: Ctx) -> None:
    """Call end: stop recordings when the phone says so (VDstop_rec_after_each_call, default 1)."""
    if (await phone(ctx)).get("VDstop_rec_after_each_call", "1") != "0":
        if await stop_recordings(ctx):
            await ctx.set(external_recording="")


# --- park ---------------------------------------------------------------------------------------------------

PARK_ACTIONS = {
    "PARK_CUSTOMER": (("park", "customer"),),
    "GRAB_CUSTOMER": (("grab", "customer"),),
    "PARK_IVR_CUSTOMER": (("park_ivr", "customer"),),
    "GRAB_IVR_CUSTOMER": (("grab", "customer"),),
    "PARK_XFER": (("park", "xfer"),),
    "GRAB_XFER": (("grab", "xfer"),),
    "SWAP_PARK_CUSTOMER": (("park", "customer"), ("grab", "xfer")),
    "SWAP_PARK_XFER": (("park", "xfer"), ("grab", "customer")),
    "HANGUP_XFER_GRAB_CUSTOMER": (("hangup", "xfer"), ("grab", "customer")),
}
CALL_IDS = {("park", "customer"): "LPvdcW", ("park_ivr", "customer"): "LPvdcW", ("grab", "customer"): "FPvdcW",
            ("park", "xfer"): "LXvdcW", ("grab", "xfer"): "FXvdcW", ("hangup", "xfer"): "HXvdcW"}


def park_exten(ctx: Ctx, ph: dict[str, Any]) -> str:
    return ctx.campaign.get("park_ext") or ph.get("VICIDIAL_park_on_extension") or "8301"


async def park_channel(ctx: Ctx, channel: str, *, customer: bool, ivr: bool = False) -> None:
    """Redirect a leg into the park: parked_channels (+ park_log for the customer), then the switch."""
    ph = await phone(ctx)
    exten, context = park_exten(ctx, ph), context_of(ph)
    group = (ctx.vla.get("callerid") or "")[:30]
    prefix = CALL_IDS[("park_ivr" if ivr else "park", "customer" if customer else "xfer")]
    await _redirect_record(ctx, prefix, channel, exten, context)
    await ctx.conn.execute(sa.delete(parked_channels).where(PC.channel == channel[:100]))
    await ctx.conn.execute(sa.insert(parked_channels).values(
        channel=channel[:100], server_ip=ctx.vla.get("call_server_ip") or ctx.server_ip, channel_group=group,
        extension="park", parked_by=(ctx.vla.get("extension") or "")[:100], parked_time=ctx.at.now))
    if customer:
        await ctx.conn.execute(sa.insert(park_log).values(
            uniqueid=(ctx.vla.get("uniqueid") or "")[:20], status="IVRPARKED" if ivr else "PARKED",
            channel=channel[:100], channel_group=group, server_ip=ctx.server_ip, parked_time=ctx.at.now,
            extension=exten, user=ctx.user, lead_id=int(ctx.vla.get("lead_id") or 0)))
        if ivr:
            await ctx.conn.execute(sa.update(vicidial_auto_calls).where(
                vicidial_auto_calls.c.callerid == ctx.vla.get("callerid")).values(extension="PARK_IVR"))
    engine = ctx.engine
    ctx.switch(lambda: engine.switch.redirect(channel, park=True))
    ctx.emit("parked", channel=channel, leg="customer" if customer else "xfer")


async def grab_channel(ctx: Ctx, channel: str, *, customer: bool) -> None:
    """Redirect a parked leg back into the agent's conference; park time counted in park_log."""
    parked = (await ctx.conn.execute(
        sa.select(parked_channels).where(PC.channel == channel[:100]))).mappings().first()
    if parked is None:
        ctx.ignored("external_park", ctx.outcomes.get("external_park", ("",))[0], "not parked", channel=channel)
        return
    ph = await phone(ctx)
    prefix = CALL_IDS[("grab", "customer" if customer else "xfer")]
    await _redirect_record(ctx, prefix, channel, grab_exten(ctx, parked["server_ip"]), context_of(ph))
    await ctx.conn.execute(sa.delete(parked_channels).where(PC.channel == channel[:100]))
    await ctx.conn.execute(sa.insert(parked_channels_recent).values(
        channel=channel[:100], server_ip=parked["server_ip"], channel_group=parked["channel_group"],
        park_end_time=ctx.at.now))
    if customer:
        await close_park_log(ctx, "GRABBED")
    engine, conf = ctx.engine, ctx.conf
    ctx.switch(lambda: engine.switch.redirect(channel, conference=conf))
    ctx.emit("grabbed", channel=channel, leg="customer" if customer else "xfer")


def grab_exten(ctx: Ctx, call_server_ip: str) -> str:
    """The conference, prefixed with the agent's server as `010*010*010*015*` when the call is elsewhere."""
    if call_server_ip and call_server_ip != ctx.server_ip:
        return "".join(f"{int(p):03d}*" for p in ctx.server_ip.split(".")) + ctx.conf
    return ctx.conf


async def close_park_log(ctx: Ctx, status: str) -> None:
    """The open park_log row of the agent's call: GRABBED (or HUNGUP) with the seconds spent parked."""
    uniqueid = (ctx.vla.get("uniqueid") or "")[:20]
    row = (await ctx.conn.execute(
        sa.select(park_log).where(PL.uniqueid == uniqueid, PL.user == ctx.user, PL.status.in_(("PARKED", "IVRPARKED")))
        .order_by(PL.parked_time.desc()).limit(1))).mappings().first()
    if row is None:
        return
    parked_sec = max(0, ctx.at.epoch - int(row["parked_time"].timestamp()))
    values: dict[str, Any] = {"status": status, "parked_sec": parked_sec}
    values["grab_time" if status == "GRABBED" else "hangup_time"] = ctx.at.now
    await ctx.conn.execute(sa.update(park_log).where(
        PL.uniqueid == uniqueid, PL.user == ctx.user, PL.parked_time == row["parked_time"],
        PL.status == row["status"]).values(**values))


async def customer_hung_up_parked(ctx: Ctx) -> None:
    """A parked customer hung up: the park ends (HUNGUP, parked seconds) and the parked row goes."""
    channel = (ctx.vla.get("channel") or "")[:100]
    await close_park_log(ctx, "HUNGUP")
    await ctx.conn.execute(sa.delete(parked_channels).where(PC.channel == channel))


async def _redirect_record(ctx: Ctx, prefix: str, channel: str, exten: str, context: str) -> None:
    await logs.manager(
        ctx.conn, ctx.at, server_ip=ctx.vla.get("call_server_ip") or ctx.server_ip, action="Redirect",
        callerid=logs.hangup_call_id(ctx.at, ctx.user, prefix), channel=channel,
        lines=[f"Channel: {channel}", f"Context: {context}", f"Exten: {exten}", "Priority: 1",
               f"CallerID: {logs.hangup_call_id(ctx.at, ctx.user, prefix)}"])
