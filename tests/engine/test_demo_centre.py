"""The demo centre inside a server: `POST /simulate/inbound` and `openagc call inbound`, through a real server."""

from __future__ import annotations

from typer.testing import CliRunner

from openagc.cli import app
from openagc.engine.callers import DEMO_CALLS_PER_MINUTE, demo_rate
from tests.support import wait_for

CALLER = {"user": "6666", "pass": "1234", "ingroup": "TEST_IN", "phone_number": "3125550177"}
TOUCHED = ("vicidial_auto_calls", "vicidial_closer_log", "vicidial_list", "vicidial_live_agents", "vicidial_manager")


def _ready(eng) -> None:
    token = eng.login(ingroups=["TEST_IN", "SALESLINE"])
    eng.advance(1)
    assert eng.agent("ready", token).json()["state"]["phase"] == "CLOSER"


def _counts(db) -> dict[str, list]:
    return {t: db.rows(t) for t in TOUCHED}


def test_simulated_inbound_call_reaches_the_ready_agent(eng, db):
    _ready(eng)
    r = eng.client.post("/simulate/inbound", data=CALLER)
    assert r.status_code == 200, r.text
    call = r.json()
    assert (call["ingroup"], call["phone_number"], call["status"], call["agent_user"]) == (
        "TEST_IN", "3125550177", "taken", "1000")
    vla = wait_for(lambda: (v := db.row("vicidial_live_agents", user="1000"))["status"] == "INCALL" and v)
    assert (vla["uniqueid"], vla["callerid"], vla["channel"], vla["comments"]) == (
        call["uniqueid"], call["call_id"], call["channel"], "INBOUND")
    closer = db.row("vicidial_closer_log", uniqueid=call["uniqueid"])
    assert (closer["campaign_id"], closer["user"], closer["phone_number"]) == ("TEST_IN", "1000", "3125550177")
    assert call["channel"] in [c.name for c in eng.switch.conference_members(vla["conf_exten"])]


def test_a_caller_with_no_agent_ready_waits(eng, db):
    r = eng.client.post("/simulate/inbound", json=CALLER | {"ingroup": "SALESLINE"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["agent_user"]) == ("waiting", None)
    row = db.row("vicidial_auto_calls", uniqueid=r.json()["uniqueid"])
    assert (row["status"], row["campaign_id"], row["call_type"]) == ("LIVE", "SALESLINE", "IN")


def test_openagc_call_inbound_reaches_the_ready_agent(eng, db):
    _ready(eng)
    result = CliRunner().invoke(app, ["call", "inbound", "--ingroup", "TEST_IN", "--phone", "3125550188",
                                      "--url", eng.server.base_url])
    assert result.exit_code == 0, result.output
    vla = wait_for(lambda: (v := db.row("vicidial_live_agents", user="1000"))["status"] == "INCALL" and v)
    assert result.output.strip() == (f"call {vla['callerid']} (uniqueid {vla['uniqueid']}) from 3125550188 into "
                                     "TEST_IN: taken by agent 1000")


def test_a_bad_ingroup_or_number_changes_nothing(eng, db):
    _ready(eng)
    before, channels = _counts(db), eng.switch.list_channels()
    for fields, error in (
        ({"ingroup": "NO_SUCH"}, "no in-group 'NO_SUCH'"),
        ({"ingroup": ""}, "no in-group ''"),
        ({"phone_number": "312-555"}, "phone_number must be 1 to 18 digits"),
    ):
        r = eng.client.post("/simulate/inbound", data=CALLER | fields)
        assert (r.status_code, r.json()) == (400, {"error": error})
    result = CliRunner().invoke(app, ["call", "inbound", "--ingroup", "NO_SUCH", "--url", eng.server.base_url])
    assert result.exit_code == 1
    assert "error: refused (400): no in-group 'NO_SUCH'" in result.output
    eng.settle()
    assert _counts(db) == before
    assert eng.switch.list_channels() == channels


def test_credentials_and_level_are_checked(eng, db):
    before = _counts(db)
    r = eng.client.post("/simulate/inbound", data=CALLER | {"pass": "wrong"})
    assert (r.status_code, r.json()) == (401, {"error": "invalid user or password"})
    r = eng.client.post("/simulate/inbound", data=CALLER | {"user": "1000"})  # an agent: user_level 1
    assert (r.status_code, r.json()) == (403, {"error": "placing simulated calls needs user_level 8 or more"})
    assert _counts(db) == before


def test_a_server_without_engine_refuses(api, backend, db):
    r = backend.client.post("/simulate/inbound", data=CALLER)
    assert r.status_code == 409
    assert r.json() == {"error": "this server runs no engine (--engine off): there is no switch to place a call on"}
    assert db.count("vicidial_auto_calls") == 0


def test_demo_callers_default_only_for_the_embedded_database_on_the_simulated_switch():
    on = dict(embedded=True, simulated=True, engine=True)
    assert demo_rate(None, None, **on) == DEMO_CALLS_PER_MINUTE
    assert demo_rate(None, None, **on | {"embedded": False}) == 0
    assert demo_rate(None, None, **on | {"simulated": False}) == 0
    assert demo_rate(False, "6", **on) == 0
    assert demo_rate(None, "0", **on) == 0
    assert demo_rate(None, "6", **on | {"embedded": False}) == 6
    assert demo_rate(True, None, **on | {"embedded": False}) == DEMO_CALLS_PER_MINUTE
    for env in ("fast", "-1", "nan"):
        try:
            demo_rate(None, env, **on)
        except ValueError as exc:
            assert "OPENAGC_DEMO_CALLERS" in str(exc)
        else:
            raise AssertionError(f"{env!r} accepted")
    try:
        demo_rate(True, None, **on | {"simulated": False})
    except ValueError as exc:
        assert "simulated switch" in str(exc)
    else:
        raise AssertionError("demo callers accepted on Asterisk")
