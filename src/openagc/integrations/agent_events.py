"""Integrators' events of an agent, derived from its `vicidial_live_agents` row before and after a change.

One pure function (`derive`) turns (the row before, the row after, the log rows the change wrote) into events.
The engine calls it inside each transaction it commits (`engine/events.py`); the stock-VICIdial watcher calls it
on what it sees between two polls of upstream's tables (`integrations/stock_watcher.py`), so both produce the same
events from the same rows. Facts only the engine knows (transfers, park, command outcomes) have builders here too,
so every event of a kind has one shape. `docs/events.md` lists the kinds with examples.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from openagc.store.event_log import NewEvent

AGENT_LOGGED_IN = "agent.logged_in"
AGENT_LOGGED_OUT = "agent.logged_out"
AGENT_STATE = "agent.state"
CALL_RINGING = "call.ringing"
CALL_ANSWERED = "call.answered"
CALL_ENDED = "call.ended"
CALL_DISPOSITIONED = "call.dispositioned"
CALLBACK_SCHEDULED = "callback.scheduled"
RECORDING_STARTED = "recording.started"
RECORDING_STOPPED = "recording.stopped"
CALL_TRANSFER = "call.transfer"
CALL_PARKED = "call.parked"
CALL_GRABBED = "call.grabbed"
COMMAND_OUTCOME = "command.outcome"
#: Every kind, the catalogue a stream's `type` filter is checked against.
KINDS = frozenset({
    AGENT_LOGGED_IN, AGENT_LOGGED_OUT, AGENT_STATE, CALL_RINGING, CALL_ANSWERED, CALL_ENDED, CALL_DISPOSITIONED,
    CALLBACK_SCHEDULED, RECORDING_STARTED, RECORDING_STOPPED, CALL_TRANSFER, CALL_PARKED, CALL_GRABBED,
    COMMAND_OUTCOME,
})
CALL_STATES = ("QUEUE", "INCALL")
INBOUND_COMMENTS = ("INBOUND", "CLOSER")
NOT_ANSWERED = "NOT_ANSWERED"  # the cause of a call that ended before it was answered


@dataclass(frozen=True)
class AgentView:
    """What events are derived from: the agent's `vicidial_live_agents` row, its user group and the status of
    its current `vicidial_agent_log` row (set once that cycle was dispositioned)."""

    user: str
    status: str = ""
    lead_id: int = 0
    campaign_id: str = ""
    user_group: str = ""
    callerid: str = ""
    uniqueid: str = ""
    channel: str = ""
    comments: str = ""
    pause_code: str = ""
    agent_log_id: int = 0
    log_status: str = ""
    server_ip: str = ""
    conf_exten: str = ""
    extension: str = ""

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> AgentView:
        """From a row (or a stored view) holding these names; missing or NULL columns are empty."""
        values: dict[str, Any] = {}
        for name, whole in _VIEW_FIELDS:
            raw = row.get(name)
            values[name] = int(raw or 0) if whole else ("" if raw is None else str(raw))
        return cls(**values)

    def stored(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name, _ in _VIEW_FIELDS}

    @property
    def phase(self) -> str:
        """READY, PAUSED, CLOSER, QUEUE, INCALL, or DISPO (PAUSED with a lead still on the screen), as upstream's
        agent screen shows it."""
        return "DISPO" if self.status == "PAUSED" and self.lead_id > 0 else self.status

    @property
    def call(self) -> str:
        """The call the agent has (its caller id), or "" without one."""
        return self.callerid if self.status in CALL_STATES and self.callerid else ""

    @property
    def answered(self) -> bool:
        return self.status == "INCALL" and self.uniqueid not in ("", "0")

    @property
    def inbound(self) -> bool:
        return self.comments in INBOUND_COMMENTS


#: AgentView's fields as (name, is an int), read once: `dataclasses.fields` builds its tuple anew on every call, and
#: the stock watcher and the engine's events make views of every agent they look at.
_VIEW_FIELDS = tuple((f.name, f.type == "int") for f in fields(AgentView))


@dataclass
class Facts:
    """What a change wrote besides the agent's row, read from the log tables (`integrations/agent_rows.py`)."""

    dispositions: list[Mapping[str, Any]] = field(default_factory=list)  # vicidial_agent_log rows with a status
    callbacks: list[Mapping[str, Any]] = field(default_factory=list)  # new vicidial_callbacks rows
    recordings_started: list[Mapping[str, Any]] = field(default_factory=list)  # recording_log rows
    recordings_stopped: list[Mapping[str, Any]] = field(default_factory=list)
    ends: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # uniqueid → {term_reason, length_in_sec}
    numbers: dict[int, str] = field(default_factory=dict)  # lead_id → phone_number
    groups: dict[str, str] = field(default_factory=dict)  # caller id → in-group of an inbound call
    extra: list[NewEvent] = field(default_factory=list)  # engine-only events (transfer, park), before the state


def _new(kind: str, who: AgentView, data: dict[str, Any]) -> NewEvent:
    return NewEvent(kind, who.user, who.campaign_id, who.user_group, data)


def _call_data(view: AgentView, facts: Facts) -> dict[str, Any]:
    return {
        "call_id": view.callerid,
        "uniqueid": "" if view.uniqueid == "0" else view.uniqueid,
        "lead_id": view.lead_id,
        "phone_number": facts.numbers.get(view.lead_id, ""),
        "direction": "inbound" if view.inbound else "outbound",
        "group": facts.groups.get(view.callerid, "") if view.inbound else view.campaign_id,
    }


