"""Transfer and park commands: `transfer_conference`, `park_call`, `ra_call_control`.

`transfer_conference` and `park_call` queue a command in the agent's `vicidial_live_agents` row for the
session to carry out; `ra_call_control` acts on a remote agent's call at once (a `vicidial_manager`
row, call-log and lead status, the remote agent made READY).
"""

from __future__ import annotations

import itertools
import random
import secrets
from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa

from openagc.api.pipeline import Call, api_function
from openagc.api.reply import Line, error, success
from openagc.store.schema import (
    groups_alias,
    live_sip_channels,
    servers,
    vicidial_3way_press_live,
    vicidial_3way_press_multi,
    vicidial_auto_calls,
    vicidial_campaigns,
    vicidial_closer_log,
    vicidial_inbound_groups,
    vicidial_list,
    vicidial_live_agents,
    vicidial_log,
)

VAC = vicidial_auto_calls.c
VLA = vicidial_live_agents.c
IG = vicidial_inbound_groups.c

SEP = "---"  # external_transferconf field separator
TRANSFERCONF_WIDTH = 120  # vicidial_live_agents.external_transferconf VARCHAR(120)
DEFAULT_INGROUP = "DEFAULTINGROUP"


# --------------------------------------------------------------------------------------------------
# Command ids
# --------------------------------------------------------------------------------------------------
class CommandIds:
    """Field 7 of `external_transferconf`: the id the session uses to drop a repeated command.

    Upstream used the bare epoch, so a second command to the same agent in the same second was
    dropped as a duplicate (spec H6). Ours is `{epoch}.{tag}{seq}`: `tag` is three random digits
    chosen once per process and `seq` counts up from 1 for the life of the process. Two ids from one
    process never repeat; ids from two processes (scale-out) differ unless both the tag and the
    sequence number coincide in the same second. The id starts with the epoch, so readers that only
    look at its leading digits still see the command's second.
    """

    def __init__(self) -> None:
        self.tag = f"{100 + secrets.randbelow(900)}"
        self._seq = itertools.count(1)
        self.last = ""

    def next(self, epoch: int) -> str:
        self.last = f"{epoch}.{self.tag}{next(self._seq)}"
        return self.last


COMMAND_IDS = CommandIds()


def transferconf(*fields: str) -> str:
    """Join the fields of an `external_transferconf` command (layouts A/B/C of spec §3.4)."""
    return SEP.join(fields)


def leave_3way_command(command_id: str) -> str:
    """Layout C for LEAVE_3WAY_CALL (also written into a fronter's row by force_fronter_leave_3way)."""
    return transferconf("LEAVE_3WAY_CALL", "", "", "NO", "", "", "", command_id)


async def default_xfer_group(call: Call, campaign_id: str | None, call_type: str | None) -> str:
    """The default transfer group of a call's origin: its in-group (inbound) or campaign (otherwise)."""
    if call_type == "IN":
        column, key = vicidial_inbound_groups.c.default_xfer_group, IG.group_id
    else:
        column, key = vicidial_campaigns.c.default_xfer_group, vicidial_campaigns.c.campaign_id
    return await call.scalar(sa.select(column).where(key == (campaign_id or "")).limit(1)) or ""


async def active_ingroup(call: Call, group_id: str) -> bool:
    found = await call.scalar(sa.select(IG.group_id).where(IG.group_id == group_id, IG.active == "Y"))
    return found is not None


# --------------------------------------------------------------------------------------------------
# park_call
# --------------------------------------------------------------------------------------------------
PARK_VALUES = frozenset({
    "PARK_CUSTOMER", "GRAB_CUSTOMER", "PARK_IVR_CUSTOMER", "GRAB_IVR_CUSTOMER", "PARK_XFER", "GRAB_XFER",
    "SWAP_PARK_CUSTOMER", "SWAP_PARK_XFER", "HANGUP_XFER_GRAB_CUSTOMER",
})


@api_function("park_call", valid=lambda c: c.p.value in PARK_VALUES and c.identifies_agent())
async def park_call(call: Call) -> Line:
    """Queue a park/grab of the customer or the 3rd party (exact values only: spec H5, DECISIONS §2)."""
    if int(call.agent["lead_id"] or 0) <= 0:
        raise call.stop(error("agent_user does not have a lead on their screen", call.p.agent_user))
    await call.update_agent(external_park=call.p.value)
    return success("park_call function set", call.p.value, call.p.agent_user)


