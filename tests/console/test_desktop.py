"""The console as an agent desktop: the call's states and indicators, controls that match the moment, the engine's
refusals, the lead form, dispositions with hotkeys and callbacks — each driven in Chromium as an agent would, with
Playwright's waiting `expect` (no fixed sleeps)."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, expect

from tests.console.test_console import api_ok, go_ready, log_in, take_inbound_call
from tests.engine.conftest import EngineEnv, wait_for
from tests.support import Db


def _call(page: Page) -> dict:
    return page.evaluate("window.openagc.state.call")


def test_call_states_indicators_and_the_controls_that_match_them(page: Page, eng: EngineEnv, db: Db) -> None:
    log_in(page)
    expect(page.get_by_role("button", name="Hang up")).to_be_disabled()
    expect(page.get_by_role("button", name="Transfer…")).to_be_disabled()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_disabled()  # already paused
    go_ready(page, eng)
    expect(page.locator("#call-state")).to_have_text("Waiting for an inbound call")
    expect(page.get_by_role("button", name="Dial", exact=True)).to_be_disabled()
    take_inbound_call(page, eng)
    expect(page.locator("#call-direction")).to_have_text("Inbound from")
    expect(page.locator("#call-number")).to_have_text("3125551001")
    expect(page.locator("#call-group")).to_have_text("· in-group TEST_IN")
    expect(page.locator("#talk-box")).to_be_visible()
    assert _call(page)["talk_since"] == "2026-01-15 10:30:01"  # talk counted from the answer, on the server's clock
    expect(page.locator("#talk-timer")).to_have_text(re.compile(r"^0:0[1-9]$"))  # and it runs
    expect(page.get_by_role("button", name="Grab customer")).to_be_disabled()
    expect(page.get_by_role("button", name="Stop recording")).to_be_disabled()

    api_ok(eng, "park_call", agent_user="1000", value="PARK_CUSTOMER")  # the API parks: the page shows hold
    expect(page.locator("#agent-phase")).to_have_text("On hold")
    expect(page.locator("#ind-park")).to_be_visible()
    expect(page.get_by_role("button", name="Park customer", exact=True)).to_be_disabled()
    page.get_by_role("button", name="Grab customer").click()
    expect(page.locator("#agent-phase")).to_have_text("Connected")
    expect(page.locator("#ind-park")).to_be_hidden()

    page.get_by_role("button", name="Start recording").click()
    expect(page.locator("#ind-rec")).to_be_visible()
    expect(page.get_by_role("button", name="Start recording")).to_be_disabled()
    expect(page.get_by_role("button", name="Stop recording")).to_be_enabled()

    page.get_by_role("button", name="Transfer…").click()
    expect(page.get_by_role("button", name="Transfer…")).to_have_attribute("aria-expanded", "true")
    dial = page.get_by_role("button", name="Dial with customer (3-way)")
    expect(dial).to_be_disabled()  # nothing to dial yet
    expect(page.get_by_role("button", name="Hang up transfer line")).to_be_disabled()  # no transfer line
    page.get_by_label("Transfer number").fill("3125550000")
    expect(dial).to_be_enabled()
    dial.click()
    expect(page.locator("#ind-xfer")).to_have_text("Transfer line 3125550000: dialing")
    expect(dial).to_be_disabled()  # one transfer at a time
    eng.advance(3)  # the third party answers
    expect(page.locator("#agent-phase")).to_have_text("3-way")
    expect(page.locator("#ind-3way")).to_be_visible()
    expect(page.locator("#ind-xfer")).to_have_text("Transfer line 3125550000: connected")
    expect(page.get_by_role("button", name="Leave 3-way")).to_be_enabled()
    page.get_by_role("button", name="Hang up transfer line").click()
    expect(page.locator("#agent-phase")).to_have_text("Connected")
    expect(page.locator("#ind-xfer")).to_be_hidden()

    channel = eng.run(eng.engine.state("1000"))["channel"]
    eng.run(eng.switch.hangup(channel))  # the customer hangs up
    eng.settle()
    expect(page.locator("#agent-phase")).to_have_text("Customer hung up")
    expect(page.get_by_role("button", name="Transfer…")).to_be_disabled()
    expect(page.locator("#xfer-panel")).to_be_hidden()
    page.get_by_role("button", name="Hang up", exact=True).click()
    expect(page.locator("#agent-phase")).to_have_text("After-call work")
    expect(page.locator("#callbar")).to_have_attribute("data-stage", "ended")


def test_an_engine_refusal_is_said_once(page: Page, eng: EngineEnv) -> None:
    log_in(page)
    go_ready(page, eng)
    take_inbound_call(page, eng)
    api_ok(eng, "park_call", agent_user="1000", value="GRAB_CUSTOMER")  # nothing is parked
    expect(page.locator("#action-message")).to_have_text("Park / grab (GRAB_CUSTOMER) was not carried out: not parked")
    expect(page.locator("#action-message")).to_have_class("message error")
    expect(page.locator("#activity-log li", has_text="not carried out")).to_have_count(1)


def test_the_lead_form_keeps_what_the_agent_typed_and_saves_through_update_fields(page: Page, eng: EngineEnv,
                                                                                 db: Db) -> None:
    log_in(page)
    go_ready(page, eng)
    take_inbound_call(page, eng)
    expect(page.get_by_label("Gender")).to_be_hidden()  # noise (gender U, rank 0, GMT offset) stays out of view
    expect(page.get_by_label("Rank")).to_be_hidden()
    expect(page.get_by_role("button", name="Save lead")).to_be_disabled()
    page.get_by_label("First name").fill("Jana")
    expect(page.get_by_role("button", name="Save lead")).to_be_enabled()
    pushes = page.evaluate("window.openagc.pushes")
    api_ok(eng, "update_fields", agent_user="1000", first_name="Janet", city="Orlando")  # a push meanwhile
    expect(page.get_by_label("City")).to_have_value("Orlando")
    expect(page.get_by_label("First name")).to_have_value("Jana")  # the agent's text stays
    expect(page.locator("#lead-theirs-first_name")).to_have_text("Saved value: Janet")
    api_ok(eng, "external_pause", agent_user="1000", value="PAUSE")  # a state push too
    expect(page.locator("#ind-pending")).to_be_visible()
    assert page.evaluate("window.openagc.pushes") > pushes
    expect(page.get_by_label("First name")).to_have_value("Jana")

    page.get_by_label("Email").fill("jana;doe@example.com")
    page.get_by_role("button", name="Save lead").click()
    expect(page.locator("#lead-error")).to_have_text("email may not hold ';'")
    assert db.row("vicidial_list", lead_id=12345)["first_name"] == "Janet"  # nothing written

    logs_before = db.count("vicidial_api_log", function="update_fields")
    page.get_by_label("Email").fill("jana.doe@example.com")
    page.get_by_role("button", name="Save lead").click()
    expect(page.get_by_role("button", name="Save lead")).to_be_disabled()
    expect(page.locator("#lead-theirs-first_name")).to_be_hidden()
    expect(page.locator("#script-text")).to_contain_text("Hello Jana,")  # the script follows the saved lead
    lead = db.row("vicidial_list", lead_id=12345)
    assert (lead["first_name"], lead["email"], lead["city"]) == ("Jana", "jana.doe@example.com", "Orlando")
    logs = [r for r in db.rows("vicidial_api_log", function="update_fields")][logs_before:]
    assert [(r["user"], r["agent_user"], r["source"], r["result"], r["result_reason"]) for r in logs] == [
        ("1000", "1000", "console", "SUCCESS", "update_fields lead updated")]
    assert "first_name='Jana'" in logs[0]["data"]  # update_fields' own data (quotes as the api log keeps them)
    page.get_by_role("button", name="All fields").click()
    expect(page.get_by_label("Gender")).to_be_visible()


def test_dispositions_by_number_key_and_a_callback_that_cannot_be_in_the_past(page: Page, eng: EngineEnv,
                                                                              db: Db) -> None:
    log_in(page)
    expect(page.locator("#callbacks-count")).to_have_text("(0)")
    go_ready(page, eng)
    take_inbound_call(page, eng)
    page.get_by_role("button", name="Hang up", exact=True).click()
    dialog = page.locator("#dispo-dialog")
    expect(dialog).to_be_visible()
    key = page.locator("#status-CALLBK").get_attribute("data-key")
    assert key and key.isdigit()
    page.keyboard.press(key)
    expect(page.get_by_role("radio", name="CALLBK — Call Back")).to_be_checked()
    expect(page.get_by_label("Callback time")).to_be_visible()
    assert page.get_by_label("Callback time").get_attribute("min") == "2026-01-15T10:30"  # the server's now
    page.get_by_label("Callback time").fill("2026-01-14T09:00")
    page.get_by_role("button", name="Submit disposition").click()
    expect(page.locator("#dispo-error")).to_have_text("The callback time is in the past.")
    # the server refuses it too (a page with another clock, a hand-made request)
    answer = page.evaluate("""() => fetch('/agent/dispo', {method: 'POST', headers: {'Content-Type': 'application/json',
        'X-CSRF-Token': window.openagc.csrf}, body: JSON.stringify({status: 'CALLBK',
        callback_datetime: '2026-01-14 09:00:00'})}).then(r => r.json().then(b => [r.status, b]))""")
    assert answer == [400, {"error": "callback_datetime is in the past"}]
    assert db.count("vicidial_callbacks", lead_id=12345) == 0
    page.get_by_label("Callback time").fill("2026-01-20T14:30")
    page.get_by_label("Callback comments").fill("after lunch")
    page.get_by_label("Callback comments").press("Enter")  # Enter submits
    expect(dialog).to_be_hidden()
    expect(page.locator("#callbacks-count")).to_have_text("(1)")  # pushed live, no refresh button
    expect(page.locator("#callbacks-list")).to_contain_text("2026-01-20 14:30:00")
    wait_for(lambda: db.count("vicidial_callbacks", lead_id=12345) == 1)


def test_the_pause_code_shows_in_one_place_and_agrees(page: Page, eng: EngineEnv) -> None:
    log_in(page)
    expect(page.get_by_label("Pause code")).to_have_value("LOGIN")  # the system's code at login, as the strip says
    expect(page.locator("#call-state")).to_have_text("Paused — LOGIN")
    api_ok(eng, "pause_code", agent_user="1000", value="BREAK")
    expect(page.get_by_label("Pause code")).to_have_value("BREAK")
    expect(page.locator("#call-state")).to_have_text("Paused — BREAK (Break)")


def test_lead_edits_are_refused_clearly(page: Page, eng: EngineEnv, db: Db) -> None:
    log_in(page)
    answer = page.evaluate("""() => fetch('/console/api/lead', {method: 'POST', headers: {'Content-Type':
        'application/json', 'X-CSRF-Token': window.openagc.csrf}, body: JSON.stringify({fields: {first_name: 'X'}})})
        .then(r => r.json().then(b => [r.status, b]))""")
    assert answer == [409, {"error": "agent_user does not have a lead on their screen"}]
    for body, error in (({"fields": {"lead_id": "7"}}, "not lead fields: lead_id"),
                        ({"fields": {}}, "fields (an object of lead fields) is required"),
                        ({"fields": {"first_name": ["a"]}}, "first_name must be text"),
                        ({"fields": {"date_of_birth": "2026-02-31"}}, "date_of_birth must be a date (YYYY-MM-DD)")):
        got = page.evaluate("""(body) => fetch('/console/api/lead', {method: 'POST', headers: {'Content-Type':
            'application/json', 'X-CSRF-Token': window.openagc.csrf}, body: JSON.stringify(body)})
            .then(r => r.json().then(b => [r.status, b]))""", body)
        assert got == [400, {"error": error}], json.dumps(body)


def test_a_shift_worked_from_the_console_alone(page: Page, eng: EngineEnv, db: Db) -> None:
    """Log in, take an inbound call (park, record, a 3-way), disposition it with a callback, pause with a code,
    make an outbound call, disposition it, log out — every step a click or a key, no Agent API call."""
    log_in(page)
    go_ready(page, eng)
    take_inbound_call(page, eng)  # a caller rings the in-group (the switch, not the API)
    page.get_by_role("button", name="Park customer", exact=True).click()
    expect(page.locator("#agent-phase")).to_have_text("On hold")
    page.get_by_role("button", name="Grab customer").click()
    expect(page.locator("#agent-phase")).to_have_text("Connected")
    page.get_by_role("button", name="Start recording").click()
    expect(page.locator("#ind-rec")).to_be_visible()
    page.get_by_role("button", name="Transfer…").click()
    page.get_by_label("Transfer number").fill("3125550000")
    page.get_by_role("button", name="Dial with customer (3-way)").click()
    expect(page.locator("#ind-xfer")).to_have_text("Transfer line 3125550000: dialing")
    eng.advance(3)
    expect(page.locator("#agent-phase")).to_have_text("3-way")
    page.get_by_role("button", name="Hang up transfer line").click()
    expect(page.locator("#agent-phase")).to_have_text("Connected")
    page.get_by_role("button", name="Stop recording").click()
    expect(page.locator("#ind-rec")).to_be_hidden()
    page.get_by_role("button", name="Hang up", exact=True).click()
    expect(page.locator("#dispo-dialog")).to_be_visible()
    page.keyboard.press(page.locator("#status-CALLBK").get_attribute("data-key") or "")
    page.get_by_label("Callback time").fill("2026-01-16T09:00")
    page.get_by_role("button", name="Submit disposition").click()
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")
    expect(page.locator("#callbacks-count")).to_have_text("(1)")

    page.get_by_label("Pause code").select_option("BREAK")
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(page.locator("#call-state")).to_have_text("Paused — BREAK (Break)")
    page.get_by_label("Number to dial").fill("3125551002")
    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.locator("#agent-phase")).to_have_text("Dialing")
    eng.advance(3)
    expect(page.locator("#agent-phase")).to_have_text("Connected")
    expect(page.locator("#call-direction")).to_have_text("Outbound to")
    page.get_by_role("button", name="Hang up", exact=True).click()
    expect(page.locator("#dispo-dialog")).to_be_visible()
    page.keyboard.press(page.locator("#status-SALE").get_attribute("data-key") or "")
    page.keyboard.press("Enter")
    expect(page.locator("#dispo-dialog")).to_be_hidden()
    expect(page.locator("#agent-phase")).to_have_text("Paused")
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-error")).to_have_text("You are logged out.")

    assert db.count("vicidial_live_agents", user="1000") == 0
    assert db.row("vicidial_list", lead_id=12345)["status"] == "CBHOLD"  # held for its scheduled callback
    assert db.row("vicidial_callbacks", lead_id=12345)["lead_status"] == "CALLBK"
    assert db.row("vicidial_list", lead_id=12346)["status"] == "SALE"
    assert db.count("vicidial_callbacks", lead_id=12345) == 1
    assert db.count("park_log", lead_id=12345) == 1
    assert db.count("recording_log", lead_id=12345) == 1
    assert db.count("vicidial_agent_log", user="1000", sub_status="BREAK") >= 1
    assert db.count("vicidial_api_log") == 0  # the Agent API was not used


POST_LEAD = """(fields) => fetch('/console/api/lead', {method: 'POST', headers: {'Content-Type': 'application/json',
    'X-CSRF-Token': window.openagc.csrf}, body: JSON.stringify({fields: fields})})
    .then(r => r.json().then(b => [r.status, b]))"""
WRITTEN_BY_A_SAVE = ("vicidial_api_log", "vicidial_webservers", "vicidial_urls", "openagc_commands")


def _campaign_policy(db: Db, custdata: str, custphone: str) -> None:
    assert db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, disable_alter_custdata=custdata,
                     disable_alter_custphone=custphone) == 1


def test_the_campaigns_lead_edit_policy_refuses_a_save_and_writes_nothing(page: Page, eng: EngineEnv,
                                                                          db: Db) -> None:
    """disable_alter_custdata Y refuses every field, disable_alter_custphone Y or HIDE the phone number (a real
    request with the agent's session); the lead, the agent's row and every table a save writes stay as they were."""
    assert db.row("vicidial_campaigns", campaign_id="TESTCAMP")["disable_alter_custphone"] == "Y"  # upstream's default
    log_in(page)
    go_ready(page, eng)
    take_inbound_call(page, eng)
    refusals = [
        ("Y", "N", {"first_name": "Jana"},
         "campaign TESTCAMP does not let the agent change the lead (disable_alter_custdata=Y)"),
        ("Y", "Y", {"comments": "x"},
         "campaign TESTCAMP does not let the agent change the lead (disable_alter_custdata=Y)"),
        ("N", "Y", {"first_name": "Jana", "phone_number": "3125559999"},
         "campaign TESTCAMP does not let the agent change phone_number (disable_alter_custphone=Y)"),
        ("N", "HIDE", {"phone_number": "3125559999"},
         "campaign TESTCAMP does not let the agent change phone_number (disable_alter_custphone=HIDE)"),
    ]
    for custdata, custphone, fields, error in refusals:
        _campaign_policy(db, custdata, custphone)
        lead, agent = db.row("vicidial_list", lead_id=12345), db.row("vicidial_live_agents", user="1000")
        counts = {table: db.count(table) for table in WRITTEN_BY_A_SAVE}
        assert page.evaluate(POST_LEAD, fields) == [403, {"error": error}], (custdata, custphone)
        assert db.row("vicidial_list", lead_id=12345) == lead
        assert db.row("vicidial_live_agents", user="1000") == agent
        assert {table: db.count(table) for table in WRITTEN_BY_A_SAVE} == counts
    assert db.count("vicidial_api_log") == 0

    _campaign_policy(db, "N", "HIDE")  # the other fields may still be changed
    status, answer = page.evaluate(POST_LEAD, {"first_name": "Jana"})
    assert (status, answer["ok"]) == (200, True)
    _campaign_policy(db, "N", "N")  # and the phone number once the campaign allows it
    status, answer = page.evaluate(POST_LEAD, {"phone_number": "3125559999"})
    assert (status, answer["ok"]) == (200, True)
    lead = db.row("vicidial_list", lead_id=12345)
    assert (lead["first_name"], lead["phone_number"]) == ("Jana", "3125559999")
    assert db.count("vicidial_api_log", function="update_fields", result="SUCCESS") == 2


def test_fields_the_campaign_locks_are_read_only_and_a_hidden_number_is_not_shown(page: Page, eng: EngineEnv,
                                                                                  db: Db) -> None:
    _campaign_policy(db, "N", "HIDE")
    log_in(page)
    page.wait_for_function("() => window.openagc.context !== null")
    assert page.evaluate("window.openagc.context.campaign.disable_alter_custphone") == "HIDE"
    go_ready(page, eng)
    take_inbound_call(page, eng)
    expect(page.locator("#call-number")).to_have_text("XXXXXXXXXX")  # as upstream's status line shows it
    expect(page.get_by_label("First name")).to_have_value("Jane")
    expect(page.get_by_label("Phone", exact=True)).to_be_hidden()
    expect(page.locator("#script-text")).to_contain_text("at XXXXXXXXXX")
    expect(page.locator("#script-text")).not_to_contain_text("3125551001")
    expect(page.get_by_label("First name")).to_be_editable()
    expect(page.get_by_role("button", name="Save lead")).to_be_visible()

    _campaign_policy(db, "Y", "Y")
    page.reload()
    expect(page.locator("#agent-phase")).to_have_text("Connected")
    expect(page.locator("#call-number")).to_have_text("3125551001")
    expect(page.locator("#lead-locked")).to_have_text("This campaign does not let agents change the lead.")
    expect(page.get_by_role("button", name="Save lead")).to_be_hidden()
    phone = page.get_by_label("Phone", exact=True)
    expect(phone).to_be_visible()
    expect(phone).to_have_value("3125551001")
    expect(phone).not_to_be_editable()
    for label in ("First name", "Last name", "Email", "City", "Comments"):
        expect(page.get_by_label(label, exact=True)).not_to_be_editable()
    page.get_by_role("button", name="All fields").click()
    expect(page.get_by_label("Gender")).to_be_disabled()
    expect(page.get_by_label("Dial code")).not_to_be_editable()
