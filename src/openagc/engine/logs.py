"""The rows upstream writes as a side effect of agent activity, each rule written once.

- ``vicidial_agent_log`` (VAL): one row per pause → wait → talk → dispo cycle (spec §3.4).
- ``vicidial_log`` / ``vicidial_closer_log``: outbound / inbound call rows (spec §5.3–5.5).
- ``vicidial_manager``: a record of every switch action, with upstream's call-ID conventions (spec §6).
- ``vicidial_user_log``, ``vicidial_callbacks``, DNC rows.

Every function takes the open connection of the caller's transaction; none commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from openagc.store import executor
from openagc.store.schema import (
    vicidial_agent_log,
    vicidial_callbacks,
    vicidial_campaign_dnc,
    vicidial_closer_log,
    vicidial_dnc,
    vicidial_dnc_log,
    vicidial_log,
    vicidial_log_extended,
    vicidial_manager,
    vicidial_user_log,
)

VAL = vicidial_agent_log.c
_FOUR_HOURS = timedelta(hours=4)


@dataclass(frozen=True)
class Moment:
    """One instant, in the three forms upstream writes: datetime, epoch, and the call-ID date parts."""

    now: datetime

    @property
    def epoch(self) -> int:
        return int(self.now.timestamp())

    @property
    def cid_date(self) -> str:  # MMDDhhmmss
        return self.now.strftime("%m%d%H%M%S")

    @property
    def short_date(self) -> str:  # YYMMDDhhmmss
        return self.now.strftime("%y%m%d%H%M%S")


# --- call ids (spec §6.3) ----------------------------------------------------------------------------


def manual_call_id(at: Moment, lead_id: int, *, ingroup: bool = False) -> str:
    """`M` (or `Y` through a dial in-group) + last 9 digits of MMDDhhmmss + lead_id padded to 10."""
    return ("Y" if ingroup else "M") + at.cid_date[-9:] + str(lead_id).zfill(10)[-10:]


def inbound_call_id(at: Moment, lead_id: int) -> str:
    """Inbound calls carry a `Y` id of the same shape (switch_lead tests the prefix)."""
    return manual_call_id(at, lead_id, ingroup=True)


def auto_call_id(at: Moment, lead_id: int) -> str:
    """Auto-dial: `V` + MMDDhhmmss + lead_id padded to 9 (20 characters)."""
    return "V" + at.cid_date + str(lead_id).zfill(9)[-9:]


def user_tail(user: str) -> str:
    return user[-4:]


def hangup_call_id(at: Moment, user: str, prefix: str = "HLvdcW") -> str:
    return f"{prefix}{at.epoch}{user_tail(user)}"[:20]


def login_call_id(at: Moment, conf: str) -> str:
    return f"S{at.short_date}{conf}"[:20]


def logout_call_id(at: Moment) -> str:
    return f"ULVD3452{at.epoch}"[:20]


# --- vicidial_manager ---------------------------------------------------------------------------------


async def manager(
    conn: AsyncConnection,
    at: Moment,
    *,
    server_ip: str,
    action: str,
    callerid: str,
    lines: list[str],
    channel: str = "",
    status: str = "SENT",
    uniqueid: str = "",
) -> int:
    """Record one switch action as upstream's `vicidial_manager` row (cmd_line_b … one header each)."""
    row: dict[str, Any] = {
        "uniqueid": uniqueid,
        "entry_date": at.now,
        "status": status,
        "response": "N",
        "server_ip": server_ip,
        "channel": channel[:100],
        "action": action,
        "callerid": callerid[:20],
    }
    widths = {"cmd_line_d": 200, "cmd_line_i": 50, "cmd_line_j": 50}
    for letter, line in zip("bcdefghijk", lines, strict=False):
        name = f"cmd_line_{letter}"
        row[name] = line[: widths.get(name, 100)]
    result = await conn.execute(sa.insert(vicidial_manager).values(**row))
    return int(result.inserted_primary_key[0])