# --------------------------------------------------------------------------------------------------
# transfer_conference
# --------------------------------------------------------------------------------------------------
LOCAL_CLOSER = "LOCAL_CLOSER"
CONSULTATIVE_VALUES = frozenset({"DIAL_WITH_CUSTOMER", "PARK_CUSTOMER_DIAL"})
DIAL_VALUES = frozenset({"BLIND_TRANSFER", "LEAVE_VM", *CONSULTATIVE_VALUES})
HANGUP_VALUES = frozenset({"HANGUP_XFER", "HANGUP_BOTH", "LEAVE_3WAY_CALL"})
CID_CHOICES = frozenset({"CAMPAIGN", "AGENT_PHONE", "CUSTOMER", "CUSTOM_CID"})
MULTI_DIAL_WIDTH = 255  # vicidial_3way_press_multi.phone_numbers VARCHAR(255)
DONE_3WAY_STATUSES = ("HUNGUP", "DEFEATED", "TRANSFER", "TOOSLOW", "DECLINED")
PRESS_3WAY_WINDOW = timedelta(minutes=30)


def _yes(flag: str) -> bool:
    return "YES" in flag.upper()


async def _transfer_ingroup(call: Call, callerid: str) -> str:
    """Branch A's in-group: DEFAULTINGROUP resolved through the call's origin, then it must be active."""
    p = call.p
    if len(p.ingroup_choices) < 2:
        raise call.stop(error("ingroup is not valid", p.ingroup_choices))
    if p.ingroup_choices == DEFAULT_INGROUP:
        origin = await call.first(
            sa.select(VAC.campaign_id, VAC.call_type).where(VAC.callerid == callerid).limit(1))
        p.ingroup_choices = await default_xfer_group(
            call, origin["campaign_id"] if origin else "", origin["call_type"] if origin else "")
    if not await active_ingroup(call, p.ingroup_choices):
        raise call.stop(error("ingroup is not valid", p.ingroup_choices))
    return p.ingroup_choices


def _bad_alias_cid(number: str) -> bool:
    """Upstream rejected a caller ID numerically below 4; we also reject one shorter than 4 (spec H7)."""
    return len(number) < 4 or (number.isdigit() and int(number) < 4)


async def _group_alias_cid(call: Call) -> str:
    """Check G: the caller-ID number of `group_alias` (≥ 2 characters), or '' when none is asked."""
    p = call.p
    if len(p.group_alias) < 2:
        return ""
    G = groups_alias.c
    found = await call.first(sa.select(G.caller_id_number).where(G.group_alias_id == p.group_alias).limit(1))
    if found is None:
        raise call.stop(
            error("group_alias is not valid", p.agent_user, p.group_alias, data=p.group_alias).ends())
    number = found["caller_id_number"] or ""
    if _bad_alias_cid(number):
        raise call.stop(error("caller_id_number from group_alias is not valid", p.agent_user, p.group_alias,
                              number, data=f"{p.group_alias}|{number}").ends())
    return number


def _check_cid_choice(call: Call) -> None:
    """Check C: a `cid_choice` of ≥ 2 characters must be one of the four choices (exactly: spec H5)."""
    p = call.p
    if len(p.cid_choice) >= 2 and p.cid_choice not in CID_CHOICES:
        raise call.stop(
            error("cid_choice is not valid", p.agent_user, p.cid_choice, data=p.cid_choice).ends())


async def _compose(call: Call, callerid: str) -> tuple[str, ...] | None:
    """The command's fields (layout A, B or C) with the id slot (7) empty; None: the value is no command."""
    p = call.p
    if p.value == LOCAL_CLOSER or (p.value in CONSULTATIVE_VALUES and p.consultative == "YES"):
        ingroup = await _transfer_ingroup(call, callerid)
        alias_cid = await _group_alias_cid(call)
        _check_cid_choice(call)
        return (p.value, ingroup, p.phone_number, p.consultative, "", p.group_alias, alias_cid, "",
                p.cid_choice)
    if p.value in DIAL_VALUES:
        alias_cid = await _group_alias_cid(call)
        _check_cid_choice(call)
        return (p.value, "", p.phone_number, "NO", p.dial_override, p.group_alias, alias_cid, "",
                p.cid_choice)
    if p.value in HANGUP_VALUES:
        return (p.value, "", "", "NO", "", "", "", "")
    return None


def _multi_dial_numbers(entries: Iterable[str]) -> list[str]:
    """Numbers of 5–18 digits, exact duplicates dropped, as many whole numbers as the column holds."""
    kept: list[str] = []
    for number in entries:
        if 5 <= len(number) <= 18 and number not in kept:
            if len(",".join([*kept, number])) > MULTI_DIAL_WIDTH:
                break
            kept.append(number)
    return kept


async def _active_press_3way(call: Call) -> int:
    T = vicidial_3way_press_live.c
    since = call.now - PRESS_3WAY_WINDOW
    return int(await call.scalar(
        sa.select(sa.func.count()).select_from(vicidial_3way_press_live).where(
            T.user == call.p.agent_user, T.status.not_in(DONE_3WAY_STATUSES), T.call_date > since)
    ) or 0)