def derive(before: AgentView | None, after: AgentView | None, facts: Facts | None = None) -> list[NewEvent]:
    """The events of one agent's change, in order: logged in; the call that ended, its disposition and
    callback; the call that arrived, its answer; recordings; engine-only events; the new state; logged out."""
    facts = facts or Facts()
    who = after or before
    out: list[NewEvent] = []
    if who is None:  # no agent row either side: rows about nobody logged in (a callback set by an admin)
        return callback_events(facts.callbacks)
    if before is None and after is not None:
        out.append(_new(AGENT_LOGGED_IN, after, {
            "state": after.phase, "server_ip": after.server_ip, "conf_exten": after.conf_exten,
            "extension": after.extension}))
    old_call = before.call if before else ""
    new_call = after.call if after else ""
    if old_call and old_call != new_call:
        assert before is not None
        out.append(_new(CALL_ENDED, who, _call_data(before, facts) | _end(before, facts)))
    for row in facts.dispositions:
        out.append(_new(CALL_DISPOSITIONED, who, {
            "lead_id": int(row.get("lead_id") or 0), "status": row.get("status") or "",
            "uniqueid": row.get("uniqueid") or "", "agent_log_id": int(row.get("agent_log_id") or 0),
            "phone_number": facts.numbers.get(int(row.get("lead_id") or 0), "")}))
    out.extend(callback_events(facts.callbacks))
    if after is not None and new_call:
        if new_call != old_call:
            stage = "dialing" if after.status == "INCALL" and not after.inbound and not after.answered else "offered"
            out.append(_new(CALL_RINGING, after, _call_data(after, facts) | {"stage": stage}))
        if after.answered and not (new_call == old_call and before is not None and before.answered):
            out.append(_new(CALL_ANSWERED, after, _call_data(after, facts)))
    out.extend(recording_events(RECORDING_STARTED, facts.recordings_started, who))
    out.extend(recording_events(RECORDING_STOPPED, facts.recordings_stopped, who))
    out.extend(facts.extra)
    if after is not None and (before is None or after.phase != before.phase or (
            after.phase == "PAUSED" and after.pause_code != before.pause_code)):
        out.append(_new(AGENT_STATE, after, {
            "state": after.phase, "previous": before.phase if before else "", "status": after.status,
            "pause_code": after.pause_code, "lead_id": after.lead_id}))
    if after is None and before is not None:
        out.append(_new(AGENT_LOGGED_OUT, before, {"previous": before.phase}))
    return out


def _end(view: AgentView, facts: Facts) -> dict[str, Any]:
    """How the call ended: upstream's `term_reason` of its call log row (CALLER, AGENT, …), or NOT_ANSWERED."""
    logged = facts.ends.get(view.uniqueid) if view.answered else None
    if logged is None:
        return {"cause": NOT_ANSWERED if not view.answered else "", "length_in_sec": 0}
    return {"cause": logged.get("term_reason") or "", "length_in_sec": int(logged.get("length_in_sec") or 0)}


def callback_events(rows: Iterable[Mapping[str, Any]]) -> list[NewEvent]:
    """`callback.scheduled` for new `vicidial_callbacks` rows (whose campaign and group the row names)."""
    return [NewEvent(CALLBACK_SCHEDULED, row.get("user") or "", row.get("campaign_id") or "",
                     row.get("user_group") or "", {
                         "callback_id": int(row["callback_id"]), "lead_id": int(row.get("lead_id") or 0),
                         "callback_time": str(row.get("callback_time") or ""),
                         "recipient": row.get("recipient") or "", "status": row.get("lead_status") or "",
                         "comments": row.get("comments") or ""})
            for row in rows]


def recording_events(kind: str, rows: Iterable[Mapping[str, Any]], who: AgentView) -> list[NewEvent]:
    """`recording.started` / `recording.stopped` for `recording_log` rows of the agent `who`."""
    out = []
    for row in rows:
        data: dict[str, Any] = {"recording_id": int(row["recording_id"]), "filename": row.get("filename") or "",
                                "lead_id": int(row.get("lead_id") or 0)}
        if kind == RECORDING_STOPPED:
            data["length_in_sec"] = int(row.get("length_in_sec") or 0)
        out.append(_new(kind, who, data))
    return out


def transfer_event(who: AgentView, step: str, **data: Any) -> NewEvent:
    """`call.transfer`: `step` is requested (a transfer function carried out), answered, hung_up or left_3way."""
    return _new(CALL_TRANSFER, who, {"step": step, **data})


def park_event(who: AgentView, parked: bool, *, leg: str, channel: str) -> NewEvent:
    """`call.parked` / `call.grabbed`: the customer's or the transfer's leg into or out of the park."""
    return _new(CALL_PARKED if parked else CALL_GRABBED, who, {"leg": leg, "channel": channel})


def command_event(record: Mapping[str, Any], campaign_id: str, user_group: str) -> NewEvent:
    """`command.outcome`: a command record in its final state (applied, rejected, expired, superseded, delivered)."""
    return NewEvent(COMMAND_OUTCOME, record["user"], campaign_id, user_group, {
        "command_id": int(record["command_id"]), "command": record["command"], "value": record["value"],
        "state": record["state"], "reason": record["reason"] or "", "source": record["source"],
        "function": record["function"]})
