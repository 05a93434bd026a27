"""The agent's state machine and the transfer lock as data: states, events, transitions and their effects.

Check it against spec/agent-session.md §3 (the agent) and §4.6 (transfers). The code that moves an agent goes
through `Ctx.enter` (context.py), which looks the move up here with `check`; a move the table does not declare
is logged as an error and counted in `UNDECLARED` (the test suite asserts it stays empty), never refused: the
database row is the truth and the table describes it. `PERFORMED` counts the declared moves of this process.

A phase is what `context.phase_of` reads off the agent's `vicidial_live_agents` row: its status, DISPO for
PAUSED with a lead still on screen, OUT for no row at all (before login, after logout).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

log = logging.getLogger(__name__)


class Phase(StrEnum):
    OUT = "OUT"  # no vicidial_live_agents row
    PAUSED = "PAUSED"
    READY = "READY"  # waiting for outbound (or blended) calls
    CLOSER = "CLOSER"  # waiting for inbound calls only
    QUEUE = "QUEUE"  # a call routed to the agent, not picked up yet
    INCALL = "INCALL"
    DISPO = "DISPO"  # PAUSED with the call's lead still on screen


class Event(StrEnum):
    LOGIN = "login"
    READY = "ready"  # VDADready
    PAUSE = "pause"  # VDADpause
    INGROUPS = "ingroups"  # external_ingroups / blended changed while waiting
    DELIVER = "deliver"  # the dialer or the inbound queue routes a call to the agent
    PICK_UP = "pick_up"  # VDADcheckINCOMING
    DIAL = "dial"  # manDiaLnextCaLL
    CALL_END = "call_end"  # manDiaLlogCaLL end: agent, caller or a failed dial
    DISPOSITION = "disposition"  # updateDISPO
    REMOTE_FREE = "remote_free"  # a remote agent's caller hung up: available again, no disposition
    LOGOUT = "logout"  # userLOGout (the row is deleted)


@dataclass(frozen=True)
class Transition:
    source: Phase
    event: Event
    target: Phase
    effects: str  # the rows written, switch actions and events the agent's stream gets


def _each(sources: tuple[Phase, ...], event: Event, targets: tuple[Phase, ...], effects: str) -> list[Transition]:
    return [Transition(s, event, t, effects) for s in sources for t in targets]


P = Phase
WAITING = (P.READY, P.CLOSER)
_LOGOUT_EFFECTS = ("row deleted; vicidial_user_log LOGOUT; conference freed; web_client_sessions, session data "
                   "gone; agent-log pause closed; agent's phone hung up · events logged_out")

TRANSITIONS: tuple[Transition, ...] = (
    *_each((P.OUT,), Event.LOGIN, (P.PAUSED,),
           "vicidial_live_agents row (PAUSED); vicidial_agent_log opened (sub_status LOGIN); vicidial_user_log "
           "LOGIN; conference taken; the agent's phone called into it · events logged_in, state"),
    *_each((P.PAUSED,), Event.READY, WAITING,
           "pause codes cleared; agent-log pause closed, wait opens (a new row after a disposition) · event state"),
    *_each(WAITING, Event.PAUSE, (P.PAUSED,),
           "call columns cleared; agent-log wait closed, a new (paused) row opens; pause code if given · events "
           "state, pause_code_required (FORCE)"),
    *_each(WAITING, Event.INGROUPS, WAITING,
           "closer_campaigns / outbound_autodial; vicidial_user_closer_log · events ingroups_changed, state"),
    *_each(WAITING, Event.DELIVER, (P.QUEUE,),
           "vicidial_auto_calls claimed (CLOSER / XFER); the call's ids on the agent's row"),
    *_each((P.QUEUE,), Event.PICK_UP, (P.INCALL,),
           "lead INCALL; closer log answered (inbound); vicidial_manager Redirect; the call redirected into the "
           "conference; agent-log talk opens; auto-recording starts · events call, state"),
    *_each((P.PAUSED, *WAITING), Event.DIAL, (P.INCALL,),
           "lead INCALL, called_count; callbacks INACTIVE; hopper row gone; vicidial_auto_calls XFER; "
           "vicidial_manager Originate; the customer dialled; agent-log pause or wait closed · events dialing, state"),
    *_each((P.INCALL,), Event.CALL_END, (P.DISPO,),
           "vicidial_log / closer log ended; vicidial_auto_calls row gone; vicidial_manager Hangup and the "
           "customer hung up (agent's hangup); recordings stop; agent-log talk closed, dispo opens · events "
           "call_ended, state"),
    *_each((P.DISPO,), Event.DISPOSITION, (P.PAUSED,),
           "lead status; agent-log dispo closed; callback or vicidial_callbacks row; transfer legs done · event "
           "dispositioned; then READY, PAUSE or LOGOUT as the pending command and the campaign decide"),
    *_each((P.DISPO,), Event.REMOTE_FREE, WAITING, "lead cleared · event state"),
    *_each((P.PAUSED, *WAITING, P.DISPO), Event.LOGOUT, (P.OUT,), _LOGOUT_EFFECTS),
)
BY_MOVE: dict[tuple[Phase, Event, Phase], Transition] = {(t.source, t.event, t.target): t for t in TRANSITIONS}

PERFORMED: Counter[tuple[Phase, Event, Phase]] = Counter()
UNDECLARED: Counter[tuple[str, str, str]] = Counter()


def check(user: str, source: str, event: Event | None, target: str) -> Transition | None:
    """The declared transition for this move, counted; None (logged, counted in `UNDECLARED`) when there is none."""
    found = None
    if event is not None and source in Phase.__members__ and target in Phase.__members__:
        found = BY_MOVE.get((Phase(source), event, Phase(target)))
    if found is None:
        UNDECLARED[(source, event.value if event else "(plain set)", target)] += 1
        log.error("agent %s moved %s → %s by %s: not in the state table", user, source, target, event)
        return None
    PERFORMED[(found.source, found.event, found.target)] += 1
    return found


# --- the transfer lock (transfer.py) -------------------------------------------------------------------------


class TransferPhase(StrEnum):
    IDLE = "IDLE"
    DIALING = "DIALING"
    CONFERENCED = "CONFERENCED"


class TransferEvent(StrEnum):
    DIAL = "dial"  # DIAL_WITH_CUSTOMER / PARK_CUSTOMER_DIAL
    ANSWERED = "answered"  # the 3rd party answers
    LEG_GONE = "leg_gone"  # the 3rd party is busy, does not answer, or hangs up
    DONE = "done"  # HANGUP_XFER, HANGUP_BOTH, LEAVE_3WAY_CALL, BLIND_TRANSFER, LOCAL_CLOSER, LEAVE_VM, the call's end


@dataclass(frozen=True)
class TransferTransition:
    source: TransferPhase
    event: TransferEvent
    target: TransferPhase
    effects: str


T = TransferPhase
#: The lock: a command that starts a transfer (dial, park-and-dial, blind, local closer, voicemail) is taken only
#: in these phases; otherwise it is refused (`command_ignored`, reason `transfer in progress`).
TRANSFER_MAY_START = frozenset({T.IDLE})
TRANSFER_TRANSITIONS: tuple[TransferTransition, ...] = (
    TransferTransition(T.IDLE, TransferEvent.DIAL, T.DIALING,
                       "user_call_log; vicidial_manager Originate; the 3rd party dialled into the conference (the "
                       "customer parked first for PARK_CUSTOMER_DIAL) · event transfer"),
    TransferTransition(T.DIALING, TransferEvent.ANSWERED, T.CONFERENCED, "the leg joins the conference (press-1: the "
                       "others hung up, DEFEATED) · event xfer_answered"),
    *(TransferTransition(s, TransferEvent.LEG_GONE, T.IDLE, "user_call_log xfer_hungup · event xfer_hangup")
      for s in (T.IDLE, T.DIALING, T.CONFERENCED)),
    *(TransferTransition(s, TransferEvent.DONE, T.IDLE,
                         "legs hung up or left in a new conference; user_call_log / xfer log · event transfer")
      for s in (T.IDLE, T.DIALING, T.CONFERENCED)),
)
TRANSFER_BY_MOVE: dict[tuple[TransferPhase, TransferEvent], TransferTransition] = {
    (t.source, t.event): t for t in TRANSFER_TRANSITIONS}
TRANSFER_PERFORMED: Counter[tuple[TransferPhase, TransferEvent, TransferPhase]] = Counter()


def transfer_step(user: str, source: TransferPhase, event: TransferEvent) -> TransferPhase:
    """The phase a transfer moves to on `event`, as the table says; an undeclared move is logged and counted in
    `UNDECLARED` and leaves the phase as it was."""
    found = TRANSFER_BY_MOVE.get((source, event))
    if found is None:
        UNDECLARED[(f"transfer {source}", event.value, "?")] += 1
        log.error("transfer of %s: %s on %s is not in the transfer table", user, event, source)
        return source
    TRANSFER_PERFORMED[(found.source, found.event, found.target)] += 1
    return found.target