async def manager_answered(conn: AsyncConnection, callerid: str, *, uniqueid: str, channel: str) -> None:
    """The listener's part: the originate's row becomes UPDATED with the answered channel."""
    M = vicidial_manager.c
    await conn.execute(
        sa.update(vicidial_manager)
        .where(M.callerid == callerid, M.action == "Originate")
        .values(status="UPDATED", uniqueid=uniqueid[:20], channel=channel[:100])
    )


# --- vicidial_agent_log (spec §3.4) -------------------------------------------------------------------


_VAL_ROW = sa.select(vicidial_agent_log).where(VAL.agent_log_id == sa.bindparam("agent_log_id"))
_VAL_UPDATE = sa.update(vicidial_agent_log).where(VAL.agent_log_id == sa.bindparam("where_id"))
_VAL_INSERT = sa.insert(vicidial_agent_log)


def _segment_closed(epoch_column: sa.Column, sec_column: sa.Column) -> sa.ColumnElement[int]:
    """`sec + (now − epoch)` clamped to a SMALLINT UNSIGNED, as `_sec` does, computed by the database (signed,
    so a clock that stepped back gives 0 rather than an unsigned overflow); a missing or zero epoch counts as now."""
    now = sa.bindparam("epoch", type_=sa.BigInteger)
    began = sa.func.coalesce(sa.func.nullif(sa.cast(epoch_column, sa.BigInteger), 0), now)
    total = now - began + sa.func.coalesce(sa.cast(sec_column, sa.BigInteger), 0)
    return sa.case((total < 0, 0), (total > 65535, 65535), else_=total)


# Closing a segment before a dispo in one statement (no read of the row first): pause → wait, or wait → pause.
# The seconds are assigned before the epoch: MariaDB evaluates a SET list left to right, each on the new values.
_BEFORE_DISPO = sa.update(vicidial_agent_log).where(
    VAL.agent_log_id == sa.bindparam("where_id"), VAL.dispo_epoch.is_(None))
_VAL_READY = _BEFORE_DISPO.ordered_values(
    (VAL.pause_sec, _segment_closed(VAL.pause_epoch, VAL.pause_sec)), (VAL.wait_epoch, sa.bindparam("epoch")))
_VAL_CLOSE_WAIT = _BEFORE_DISPO.ordered_values(
    (VAL.wait_sec, _segment_closed(VAL.wait_epoch, VAL.wait_sec)), (VAL.wait_epoch, sa.bindparam("epoch")))


async def val_row(conn: AsyncConnection, agent_log_id: int) -> dict[str, Any] | None:
    if not agent_log_id:
        return None
    return await executor.fetch_one(conn, _VAL_ROW, {"agent_log_id": agent_log_id})


async def _val_update(conn: AsyncConnection, agent_log_id: int, **values: Any) -> None:
    """Set `values` (plain values, no SQL) on the agent-log row `agent_log_id`."""
    await executor.execute(conn, _VAL_UPDATE, {**values, "where_id": agent_log_id})


def _sec(value: int) -> int:
    """Segment lengths are SMALLINT UNSIGNED upstream; keep them in range under strict SQL."""
    return max(0, min(65535, int(value)))


async def val_open(
    conn: AsyncConnection,
    at: Moment,
    *,
    user: str,
    server_ip: str,
    campaign_id: str,
    user_group: str,
    sub_status: str | None = None,
) -> int:
    """A new cycle row: pause_epoch = wait_epoch = now (login, pause, ready after a dispo)."""
    done = await executor.execute(conn, _VAL_INSERT, dict(
        user=user,
        server_ip=server_ip,
        event_time=at.now,
        campaign_id=campaign_id,
        user_group=user_group,
        pause_epoch=at.epoch,
        pause_sec=0,
        wait_epoch=at.epoch,
        wait_sec=0,
        talk_sec=0,
        dispo_sec=0,
        dead_sec=0,
        sub_status=sub_status,
        pause_type="AGENT",
        lead_id=None,
    ))
    assert done.lastrowid is not None
    return int(done.lastrowid)