async def _live_3way_channels(call: Call) -> int:
    S = live_sip_channels.c
    return int(await call.scalar(
        sa.select(sa.func.count()).select_from(live_sip_channels).where(
            S.server_ip == call.agent["server_ip"], S.channel_group.like("DC%W"),
            S.extension == (call.agent["conf_exten"] or ""))
    ) or 0)


async def _save_multi_dial(call: Call, numbers: list[str]) -> int:
    """Upsert the agent's `vicidial_3way_press_multi` row; 1 = inserted, 2 = updated (MySQL's count)."""
    M = vicidial_3way_press_multi.c
    values = {"call_date": call.now, "phone_numbers": ",".join(numbers), "phone_numbers_ct": len(numbers),
              "status": "NEW"}
    who = call.p.agent_user
    if await call.scalar(sa.select(M.user).where(M.user == who)) is None:
        await call.db.execute(sa.insert(vicidial_3way_press_multi).values(user=who, **values))
        return 1
    await call.db.execute(sa.update(vicidial_3way_press_multi).where(M.user == who).values(**values))
    return 2


@api_function("transfer_conference", valid=lambda c: len(c.p.value) >= 8 and c.identifies_agent())
async def transfer_conference(call: Call) -> Line:
    """Queue a transfer/conference command for the agent's live call (spec §3)."""
    p = call.p
    callerid = call.agent["callerid"] or ""
    if int(call.agent["lead_id"] or 0) <= 0 or len(callerid) <= 15:
        raise call.stop(error("agent_user does not have a live call", p.agent_user))
    fields = await _compose(call, callerid)
    if fields is None:
        raise call.stop(error("value is not valid", p.value, call.api_user.user))
    command = transferconf(*fields[:7], COMMAND_IDS.next(call.epoch), *fields[8:])
    if len(command) > TRANSFERCONF_WIDTH:  # would be cut, id and all (spec H8): refuse instead
        raise call.stop(error("transfer_conference command too long", p.agent_user, len(command)))

    multi, numbers = "", []
    if len(p.multi_dial_phones) >= 5:
        entries = p.multi_dial_phones.split(",")
        numbers = _multi_dial_numbers(entries)
        if numbers and _yes(p.md_check):
            active = await _active_press_3way(call)
            if active > 0:
                raise call.stop(error("agent_user has previous active 3-way calls", p.agent_user, active, 0,
                                      p.md_check, data=f"{active}|0|{p.md_check}").ends())
        multi = f"|Multi-phones: {len(numbers)} {len(entries)} "
    if _yes(p.tw_check):
        live = await _live_3way_channels(call)
        if live > 0:
            raise call.stop(error("agent_user has current active 3-way call", p.agent_user, live, 0,
                                  p.tw_check, data=f"{live}|0|{p.tw_check}").ends())
    # Checks first, writes after: a rejected tw_check leaves no multi-dial row behind (spec H9).
    if multi:
        multi += str(await _save_multi_dial(call, numbers) if numbers else 0)
    await call.update_agent(external_transferconf=command)
    return success("transfer_conference function set", p.value, p.ingroup_choices, p.phone_number,
                   p.consultative, p.agent_user, f"{callerid}{multi}", "", data=f"{callerid}{multi}")


# --------------------------------------------------------------------------------------------------
# ra_call_control
# --------------------------------------------------------------------------------------------------
RA_STAGES = ("HANGUP", "EXTENSIONTRANSFER", "INGROUPTRANSFER")
RA_DEFAULT_STATUS = "RAXFER"
STATUS_WIDTH = 6  # vicidial_log / vicidial_closer_log / vicidial_list .status VARCHAR(6)


def _ra_valid(call: Call) -> bool:
    return bool(call.p.value) and bool(call.p.agent_user) and bool(call.p.stage)


def _ra_invalid(call: Call) -> Line:
    return error("ra_call_control not valid", call.p.value, call.p.agent_user, call.p.stage)


def _api_callerid(prefix: str, value: str) -> str:
    """`HAPI`/`XAPI` + the call id minus its first four characters (shorter ids are used whole)."""
    return (prefix + value[4:] if len(value) >= 4 else value)[:20]


