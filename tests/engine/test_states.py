"""The state table (`engine/states.py`) against the spec (spec/agent-session.md §3.3, §4.6) and the engine.

The `eng` fixture (tests/conftest.py) fails any test in which the engine moved an agent or a transfer in a way
the table does not declare; here a whole call cycle is checked move by move.
"""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from openagc.engine import session, states
from openagc.engine.states import Event, Phase, TransferEvent, TransferPhase
from openagc.store.schema import vicidial_live_agents
from tests.engine.conftest import wait_for

#: spec §3.3, one line a move (QUEUE is entered by the dialer or the inbound queue, VDADcheckINCOMING leaves it).
SPEC_MOVES = {(Phase(source), Event(event), Phase(target)) for source, event, target in map(str.split, """
    OUT     login       PAUSED
    PAUSED  ready       READY
    PAUSED  ready       CLOSER
    READY   pause       PAUSED
    CLOSER  pause       PAUSED
    READY   deliver     QUEUE
    CLOSER  deliver     QUEUE
    QUEUE   pick_up     INCALL
    PAUSED  dial        INCALL
    INCALL  call_end    DISPO
    DISPO   disposition PAUSED
    PAUSED  logout      OUT
""".strip().splitlines())}


def test_the_table_has_the_spec_moves() -> None:
    assert SPEC_MOVES <= set(states.BY_MOVE)


def test_the_table_is_one_row_a_move_with_its_effects() -> None:
    moves = [(t.source, t.event, t.target) for t in states.TRANSITIONS]
    assert len(moves) == len(set(moves))
    assert all(t.effects for t in states.TRANSITIONS)
    assert all(t.effects for t in states.TRANSFER_TRANSITIONS)
    assert {e for _, e, _ in moves} == set(Event)


def test_the_phases_are_the_rows_statuses() -> None:
    statuses = {*session.LIVE_STATES, *session.IDLE_STATES, "PAUSED"}
    assert statuses | {"OUT", "DISPO"} == {p.value for p in Phase}
    assert not any(t.source == Phase.OUT for t in states.TRANSITIONS if t.event != Event.LOGIN)
    assert {t.target for t in states.TRANSITIONS if t.event == Event.LOGOUT} == {Phase.OUT}


def test_the_transfer_lock() -> None:
    assert states.TRANSFER_MAY_START == {TransferPhase.IDLE}
    starts = {(t.source, t.target) for t in states.TRANSFER_TRANSITIONS if t.event == TransferEvent.DIAL}
    assert starts == {(TransferPhase.IDLE, TransferPhase.DIALING)}
    assert states.transfer_step("x", TransferPhase.DIALING, TransferEvent.ANSWERED) == TransferPhase.CONFERENCED


def test_an_undeclared_move_is_reported_not_refused() -> None:
    before = Counter(states.UNDECLARED)
    assert states.check("x", "INCALL", Event.READY, "READY") is None
    assert states.UNDECLARED - before == Counter({("INCALL", "ready", "READY"): 1})
    states.UNDECLARED.clear()
    states.UNDECLARED.update(before)


def test_a_call_cycle_moves_through_the_table(eng, db, agent_api) -> None:
    before = Counter(states.PERFORMED)
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200
    eng.inbound("3125551001", "TEST_IN")
    eng.settle()
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["status"] == "INCALL", what="call delivered")
    assert agent_api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert agent_api("external_pause", agent_user="1000", value="PAUSE").startswith("SUCCESS")
    assert agent_api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["lead_id"] == 0)
    assert agent_api("logout", agent_user="1000", value="LOGOUT").startswith("SUCCESS")
    wait_for(lambda: db.count("vicidial_live_agents", user="1000") == 0, what="logged out")
    assert states.PERFORMED - before == Counter({
        (Phase.OUT, Event.LOGIN, Phase.PAUSED): 1,
        (Phase.PAUSED, Event.READY, Phase.CLOSER): 1,
        (Phase.CLOSER, Event.DELIVER, Phase.QUEUE): 1,
        (Phase.QUEUE, Event.PICK_UP, Phase.INCALL): 1,
        (Phase.INCALL, Event.CALL_END, Phase.DISPO): 1,
        (Phase.DISPO, Event.DISPOSITION, Phase.PAUSED): 1,
        (Phase.PAUSED, Event.LOGOUT, Phase.OUT): 1,
    })


def test_the_guarded_transitions_refuse_a_row_that_moved_under_them(eng, db):
    """PAUSE only from a waiting state, READY never from a live call: checked again in the UPDATE itself, so a row
    changed after the engine read it is not overwritten (the context still says CLOSER / PAUSED)."""
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200
    wait_for(lambda: db.row("vicidial_live_agents", user="1000")["status"] == "CLOSER", what="ready")
    eng.settle()

    def moved_then(status: str, step):
        async def action(ctx):
            await ctx.conn.execute(sa.update(vicidial_live_agents).where(
                vicidial_live_agents.c.user == "1000").values(status=status))  # behind the context's back
            return await step(ctx)
        return eng.run(eng.engine.transact("1000", action))

    assert moved_then("INCALL", session.pause) is False
    assert db.row("vicidial_live_agents", user="1000")["status"] == "INCALL"
    db.update("vicidial_live_agents", {"user": "1000"}, status="PAUSED")
    eng.settle()
    assert moved_then("QUEUE", session.ready) is False
    assert db.row("vicidial_live_agents", user="1000")["status"] == "QUEUE"
    db.update("vicidial_live_agents", {"user": "1000"}, status="PAUSED")
    assert moved_then("PAUSED", session.ready) is True  # the guard lets a row that did not move through
    assert db.row("vicidial_live_agents", user="1000")["status"] == "CLOSER"