async def val_ready(conn: AsyncConnection, at: Moment, agent_log_id: int) -> None:
    """VDADready: close the pause segment, open the wait segment (only before a dispo)."""
    if agent_log_id:
        await executor.execute(conn, _VAL_READY, {"where_id": agent_log_id, "epoch": at.epoch})


async def val_close_wait(conn: AsyncConnection, at: Moment, agent_log_id: int) -> None:
    """VDADpause: close the wait segment (only before a dispo)."""
    if agent_log_id:
        await executor.execute(conn, _VAL_CLOSE_WAIT, {"where_id": agent_log_id, "epoch": at.epoch})


async def val_manual_dial(
    conn: AsyncConnection, at: Moment, agent_log_id: int, *, was_paused: bool, lead_id: int
) -> None:
    """Manual dial sent: a paused agent's pause closes and waiting starts; lead and MANUAL are set."""
    row = await val_row(conn, agent_log_id)
    if row is None:
        return
    values: dict[str, Any] = {"lead_id": lead_id, "comments": "MANUAL"}
    if was_paused:
        values |= {"pause_sec": _sec(at.epoch - (row["pause_epoch"] or at.epoch)), "wait_epoch": at.epoch}
    else:
        values |= {
            "wait_sec": _sec(at.epoch - (row["wait_epoch"] or at.epoch) + (row["wait_sec"] or 0)),
            "wait_epoch": at.epoch,
        }
    await _val_update(conn, agent_log_id, **values)


async def val_talk(
    conn: AsyncConnection, at: Moment, agent_log_id: int, *, lead_id: int, comments: str | None = None
) -> None:
    """Call connected: the wait segment closes and talk starts."""
    row = await val_row(conn, agent_log_id)
    if row is None or row["talk_epoch"] is not None:
        return
    values: dict[str, Any] = {
        "wait_sec": _sec(at.epoch - (row["wait_epoch"] or at.epoch) + (row["wait_sec"] or 0)),
        "talk_epoch": at.epoch,
        "lead_id": lead_id,
    }
    if comments and not row["comments"]:
        values["comments"] = comments
    await _val_update(conn, agent_log_id, **values)


async def val_dead(conn: AsyncConnection, at: Moment, agent_log_id: int) -> None:
    """The customer left while the agent is still on the call: dead time starts."""
    await conn.execute(
        sa.update(vicidial_agent_log)
        .where(VAL.agent_log_id == agent_log_id, VAL.dead_epoch.is_(None))
        .values(dead_epoch=at.epoch)
    )


async def val_call_end(
    conn: AsyncConnection, at: Moment, agent_log_id: int, *, uniqueid: str, lead_id: int, comments: str
) -> None:
    """manDiaLlogCaLL end: talk closes, the dispo segment starts, dead time is closed."""
    row = await val_row(conn, agent_log_id)
    if row is None or row["dispo_epoch"] is not None:
        return
    values: dict[str, Any] = {"dispo_epoch": at.epoch, "uniqueid": (uniqueid or "")[:20]}
    if row["talk_epoch"] is None:  # never connected (failed manual dial): waiting ends here
        values |= {
            "wait_sec": _sec(at.epoch - (row["wait_epoch"] or at.epoch) + (row["wait_sec"] or 0)),
            "talk_epoch": at.epoch,
            "talk_sec": 0,
        }
    else:
        values["talk_sec"] = _sec(at.epoch - row["talk_epoch"])
    if row["dead_epoch"] is not None:
        values["dead_sec"] = _sec(at.epoch - row["dead_epoch"])
    if not row["comments"]:
        values["comments"] = comments
    if not row["lead_id"]:
        values["lead_id"] = lead_id
    await _val_update(conn, agent_log_id, **values)


