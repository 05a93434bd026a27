"""update_fields / refresh_panel, set_timer_action, change_ingroups, switch_lead, send_notification, SSE."""

from __future__ import annotations

import json
import threading

import httpx

from tests.engine.conftest import wait_for
from tests.engine.test_session_commands import start_inbound_call, vla


def test_update_fields_clears_the_flags(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    body = agent_api("update_fields", agent_user="1000", first_name="Janet", city="Miami")
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["external_update_fields"] == "0")
    assert vla(db)["external_update_fields_data"] == ""
    assert db.row("vicidial_list", lead_id=12345)["first_name"] == "Janet"


def test_refresh_panel_is_consumed(eng, db, agent_api):
    eng.login()
    body = agent_api("refresh_panel", agent_user="1000", formreload="1")
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["external_update_fields"] == "0")


def test_timer_action_hangup_fires_at_its_second(eng, db, agent_api):
    token = eng.login()
    start_inbound_call(eng, db, token)
    body = agent_api("set_timer_action", agent_user="1000", value="HANGUP", notes="time is up", rank="10")
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["external_timer_action"] == "")
    assert eng.state(token)["timer"]["seconds"] == 10
    eng.services.clock.advance(9)
    eng.run(eng.engine.sweep())
    assert vla(db)["status"] == "INCALL"
    eng.services.clock.advance(1)
    wait_for(lambda: eng.state(token)["phase"] == "DISPO")
    assert eng.state(token)["timer"] is None


def test_change_ingroups_takes_effect(eng, db, agent_api):
    token = eng.login()
    body = agent_api(
        "change_ingroups", agent_user="1000", value="CHANGE", blended="YES", ingroup_choices=" TEST_IN2 -"
    )
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["manager_ingroup_set"] == "Y")
    row = vla(db)
    assert (row["closer_campaigns"], row["outbound_autodial"]) == (" TEST_IN2 -", "Y")
    log = db.rows("vicidial_user_closer_log", user="1000")[-1]
    assert (log["closer_campaigns"], log["blended"], log["manager_change"]) == (" TEST_IN2 -", "1", "6666")
    assert eng.state(token)["ingroups"] == ["TEST_IN2"]


def test_switch_lead_on_an_inbound_call(eng, db, agent_api):
    token = eng.login()
    chan = start_inbound_call(eng, db, token)
    body = agent_api("switch_lead", agent_user="1000", lead_id="12348")
    assert body.startswith("SUCCESS"), body
    wait_for(lambda: vla(db)["lead_id"] == 12348)
    assert vla(db)["external_lead_id"] == 0
    assert db.row("vicidial_list", lead_id=12345)["status"] == "LSMERG"
    assert db.row("vicidial_list", lead_id=12348)["status"] == "INCALL"
    assert db.row("vicidial_closer_log", uniqueid=chan.uniqueid)["lead_id"] == 12348
    assert db.row("vicidial_agent_function_log", user="1000")["lead_id"] == 12348


def test_notification_is_pushed_on_the_event_stream_once(eng, db, agent_api):
    token = eng.login()
    received: list[dict] = []
    ready = threading.Event()

    def listen() -> None:
        with httpx.stream(
            "GET",
            f"{eng.server.base_url}/agent/events",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        ) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            for line in r.iter_lines():
                if line.startswith("data: "):
                    event = json.loads(line[6:])
                    received.append(event)
                    ready.set()
                    if event["event"] == "notification":
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(5) and received[0]["event"] == "state" and received[0]["state"]["user"] == "1000"
    body = agent_api("send_notification", recipient="1000", recipient_type="USER", notification_text="hello")
    assert body.startswith("SUCCESS"), body
    t.join(5)
    assert received[-1]["event"] == "notification" and received[-1]["text"] == "hello"
    wait_for(
        lambda: db.row("vicidial_agent_notifications", recipient="1000")["notification_status"] == "SENT"
    )