async def _ra_redirect_target(call: Call, vac: sa.RowMapping) -> str:
    """The `Exten:` of a redirect, after the stage's own checks (stops with the stage's error line)."""
    p = call.p
    if p.stage == "EXTENSIONTRANSFER":
        if len(p.phone_number) < 2:
            raise call.stop(error("phone_number is not valid", p.phone_number))
        return p.phone_number
    if p.stage == "INGROUPTRANSFER":
        if len(p.ingroup_choices) < 2:
            raise call.stop(error("ingroup is not valid", p.ingroup_choices))
        group = p.ingroup_choices
        if group == DEFAULT_INGROUP:
            group = await default_xfer_group(call, vac["campaign_id"], vac["call_type"])
        if not await active_ingroup(call, group):
            raise call.stop(error("ingroup is not valid", group))
        return f"90009*{group}**{vac['lead_id']}**{vac['phone_number'] or ''}**{p.agent_user}**"
    raise call.stop(error("stage is not valid", p.stage))


async def _log_call_end(call: Call, vac: sa.RowMapping, status: str) -> None:
    """Close the call's newest closer-log (inbound) or call-log row with the status and length."""
    if vac["call_type"] == "IN":
        table, C = vicidial_closer_log, vicidial_closer_log.c
        newest = (sa.select(C.closecallid, C.start_epoch)
                  .where(C.uniqueid == (vac["uniqueid"] or ""), C.lead_id == vac["lead_id"],
                         C.campaign_id == vac["campaign_id"])
                  .order_by(C.closecallid.desc()).limit(1))
        key, extra = "closecallid", {}
    else:
        table, C = vicidial_log, vicidial_log.c
        newest = (sa.select(C.uniqueid, C.start_epoch)
                  .where(C.uniqueid == (vac["uniqueid"] or ""), C.lead_id == vac["lead_id"])
                  .order_by(C.call_date.desc()).limit(1))
        key, extra = "uniqueid", {"user": call.p.agent_user}
    row = await call.first(newest)
    if row is None:
        return
    start = row["start_epoch"]
    await call.db.execute(sa.update(table).where(C[key] == row[key]).values(
        status=status, end_epoch=call.epoch, length_in_sec=None if start is None else call.epoch - int(start),
        **extra))


@api_function("ra_call_control", valid=_ra_valid, invalid=_ra_invalid, alt_user=False)
async def ra_call_control(call: Call) -> None:
    """Hang up or redirect a call the dialer sent to a remote agent, then close its logs (spec part 2 §9).

    The call must be held by `agent_user` itself: upstream let any logged-in agent act on any call
    whose id it knew (part 2 hazard 8, DECISIONS §2 "act only on the right agent").
    """
    p = call.p
    vac = await call.first(sa.select(vicidial_auto_calls).where(VAC.callerid == p.value).limit(1))
    holder = await call.first(
        sa.select(VLA.server_ip).where(VLA.callerid == p.value, VLA.user == p.agent_user).limit(1))
    if vac is None or holder is None:
        raise call.stop(error("no active call found", p.value))
    if p.stage == "HANGUP":
        action, callerid, redirect = "Hangup", _api_callerid("HAPI", p.value), None
        call.emit(success("ra_call_control hungup", p.agent_user, p.value, "HANGUP"))
    else:
        redirect = await _ra_redirect_target(call, vac)
        action, callerid = "Redirect", _api_callerid("XAPI", p.value)
        call.emit(success("ra_call_control transfer", p.agent_user, p.value, p.phone_number))

    status = (p.status or RA_DEFAULT_STATUS)[:STATUS_WIDTH]
    await _log_call_end(call, vac, status)
    L = vicidial_list.c
    await call.db.execute(sa.update(vicidial_list).where(L.lead_id == vac["lead_id"]).values(status=status))

    lines = {f"cmd_line_{c}": "" for c in "bcdefghijk"}
    lines["cmd_line_b"] = f"Channel: {vac['channel'] or ''}"
    if redirect is not None:
        context = await call.scalar(
            sa.select(servers.c.ext_context).where(servers.c.server_ip == vac["server_ip"]).limit(1)) or ""
        lines |= {"cmd_line_c": f"Context: {context}", "cmd_line_d": f"Exten: {redirect}"[:200],
                  "cmd_line_e": "Priority: 1", "cmd_line_f": f"CallerID: {callerid}"}
    await call.insert_manager(server_ip=vac["server_ip"], action=action, callerid=callerid, **lines)

    await call.db.execute(
        sa.update(vicidial_live_agents)
        .where(VLA.user == p.agent_user, VLA.server_ip == holder["server_ip"])
        .values(random_id=random.randint(11000000, 19999999), last_call_finish=call.now, lead_id=0,
                uniqueid="", callerid="", channel="", last_state_change=call.now, status="READY"))
    call.woken.add(p.agent_user)
    await call.db.execute(sa.delete(vicidial_auto_calls).where(VAC.callerid == p.value))
    await call.db.execute(
        sa.update(vicidial_live_agents).where(VLA.ring_callerid == p.value).values(ring_callerid=""))
    return None

