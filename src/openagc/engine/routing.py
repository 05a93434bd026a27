"""Calls: manual dial, preview, the inbound queue, RATIO auto-dial, and the switch's events.

What upstream's dialer, AGI scripts and hangup daemons do (spec §5.2, §9), done here in-process:

- inbound: a caller enters an in-group → `vicidial_auto_calls` (LIVE, IN) + `vicidial_closer_log` (QUEUE);
  delivered to the longest-waiting READY/CLOSER agent with that in-group selected;
- auto-dial: RATIO campaigns keep `ready agents × auto_dial_level` calls in flight from `vicidial_hopper`
  (filled from the campaign's active lists); an answered call goes to a READY agent, else it is dropped;
- manual dial (manDiaLnextCaLL, spec §5.3) with preview, alt numbers and Dial Next (MANUALNEXT).

Delivery claims the agent with a guarded update (`status IN (READY, CLOSER)` and no pause waiting in
`external_pause`), so a pause and a call racing for one agent never both win.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from openagc.engine import logs, remote, session, transfer
from openagc.engine.context import Ctx, Host
from openagc.engine.logs import Moment
from openagc.engine.states import Event
from openagc.store.schema import (
    user_call_log,
    vicidial_auto_calls,
    vicidial_callbacks,
    vicidial_campaign_dnc,
    vicidial_campaigns,
    vicidial_closer_log,
    vicidial_dial_log,
    vicidial_dnc,
    vicidial_hopper,
    vicidial_list,
    vicidial_lists,
    vicidial_live_agents,
    vicidial_live_inbound_agents,
    vicidial_log,
    vicidial_manual_dial_queue,
    vicidial_xfer_log,
)
from openagc.switch.port import Channel, EventKind, SwitchEvent

VLA, VAC, H = vicidial_live_agents.c, vicidial_auto_calls.c, vicidial_hopper.c
INBOUND_LIST_ID = 998


# --- manual dial --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DialSpec:
    """The 14 `!`-separated fields of an external_dial value (spec §4.5)."""

    number: str = ""
    phone_code: str = ""
    search: str = ""
    preview: str = ""
    focus: str = ""
    vendor_lead_code: str = ""
    epoch: str = ""
    dial_prefix: str = ""
    group_alias: str = ""
    cid_number: str = ""
    vtiger_callback_id: str = ""
    lead_id: str = ""
    alt_dial: str = ""
    dial_ingroup: str = ""

    @classmethod
    def parse(cls, value: str) -> DialSpec:
        fields = (value.split("!") + [""] * 14)[:14]
        return cls(*fields)

    @property
    def next(self) -> bool:
        return self.number == "MANUALNEXT"


async def manual_dial(ctx: Ctx, spec: DialSpec) -> None:
    """Choose the lead (Dial Next, lead_id, search or a new lead), then preview it or dial it."""
    campaign = ctx.campaign
    lead: dict[str, Any] | None
    alt = (spec.alt_dial or "MAIN").upper()
    if spec.next:
        lead = await next_hopper_lead(ctx)
        if lead is None:
            ctx.emit("dial_failed", reason="no leads in the hopper")
            return
        alt = "MAIN"
    elif spec.lead_id.isdigit():
        lead = await ctx.lead(int(spec.lead_id))
        if lead is None:
            ctx.emit("dial_failed", reason="lead not found", lead_id=spec.lead_id)
            return
    else:
        lead = None
        if spec.search.upper() == "YES":
            lists = sa.select(vicidial_lists.c.list_id).where(vicidial_lists.c.campaign_id == ctx.campaign_id)
            lead = await _first_lead(
                ctx, vicidial_list.c.phone_number == spec.number, vicidial_list.c.list_id.in_(lists)
            )
        if lead is None:
            lead = await _new_lead(
                ctx,
                spec.number,
                spec.phone_code or "1",
                spec.vendor_lead_code,
                int(campaign.get("manual_dial_list_id") or 998),
            )
    number = _number_for(lead, alt)
    if await _is_dnc(ctx, number):
        await _purge_queue(ctx, number)
        ctx.emit("dial_failed", reason="DNC", phone_number=number)
        return
    if spec.preview.upper() == "YES":
        await ctx.set(preview_lead_id=lead["lead_id"])
        ctx.emit("preview", lead_id=lead["lead_id"], phone_number=number)
        ctx.emit("state")
        return
    await place_call(
        ctx,
        lead,
        number=number,
        phone_code=spec.phone_code or lead.get("phone_code") or "1",
        alt=alt,
        dial_prefix=spec.dial_prefix,
        cid=spec.cid_number,
        ingroup=spec.dial_ingroup,
    )


def _number_for(lead: dict[str, Any], alt: str) -> str:
    column = {"ALT": "alt_phone", "ADDR3": "address3"}.get(alt, "phone_number")
    return "".join(ch for ch in str(lead.get(column) or "") if ch.isdigit())


async def _first_lead(ctx: Ctx, *where: Any) -> dict[str, Any] | None:
    row = (
        (
            await ctx.conn.execute(
                sa.select(vicidial_list).where(*where).order_by(vicidial_list.c.lead_id).limit(1)
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


async def _new_lead(ctx: Ctx, number: str, phone_code: str, vendor: str, list_id: int) -> dict[str, Any]:
    result = await ctx.conn.execute(
        sa.insert(vicidial_list).values(
            entry_date=ctx.at.now,
            status="QUEUE",
            user=ctx.user,
            vendor_lead_code=vendor[:20],
            list_id=list_id,
            phone_code=phone_code[:10],
            phone_number=number[:18],
            called_count=0,
            called_since_last_reset="N",
            entry_list_id=0,
            rank=0,
            owner="",
            gmt_offset_now=0,
        )
    )
    lead = await ctx.lead(int(result.inserted_primary_key[0]))
    assert lead is not None
    return lead


async def _is_dnc(ctx: Ctx, number: str) -> bool:
    if (
        ctx.campaign.get("use_internal_dnc") in ("Y", "AREACODE")
        and (
            await ctx.conn.execute(
                sa.select(vicidial_dnc.c.phone_number).where(vicidial_dnc.c.phone_number == number)
            )
        ).first()
    ):
        return True
    CD = vicidial_campaign_dnc.c
    return ctx.campaign.get("use_campaign_dnc") in ("Y", "AREACODE") and bool(
        (
            await ctx.conn.execute(
                sa.select(CD.phone_number).where(CD.phone_number == number, CD.campaign_id == ctx.campaign_id)
            )
        ).first()
    )


async def _purge_queue(ctx: Ctx, number: str) -> None:
    MQ = vicidial_manual_dial_queue.c
    await ctx.conn.execute(
        sa.delete(vicidial_manual_dial_queue).where(MQ.user == ctx.user, MQ.phone_number == number)
    )


async def next_hopper_lead(ctx: Ctx) -> dict[str, Any] | None:
    """Dial Next: the campaign's next READY hopper lead, claimed for this agent."""
    await fill_hopper(ctx.conn, ctx.campaign)
    for _ in range(5):
        row = (
            (
                await ctx.conn.execute(
                    sa.select(vicidial_hopper)
                    .where(H.campaign_id == ctx.campaign_id, H.status == "READY")
                    .order_by(H.priority.desc(), H.hopper_id)
                    .limit(1)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        took = await ctx.conn.execute(
            sa.update(vicidial_hopper)
            .where(H.hopper_id == row["hopper_id"], H.status == "READY")
            .values(status="QUEUE", user=ctx.user)
        )
        if took.rowcount == 1:
            return await ctx.lead(row["lead_id"])
    return None


async def skip_preview(ctx: Ctx, lead_id: int) -> None:
    await ctx.set(preview_lead_id=0)
    await ctx.conn.execute(sa.delete(vicidial_hopper).where(H.lead_id == lead_id))
    ctx.emit("preview_skipped", lead_id=lead_id)
    ctx.emit("state")


async def dial_previewed(ctx: Ctx, lead_id: int, alt: str) -> None:
    lead = await ctx.lead(lead_id)
    if lead is None:
        await ctx.set(preview_lead_id=0)
        return
    await place_call(
        ctx, lead, number=_number_for(lead, alt), phone_code=lead.get("phone_code") or "1", alt=alt
    )


async def place_call(
    ctx: Ctx,
    lead: dict[str, Any],
    *,
    number: str,
    phone_code: str,
    alt: str = "MAIN",
    dial_prefix: str = "",
    cid: str = "",
    ingroup: str = "",
) -> None:
    """manDiaLnextCaLL: lead INCALL, the call row, the agent INCALL, the originate (spec §5.3)."""
    at, campaign, lead_id = ctx.at, ctx.campaign, int(lead["lead_id"])
    callerid = logs.manual_call_id(at, lead_id, ingroup=bool(ingroup))
    count = int(lead.get("called_count") or 0) + 1
    await ctx.conn.execute(
        sa.update(vicidial_list)
        .where(vicidial_list.c.lead_id == lead_id)
        .values(
            status="INCALL",
            called_count=min(count, 65535),
            called_since_last_reset="Y",
            user=ctx.user,
            last_local_call_time=at.now,
        )
    )
    CB = vicidial_callbacks.c
    await ctx.conn.execute(
        sa.update(vicidial_callbacks)
        .where(CB.lead_id == lead_id, CB.status.in_(("ACTIVE", "LIVE")))
        .values(status="INACTIVE")
    )
    await ctx.conn.execute(sa.delete(vicidial_hopper).where(H.lead_id == lead_id))
    if not ingroup:
        await ctx.conn.execute(
            sa.insert(vicidial_auto_calls).values(
                server_ip=ctx.server_ip,
                campaign_id=ctx.campaign_id,
                status="XFER",
                lead_id=lead_id,
                uniqueid="",
                callerid=callerid,
                channel="",
                phone_code=phone_code[:10],
                phone_number=number[:18],
                call_time=at.now,
                call_type="OUT",
                alt_dial=alt[:6],
            )
        )
    was_paused = ctx.vla["status"] == "PAUSED"
    await ctx.enter(
        Event.DIAL,
        status="INCALL",
        callerid=callerid,
        lead_id=lead_id,
        comments="MANUAL",
        last_call_time=at.now,
        last_state_change=at.now,
        pause_code="",
        preview_lead_id=0,
        uniqueid="",
        channel="",
        calls_today=int(ctx.vla.get("calls_today") or 0) + 1,
        **session.INCALL_WIPE,
    )
    await logs.val_manual_dial(
        ctx.conn, at, int(ctx.vla["agent_log_id"] or 0), was_paused=was_paused, lead_id=lead_id
    )
    prefix = dial_prefix or campaign.get("dial_prefix") or "9"
    code = "" if campaign.get("omit_phone_code") == "Y" else phone_code
    exten = f"{prefix}{code}{number}"
    caller_number = cid or campaign.get("campaign_cid") or "0000000000"
    timeout = int(campaign.get("dial_timeout") or 60)
    local = f"Local/{ctx.conf}@default"
    await logs.manager(
        ctx.conn,
        at,
        server_ip=ctx.server_ip,
        action="Originate",
        callerid=callerid,
        lines=[
            f"Channel: {local}",
            "Context: default",
            f"Exten: {exten}",
            "Priority: 1",
            f'Callerid: "{callerid}" <{caller_number}>',
            f"Timeout: {timeout * 1000}",
        ],
    )
    await ctx.conn.execute(
        sa.insert(vicidial_dial_log).values(
            caller_code=callerid,
            lead_id=lead_id,
            server_ip=ctx.server_ip,
            call_date=at.now,
            extension=exten[:100],
            channel=local,
            context="default",
            timeout=timeout * 1000,
            outbound_cid=f'"{callerid}" <{caller_number}>',
        )
    )
    await ctx.conn.execute(
        sa.insert(user_call_log).values(
            user=ctx.user,
            call_date=at.now,
            call_type="MANUAL_DIALNOW",
            server_ip=ctx.server_ip,
            phone_number=number[:100],
            number_dialed=exten[:100],
            lead_id=lead_id,
            callerid=callerid,
            group_alias_id="",
            campaign_id=ctx.campaign_id,
        )
    )
    ctx.engine.alt_dial[callerid] = alt
    engine, conf = ctx.engine, ctx.conf
    ctx.switch(
        lambda: engine.originate(
            number=f"{code}{number}",
            call_id=callerid,
            conference=conf,
            caller_id=caller_number,
            timeout=float(timeout),
            prefix=prefix,
        )
    )
    ctx.emit("dialing", lead_id=lead_id, phone_number=number, callerid=callerid)
    ctx.emit("state")


# --- hopper and auto-dial -------------------------------------------------------------------------------


def _dial_statuses(campaign: Mapping[str, Any]) -> list[str]:
    return [s for s in (campaign.get("dial_statuses") or "").split() if s != "-"]


async def fill_hopper(conn: Any, campaign: Mapping[str, Any]) -> int:
    """Top the campaign's hopper up to hopper_level from its active lists (dialable statuses, not DNC)."""
    cid = campaign.get("campaign_id")
    have = (
        await conn.execute(
            sa.select(sa.func.count())
            .select_from(vicidial_hopper)
            .where(H.campaign_id == cid, H.status == "READY")
        )
    ).scalar() or 0
    want = int(campaign.get("hopper_level") or 1) - have
    if want <= 0:
        return 0
    L, VL = vicidial_list.c, vicidial_lists.c
    lists = sa.select(VL.list_id).where(VL.campaign_id == cid, VL.active == "Y")
    busy = sa.select(H.lead_id)
    dnc = sa.select(vicidial_dnc.c.phone_number)
    rows = (
        await conn.execute(
            sa.select(L.lead_id, L.list_id, L.gmt_offset_now, L.state, L.vendor_lead_code)
            .where(
                L.list_id.in_(lists),
                L.status.in_(_dial_statuses(campaign)),
                L.lead_id.notin_(busy),
                L.called_since_last_reset == "N",
                L.phone_number.notin_(dnc),
            )
            .order_by(L.lead_id)
            .limit(want)
        )
    ).all()
    for r in rows:
        await conn.execute(
            sa.insert(vicidial_hopper).values(
                lead_id=r.lead_id,
                campaign_id=cid,
                status="READY",
                user="",
                list_id=r.list_id,
                gmt_offset_now=r.gmt_offset_now or 0,
                state=(r.state or "")[:2],
                alt_dial="NONE",
                priority=0,
                source="S",
                vendor_lead_code=(r.vendor_lead_code or "")[:20],
            )
        )
    return len(rows)


async def autodial(engine: Host, conn: Any, at: Moment) -> list[tuple[str, str, str, str, float]]:
    """One dialer pass: per auto-dial campaign, originate up to ready agents × level − calls in flight.

    Returns the originates to run after the commit: (prefix, number, call_id, caller id, timeout). Agents whose
    phone is lost are not counted.
    """
    phoneless = engine.phoneless()
    C = vicidial_campaigns.c
    campaigns = (
        (
            await conn.execute(
                sa.select(vicidial_campaigns).where(
                    C.active == "Y", C.dial_method.notin_(session.NON_AUTODIAL_METHODS)
                )
            )
        )
        .mappings()
        .all()
    )
    out: list[tuple[str, str, str, str, float]] = []
    for camp in campaigns:
        level = float(camp["auto_dial_level"] or 0)
        if level <= 0:
            continue
        ready = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(vicidial_live_agents)
                .where(
                    VLA.campaign_id == camp["campaign_id"],
                    VLA.status == "READY",
                    VLA.outbound_autodial == "Y",
                    *([VLA.user.notin_(list(phoneless))] if phoneless else []),
                )
            )
        ).scalar()
        if not ready:
            continue
        flying = (
            await conn.execute(
                sa.select(sa.func.count())
                .select_from(vicidial_auto_calls)
                .where(
                    VAC.campaign_id == camp["campaign_id"],
                    VAC.call_type == "OUT",
                    VAC.status.in_(("SENT", "RINGING", "LIVE")),
                )
            )
        ).scalar() or 0
        need = int(ready * level) - flying
        if need <= 0:
            continue
        await fill_hopper(conn, dict(camp))
        rows = (
            (
                await conn.execute(
                    sa.select(vicidial_hopper)
                    .where(H.campaign_id == camp["campaign_id"], H.status == "READY")
                    .order_by(H.priority.desc(), H.hopper_id)
                    .limit(need)
                )
            )
            .mappings()
            .all()
        )
        for h in rows:
            if (
                await conn.execute(
                    sa.update(vicidial_hopper)
                    .where(H.hopper_id == h["hopper_id"], H.status == "READY")
                    .values(status="INCALL")
                )
            ).rowcount != 1:
                continue
            lead = (
                (await conn.execute(sa.select(vicidial_list).where(vicidial_list.c.lead_id == h["lead_id"])))
                .mappings()
                .first()
            )
            if lead is None:
                continue
            callerid = logs.auto_call_id(at, lead["lead_id"])
            number = "".join(ch for ch in lead["phone_number"] if ch.isdigit())
            code = "" if camp["omit_phone_code"] == "Y" else (lead["phone_code"] or "1")
            await conn.execute(
                sa.update(vicidial_list)
                .where(vicidial_list.c.lead_id == lead["lead_id"])
                .values(
                    status="INCALL",
                    called_count=min(int(lead["called_count"] or 0) + 1, 65535),
                    called_since_last_reset="Y",
                    last_local_call_time=at.now,
                )
            )
            await conn.execute(
                sa.insert(vicidial_auto_calls).values(
                    server_ip=engine.server_ip,
                    campaign_id=camp["campaign_id"],
                    status="SENT",
                    lead_id=lead["lead_id"],
                    uniqueid="",
                    callerid=callerid,
                    channel="",
                    phone_code=code,
                    phone_number=number,
                    call_time=at.now,
                    call_type="OUT",
                    alt_dial="MAIN",
                )
            )
            prefix = camp["dial_prefix"] or "9"
            exten = f"{prefix}{code}{number}"
            await logs.manager(
                conn,
                at,
                server_ip=engine.server_ip,
                action="Originate",
                callerid=callerid,
                lines=[
                    f"Channel: Local/{exten}@default",
                    "Context: default",
                    f"Exten: {camp['campaign_vdad_exten'] or '8368'}",
                    "Priority: 1",
                    f'Callerid: "{callerid}" <{camp["campaign_cid"] or "0000000000"}>',
                    f"Timeout: {int(camp['dial_timeout'] or 60) * 1000}",
                ],
            )
            out.append(
                (prefix, f"{code}{number}", callerid, camp["campaign_cid"] or "", float(camp["dial_timeout"] or 60))
            )
    return out


# --- inbound queue and delivery -------------------------------------------------------------------------


async def queue_inbound(conn: Any, at: Moment, engine: Host, channel: Channel, group_id: str) -> None:
    """A caller entered an in-group: the lead (found by number or created), the call row, the closer log."""
    number = "".join(ch for ch in (channel.number or "") if ch.isdigit())[-18:]
    L = vicidial_list.c
    lead = (
        (
            await conn.execute(
                sa.select(vicidial_list).where(L.phone_number == number).order_by(L.lead_id.desc()).limit(1)
            )
        )
        .mappings()
        .first()
    )
    if lead is None:
        result = await conn.execute(
            sa.insert(vicidial_list).values(
                entry_date=at.now,
                status="INBND",
                user="",
                list_id=INBOUND_LIST_ID,
                phone_code="1",
                phone_number=number,
                called_count=0,
                entry_list_id=0,
                rank=0,
                owner="",
                gmt_offset_now=0,
            )
        )
        lead = (
            (await conn.execute(sa.select(vicidial_list).where(L.lead_id == result.inserted_primary_key[0])))
            .mappings()
            .first()
        )
    waiting = (
        await conn.execute(
            sa.select(sa.func.count())
            .select_from(vicidial_auto_calls)
            .where(VAC.campaign_id == group_id, VAC.status == "LIVE", VAC.call_type == "IN")
        )
    ).scalar() or 0
    await conn.execute(
        sa.update(vicidial_list)
        .where(L.lead_id == lead["lead_id"])
        .values(called_count=min(int(lead["called_count"] or 0) + 1, 65535))
    )
    await conn.execute(
        sa.insert(vicidial_auto_calls).values(
            server_ip=engine.server_ip,
            campaign_id=group_id,
            status="LIVE",
            lead_id=lead["lead_id"],
            uniqueid=channel.uniqueid[:20],
            callerid=channel.call_id[:20],
            channel=channel.name[:100],
            phone_code=lead["phone_code"] or "1",
            phone_number=number,
            call_time=at.now,
            call_type="IN",
            queue_priority=0,
            queue_position=waiting + 1,
        )
    )
    await logs.closer_queued(
        conn,
        at,
        lead=lead,
        group_id=group_id,
        uniqueid=channel.uniqueid[:20],
        phone_number=number,
        queue_position=waiting + 1,
    )
    await logs.inbound_extended(conn, at, uniqueid=channel.uniqueid[:20], server_ip=engine.server_ip,
                                lead_id=lead["lead_id"], caller_code=channel.call_id)


async def queue_transfer(conn: Any, at: Moment, engine: Host, channel: Channel, exten: str) -> None:
    """A call sent into an in-group by an agent (or ra_call_control): queued with its lead for a closer."""
    info = transfer.parse_ingroup_exten(exten)
    L = vicidial_list.c
    lead = None
    if info["lead_id"].isdigit():
        found = await conn.execute(sa.select(vicidial_list).where(L.lead_id == int(info["lead_id"])))
        lead = found.mappings().first()
    if lead is None:
        await queue_inbound(conn, at, engine, channel, info["group"])
        return
    group, number = info["group"], (info["phone"] or lead["phone_number"] or "")[:18]
    xfer = await conn.execute(sa.insert(vicidial_xfer_log).values(
        lead_id=lead["lead_id"], list_id=lead["list_id"], campaign_id=group, call_date=at.now,
        phone_code=lead["phone_code"], phone_number=number, user=info["user"][:20], closer="",
        front_uniqueid=channel.uniqueid[:50], close_uniqueid=""))
    xfercallid = int(xfer.inserted_primary_key[0])
    waiting = (await conn.execute(sa.select(sa.func.count()).select_from(vicidial_auto_calls).where(
        VAC.campaign_id == group, VAC.status == "LIVE", VAC.call_type == "IN"))).scalar() or 0
    await conn.execute(sa.delete(vicidial_auto_calls).where(VAC.callerid == channel.call_id[:20]))
    await conn.execute(sa.insert(vicidial_auto_calls).values(
        server_ip=engine.server_ip, campaign_id=group, status="LIVE", lead_id=lead["lead_id"],
        uniqueid=channel.uniqueid[:20], callerid=channel.call_id[:20], channel=channel.name[:100],
        phone_code=lead["phone_code"] or "1", phone_number=number, call_time=at.now, call_type="IN",
        queue_priority=0, queue_position=waiting + 1, agent_only=info["agentdirect"][:20]))
    closecallid = await logs.closer_queued(conn, at, lead=lead, group_id=group, uniqueid=channel.uniqueid[:20],
                                           phone_number=number, queue_position=waiting + 1)
    await conn.execute(sa.update(vicidial_closer_log).where(vicidial_closer_log.c.closecallid == closecallid)
                       .values(xfercallid=xfercallid, agent_only=info["agentdirect"][:20],
                               comments="CXFER" if info["consult"] else "XFER"))


async def waiting_calls(conn: Any) -> list[dict[str, Any]]:
    """Calls waiting for an agent, oldest first: inbound (LIVE, IN) and answered auto-dial (LIVE, OUT)."""
    rows = (
        await conn.execute(
            sa.select(vicidial_auto_calls)
            .where(VAC.status == "LIVE")
            .order_by(VAC.queue_priority.desc(), VAC.call_time, VAC.auto_call_id)
        )
    ).mappings()
    return [dict(r) for r in rows]


async def free_agent(conn: Any, call: dict[str, Any], phoneless: Collection[str] = (),
                     among: Collection[str] | None = None) -> str | None:
    """The longest-waiting agent who may take `call` (in-group selected, or READY in the campaign); never one
    of `phoneless` (agents whose phone left their conference: a call would go into an empty room); only one of
    `among` when given (an engine's own agents)."""
    base = [
        VLA.status.in_(session.IDLE_STATES),
        sa.not_(VLA.external_pause.like("PAUSE%")),
        VLA.external_pause.notlike("LOGOUT%"),
    ]
    if phoneless:
        base.append(VLA.user.notin_(list(phoneless)))
    if among is not None:
        base.append(VLA.user.in_(list(among)))
    if call.get("agent_only"):  # AGENTDIRECT: only the named agent, whatever in-groups they took
        stmt = sa.select(VLA.user).where(*base, VLA.user == call["agent_only"])
    elif call["call_type"] == "IN":
        LIA = vicidial_live_inbound_agents.c
        candidates = await conn.execute(
            sa.select(VLA.user, VLA.closer_campaigns)
            .join(vicidial_live_inbound_agents, LIA.user == VLA.user)
            .where(*base, LIA.group_id == call["campaign_id"])
            .order_by(sa.func.coalesce(LIA.last_call_finish, VLA.last_call_finish), VLA.last_state_change)
        )
        # the group must also be one of the agent's selected in-groups (`closer_campaigns`), as upstream checks both
        return next((user for user, groups in candidates if call["campaign_id"] in session.groups_of(groups)), None)
    else:
        stmt = (
            sa.select(VLA.user)
            .where(
                *base,
                VLA.status == "READY",
                VLA.campaign_id == call["campaign_id"],
                VLA.outbound_autodial == "Y",
            )
            .order_by(VLA.last_call_finish, VLA.last_state_change)
        )
    return (await conn.execute(stmt.limit(1))).scalar()


async def claim_for_agent(ctx: Ctx, call: dict[str, Any]) -> bool:
    """Route `call` to the agent (QUEUE) and pick it up (INCALL) in one transaction; False if either moved."""
    took = await ctx.conn.execute(
        sa.update(vicidial_auto_calls)
        .where(VAC.auto_call_id == call["auto_call_id"], VAC.status == "LIVE")
        .values(status="CLOSER" if call["call_type"] == "IN" else "XFER")
    )
    if took.rowcount != 1:
        return False
    inbound = call["call_type"] == "IN"
    comments = "INBOUND" if inbound else "AUTO"
    if not await ctx.enter(
        Event.DELIVER,
        VLA.status.in_(session.IDLE_STATES),
        sa.not_(VLA.external_pause.like("PAUSE%")),
        VLA.external_pause.notlike("LOGOUT%"),
        status="QUEUE",
        lead_id=call["lead_id"],
        uniqueid=call["uniqueid"],
        callerid=call["callerid"],
        channel=call["channel"],
        call_server_ip=call["server_ip"],
        comments=comments,
        last_state_change=ctx.at.now,
    ):
        raise _Retry()  # roll the call claim back with the transaction
    await session.pick_up(
        ctx,
        lead_id=call["lead_id"],
        uniqueid=call["uniqueid"] or "",
        callerid=call["callerid"] or "",
        channel=call["channel"] or "",
        call_server_ip=call["server_ip"],
        comments=comments,
        group_id=call["campaign_id"] if inbound else "",
    )
    hang_line = f"Channel: {call['channel']}"
    await logs.manager(
        ctx.conn,
        ctx.at,
        server_ip=call["server_ip"],
        action="Redirect",
        callerid=call["callerid"] or "",
        channel=call["channel"] or "",
        lines=[hang_line, "Context: default", f"Exten: {ctx.conf}", "Priority: 1"],
    )
    await transfer.picked_up(ctx, call)
    engine, channel, conf = ctx.engine, call["channel"], ctx.conf
    if remote.is_remote(ctx.vla):  # a remote agent's phone is dialled and bridged with the caller
        ctx.switch(lambda: engine.switch.redirect(channel, exten=conf))
    else:  # an inbound caller waits in its in-group, an answered auto-dial call in the park: both come over
        ctx.switch(lambda: engine.redirect(channel, conf))
    return True


class _Retry(Exception):
    """The agent changed state under us: undo this delivery's transaction."""


async def abandon(conn: Any, at: Moment, channel: Channel) -> bool:
    """A queued inbound caller hung up before any agent took the call."""
    row = (
        (
            await conn.execute(
                sa.select(vicidial_auto_calls).where(VAC.callerid == channel.call_id, VAC.status == "LIVE")
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return False
    await conn.execute(sa.delete(vicidial_auto_calls).where(VAC.auto_call_id == row["auto_call_id"]))
    if row["call_type"] == "IN":
        await logs.closer_end(conn, at, uniqueid=row["uniqueid"] or "", term_reason="ABANDON", status="DROP")
        CL = vicidial_closer_log.c
        await conn.execute(
            sa.update(vicidial_closer_log).where(CL.uniqueid == row["uniqueid"]).values(term_reason="ABANDON")
        )
    else:
        await conn.execute(
            sa.update(vicidial_log)
            .where(vicidial_log.c.uniqueid == row["uniqueid"])
            .values(status="DROP", end_epoch=at.epoch, term_reason="ABANDON")
        )
        await conn.execute(
            sa.update(vicidial_list).where(vicidial_list.c.lead_id == row["lead_id"]).values(status="DROP")
        )
    return True


async def auto_call_result(conn: Any, at: Moment, event: SwitchEvent) -> None:
    """An auto-dial originate's outcome: answered → LIVE (waits for an agent); busy/no answer → logged."""
    ch = event.channel
    row = (
        (await conn.execute(sa.select(vicidial_auto_calls).where(VAC.callerid == ch.call_id)))
        .mappings()
        .first()
    )
    if row is None:
        return
    lead = (
        (await conn.execute(sa.select(vicidial_list).where(vicidial_list.c.lead_id == row["lead_id"])))
        .mappings()
        .first()
    )
    camp = (
        (
            await conn.execute(
                sa.select(vicidial_campaigns).where(vicidial_campaigns.c.campaign_id == row["campaign_id"])
            )
        )
        .mappings()
        .first()
    )
    if event.kind == EventKind.ANSWERED:
        await conn.execute(
            sa.update(vicidial_auto_calls)
            .where(VAC.auto_call_id == row["auto_call_id"])
            .values(status="LIVE", uniqueid=ch.uniqueid[:20], channel=ch.name[:100], call_time=at.now)
        )
        await logs.manager_answered(conn, ch.call_id, uniqueid=ch.uniqueid, channel=ch.name)
        if lead is not None:
            await logs.outbound_start(
                conn,
                at,
                uniqueid=ch.uniqueid[:20],
                lead=lead,
                campaign_id=row["campaign_id"],
                user="VDAD",
                user_group="",
                comments="AUTO",
                callerid=ch.call_id,
                server_ip=row["server_ip"],
            )
        return
    status = "B" if event.kind == EventKind.BUSY else "NA"
    await conn.execute(sa.delete(vicidial_auto_calls).where(VAC.auto_call_id == row["auto_call_id"]))
    await conn.execute(sa.delete(vicidial_hopper).where(H.lead_id == row["lead_id"]))
    await conn.execute(
        sa.update(vicidial_list).where(vicidial_list.c.lead_id == row["lead_id"]).values(status=status)
    )
    if lead is not None and camp is not None:
        uid = (ch.uniqueid or f"{at.epoch}.{row['lead_id']}")[:20]
        if not (
            await conn.execute(sa.select(vicidial_log.c.uniqueid).where(vicidial_log.c.uniqueid == uid))
        ).first():
            await conn.execute(
                sa.insert(vicidial_log).values(
                    uniqueid=uid,
                    lead_id=lead["lead_id"],
                    list_id=lead["list_id"],
                    campaign_id=row["campaign_id"],
                    call_date=at.now,
                    start_epoch=at.epoch,
                    end_epoch=at.epoch,
                    length_in_sec=0,
                    status=status,
                    phone_code=lead["phone_code"],
                    phone_number=lead["phone_number"],
                    user="VDAD",
                    comments="AUTO",
                    processed="N",
                    user_group="",
                    term_reason="NONE",
                    alt_dial="MAIN",
                    called_count=lead["called_count"] or 0,
                )
            )