async def val_dispo(
    conn: AsyncConnection,
    at: Moment,
    agent_log_id: int,
    *,
    lead_id: int,
    status: str,
    extend_to_now: bool = True,
) -> None:
    """updateDISPO: the row of this lead (id ≤ current) gets dispo_sec and the status."""
    row = (
        (
            await conn.execute(
                sa.select(vicidial_agent_log)
                .where(
                    VAL.user == sa.select(VAL.user).where(VAL.agent_log_id == agent_log_id).scalar_subquery(),
                    VAL.agent_log_id <= agent_log_id,
                    VAL.lead_id == lead_id,
                )
                .order_by(VAL.agent_log_id.desc())
                .limit(1)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return
    values: dict[str, Any] = {"status": status[:6]}
    if extend_to_now and row["dispo_epoch"] is not None:
        values["dispo_sec"] = _sec(at.epoch - row["dispo_epoch"])
    await _val_update(conn, int(row["agent_log_id"]), **values)


async def val_pause_code(
    conn: AsyncConnection,
    at: Moment,
    agent_log_id: int,
    code: str,
    *,
    user: str,
    server_ip: str,
    campaign_id: str,
    user_group: str,
) -> int:
    """PauseCodeSubmit: the first code of a pause labels the row; a later one closes it and opens a new one.

    Returns the agent_log_id the agent points at afterwards.
    """
    row = await val_row(conn, agent_log_id)
    if row is None:
        return agent_log_id
    if not row["sub_status"]:
        await _val_update(conn, agent_log_id, sub_status=code)
        return agent_log_id
    await _val_update(conn, agent_log_id, pause_sec=_sec(at.epoch - (row["pause_epoch"] or at.epoch)),
                      wait_epoch=at.epoch)
    return await val_open(
        conn,
        at,
        user=user,
        server_ip=server_ip,
        campaign_id=campaign_id,
        user_group=user_group,
        sub_status=code,
    )


async def val_logout(conn: AsyncConnection, at: Moment, agent_log_id: int) -> None:
    """Logout closes whichever segment is open on the latest row (upstream's guard is sloppy; ours is not)."""
    row = await val_row(conn, agent_log_id)
    if row is None:
        return
    values: dict[str, Any]
    if row["dispo_epoch"] is not None:
        if row["status"]:
            return
        values = {"dispo_sec": _sec(at.epoch - row["dispo_epoch"])}
    elif row["talk_epoch"] is not None:
        return
    elif (row["wait_epoch"] or 0) > (row["pause_epoch"] or 0) or (row["pause_sec"] or 0) > 0:
        values = {
            "wait_sec": _sec(at.epoch - (row["wait_epoch"] or at.epoch) + (row["wait_sec"] or 0)),
            "wait_epoch": at.epoch,
        }
    else:
        values = {"pause_sec": _sec(at.epoch - (row["pause_epoch"] or at.epoch)), "wait_epoch": at.epoch}
    await _val_update(conn, agent_log_id, **values)


# --- call logs ------------------------------------------------------------------------------------------


async def outbound_start(
    conn: AsyncConnection,
    at: Moment,
    *,
    uniqueid: str,
    lead: sa.RowMapping,
    campaign_id: str,
    user: str,
    user_group: str,
    comments: str,
    callerid: str,
    server_ip: str,
    alt_dial: str = "MAIN",
) -> None:
    """Call-start logging of an outbound call: `vicidial_log` (INCALL) and `vicidial_log_extended`."""
    VL = vicidial_log.c
    exists = (await conn.execute(sa.select(VL.uniqueid).where(VL.uniqueid == uniqueid))).first()
    values = dict(
        lead_id=lead["lead_id"],
        list_id=lead["list_id"],
        campaign_id=campaign_id,
        call_date=at.now,
        start_epoch=at.epoch,
        status="INCALL",
        phone_code=lead["phone_code"],
        phone_number=lead["phone_number"],
        user=user,
        comments=comments,
        processed="N",
        user_group=user_group,
        alt_dial=alt_dial,
        called_count=lead["called_count"] or 0,
    )
    if exists:
        await conn.execute(sa.update(vicidial_log).where(VL.uniqueid == uniqueid).values(**values))
    else:
        await conn.execute(sa.insert(vicidial_log).values(uniqueid=uniqueid, **values))
    VLE = vicidial_log_extended.c
    if not (await conn.execute(sa.select(VLE.uniqueid).where(VLE.uniqueid == uniqueid))).first():
        await conn.execute(
            sa.insert(vicidial_log_extended).values(
                uniqueid=uniqueid,
                server_ip=server_ip,
                call_date=at.now,
                lead_id=lead["lead_id"],
                caller_code=callerid,
            )
        )


async def outbound_end(
    conn: AsyncConnection, at: Moment, *, uniqueid: str, user: str, term_reason: str
) -> None:
    """Call-end logging: end_epoch, length, term_reason (CALLER if already so), status DISPO if INCALL."""
    VL = vicidial_log.c
    row = (await conn.execute(sa.select(vicidial_log).where(VL.uniqueid == uniqueid))).mappings().first()
    if row is None:
        return
    caller = row["term_reason"] == "CALLER" and bool(row["end_epoch"])  # ended when the customer hung up
    end = int(row["end_epoch"]) if caller else at.epoch
    await conn.execute(
        sa.update(vicidial_log)
        .where(VL.uniqueid == uniqueid)
        .values(
            end_epoch=end,
            length_in_sec=max(0, end - (row["start_epoch"] or end)),
            term_reason="CALLER" if row["term_reason"] == "CALLER" else term_reason,
            user=user,
            status="DISPO" if row["status"] == "INCALL" else row["status"],
        )
    )


async def inbound_extended(
    conn: AsyncConnection, at: Moment, *, uniqueid: str, server_ip: str, lead_id: int, caller_code: str
) -> None:
    """An inbound call entered an in-group: its `vicidial_log_extended` row (what `callid_info` finds it by). As
    upstream's inbound AGI: a call already there (a later in-group of the same call) gets the new date and call id,
    and its URL flags start again."""
    VLE = vicidial_log_extended.c
    fresh = {"call_date": at.now, "caller_code": caller_code[:30], "start_url_processed": "N",
             "dispo_url_processed": "N", "multi_alt_processed": "N", "noanswer_processed": "N"}
    if (await conn.execute(sa.select(VLE.uniqueid).where(VLE.uniqueid == uniqueid))).first():
        await conn.execute(sa.update(vicidial_log_extended).where(VLE.uniqueid == uniqueid).values(**fresh))
    else:
        await conn.execute(sa.insert(vicidial_log_extended).values(uniqueid=uniqueid, server_ip=server_ip,
                                                                   lead_id=lead_id, **fresh))


async def closer_queued(
    conn: AsyncConnection,
    at: Moment,
    *,
    lead: sa.RowMapping,
    group_id: str,
    uniqueid: str,
    phone_number: str,
    queue_position: int = 1,
) -> int:
    """An inbound call entered its in-group queue: its `vicidial_closer_log` row (status QUEUE)."""
    result = await conn.execute(
        sa.insert(vicidial_closer_log).values(
            lead_id=lead["lead_id"],
            list_id=lead["list_id"],
            campaign_id=group_id,
            call_date=at.now,
            start_epoch=at.epoch,
            status="QUEUE",
            phone_code=lead["phone_code"],
            phone_number=phone_number,
            user="VDCL",
            comments="",
            processed="N",
            queue_seconds=0,
            uniqueid=uniqueid,
            queue_position=queue_position,
            called_count=lead["called_count"] or 0,
            term_reason="NONE",
        )
    )
    return int(result.inserted_primary_key[0])


async def latest_closer_row(conn: AsyncConnection, uniqueid: str) -> sa.RowMapping | None:
    """The newest `vicidial_closer_log` row of a call."""
    CL = vicidial_closer_log.c
    stmt = sa.select(vicidial_closer_log).where(CL.uniqueid == uniqueid).order_by(CL.closecallid.desc()).limit(1)
    return (await conn.execute(stmt)).mappings().first()


async def closer_answered(
    conn: AsyncConnection, at: Moment, *, uniqueid: str, user: str, user_group: str
) -> None:
    """VDADcheckINCOMING for an inbound call: user, comments AUTO, status INCALL, queue seconds."""
    CL = vicidial_closer_log.c
    row = await latest_closer_row(conn, uniqueid)
    if row is None:
        return
    await conn.execute(
        sa.update(vicidial_closer_log)
        .where(CL.closecallid == row["closecallid"])
        .values(
            user=user,
            user_group=user_group,
            comments="AUTO",
            status="INCALL",
            queue_seconds=max(0, at.epoch - (row["start_epoch"] or at.epoch)),
        )
    )


async def closer_end(
    conn: AsyncConnection, at: Moment, *, uniqueid: str, term_reason: str, status: str | None = None
) -> None:
    """Inbound call end (or abandon): end_epoch, length, DISPO when it was INCALL."""
    CL = vicidial_closer_log.c
    row = await latest_closer_row(conn, uniqueid)
    if row is None:
        return
    reason = "CALLER" if row["term_reason"] == "CALLER" else term_reason
    new_status = status or ("DISPO" if row["status"] == "INCALL" else row["status"])
    await conn.execute(
        sa.update(vicidial_closer_log)
        .where(CL.closecallid == row["closecallid"])
        .values(
            end_epoch=at.epoch,
            length_in_sec=max(0, at.epoch - (row["start_epoch"] or at.epoch)),
            term_reason=reason,
            status=new_status,
        )
    )


async def mark_caller_hangup(conn: AsyncConnection, at: Moment, *, uniqueid: str) -> None:
    """The customer hung up first: the outbound call ends now (end_epoch, length); call-end logging keeps
    them and term_reason CALLER."""
    VL = vicidial_log.c
    start = (await conn.execute(sa.select(VL.start_epoch).where(VL.uniqueid == uniqueid))).scalar()
    await conn.execute(
        sa.update(vicidial_log).where(VL.uniqueid == uniqueid).values(
            term_reason="CALLER", end_epoch=at.epoch, length_in_sec=max(0, at.epoch - (start or at.epoch)))
    )
    await conn.execute(
        sa.update(vicidial_closer_log)
        .where(vicidial_closer_log.c.uniqueid == uniqueid)
        .values(term_reason="CALLER")
    )


async def dispo_call_logs(
    conn: AsyncConnection,
    at: Moment,
    *,
    lead_id: int,
    user: str,
    status: str,
    inbound: bool,
    uniqueid: str,
    lead: sa.RowMapping | None,
    campaign_id: str,
    user_group: str,
) -> None:
    """updateDISPO's call-log part: the newest closer_log (inbound) or the 4-hour vicidial_log row."""
    if inbound:
        CL = vicidial_closer_log.c
        row = (
            await conn.execute(
                sa.select(CL.closecallid)
                .where(CL.lead_id == lead_id, CL.user == user)
                .order_by(CL.closecallid.desc())
                .limit(1)
            )
        ).first()
        if row is not None:
            await conn.execute(
                sa.update(vicidial_closer_log).where(CL.closecallid == row[0]).values(status=status)
            )
        return
    VL = vicidial_log.c
    row = (
        await conn.execute(
            sa.select(VL.uniqueid)
            .where(VL.lead_id == lead_id, VL.call_date > at.now.replace(microsecond=0) - _FOUR_HOURS)
            .order_by(VL.call_date.desc(), VL.start_epoch.desc())
            .limit(1)
        )
    ).first()
    if row is not None:
        await conn.execute(
            sa.update(vicidial_log)
            .where(VL.uniqueid == row[0])
            .values(status=status, user=user, called_count=(lead or {}).get("called_count") or 0)
        )
    elif lead is not None:
        await conn.execute(
            sa.insert(vicidial_log).values(
                uniqueid=(uniqueid or f"{at.epoch}.{lead_id}")[:20],
                lead_id=lead_id,
                list_id=lead["list_id"],
                campaign_id=campaign_id,
                call_date=at.now,
                start_epoch=at.epoch,
                end_epoch=at.epoch,
                length_in_sec=0,
                status=status,
                phone_code=lead["phone_code"],
                phone_number=lead["phone_number"],
                user=user,
                comments="MANUAL",
                processed="N",
                user_group=user_group,
                term_reason="AGENT",
                alt_dial="MAIN",
                called_count=lead["called_count"] or 0,
            )
        )


# --- users, callbacks, DNC ----------------------------------------------------------------------------------


async def user_log(
    conn: AsyncConnection,
    at: Moment,
    *,
    user: str,
    event: str,
    campaign_id: str,
    user_group: str,
    session_id: str,
    server_ip: str,
    extension: str,
    computer_ip: str = "",
    browser: str = "",
    phone_login: str = "",
    phone_ip: str = "",
) -> None:
    await conn.execute(
        sa.insert(vicidial_user_log).values(
            user=user,
            event=event,
            campaign_id=campaign_id,
            event_date=at.now,
            event_epoch=at.epoch,
            user_group=user_group,
            session_id=session_id,
            server_ip=server_ip,
            extension=extension[:50],
            computer_ip=computer_ip[:30],
            browser=browser[:255],
            data="",
            phone_login=phone_login[:15],
            server_phone=phone_login[:15],
            phone_ip=phone_ip[:15],
        )
    )


async def last_user_event(conn: AsyncConnection, user: str) -> str | None:
    U = vicidial_user_log.c
    return (
        await conn.execute(sa.select(U.event).where(U.user == user).order_by(U.user_log_id.desc()).limit(1))
    ).scalar()


async def callback(
    conn: AsyncConnection,
    at: Moment,
    *,
    lead: sa.RowMapping,
    campaign_id: str,
    user: str,
    user_group: str,
    status: str,
    callback_time: str,
    recipient: str,
    comments: str,
) -> None:
    """A scheduled callback from a CBHOLD disposition (ACTIVE until its time comes)."""
    await conn.execute(
        sa.insert(vicidial_callbacks).values(
            lead_id=lead["lead_id"],
            list_id=lead["list_id"],
            campaign_id=campaign_id,
            status="ACTIVE",
            entry_time=at.now,
            callback_time=_parse_datetime(callback_time) or at.now,
            modify_date=at.now,
            user=user,
            recipient=recipient if recipient in ("USERONLY", "ANYONE") else "ANYONE",
            comments=comments[:255],
            user_group=user_group,
            lead_status=status[:6],
        )
    )


def _parse_datetime(text: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d+%H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


async def add_dnc(
    conn: AsyncConnection,
    at: Moment,
    *,
    phone_number: str,
    campaign_id: str,
    user: str,
    internal: bool,
    campaign: bool,
) -> None:
    """A DNC disposition: the number goes to the system and/or campaign DNC list, with a log row."""
    if (
        internal
        and not (
            await conn.execute(
                sa.select(vicidial_dnc.c.phone_number).where(vicidial_dnc.c.phone_number == phone_number)
            )
        ).first()
    ):
        await conn.execute(sa.insert(vicidial_dnc).values(phone_number=phone_number))
        await conn.execute(
            sa.insert(vicidial_dnc_log).values(
                phone_number=phone_number, campaign_id="-SYSINT-", action="add", action_date=at.now, user=user
            )
        )
    CD = vicidial_campaign_dnc.c
    if (
        campaign
        and not (
            await conn.execute(
                sa.select(CD.phone_number).where(
                    CD.phone_number == phone_number, CD.campaign_id == campaign_id
                )
            )
        ).first()
    ):
        await conn.execute(
            sa.insert(vicidial_campaign_dnc).values(phone_number=phone_number, campaign_id=campaign_id)
        )
        await conn.execute(
            sa.insert(vicidial_dnc_log).values(
                phone_number=phone_number,
                campaign_id=campaign_id,
                action="add",
                action_date=at.now,
                user=user,
            )
        )
