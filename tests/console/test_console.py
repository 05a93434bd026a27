"""The agent console in headless Chromium: log in, take a simulated call, and watch Agent API calls arrive.

Every assertion on the page is one of Playwright's auto-waiting `expect` assertions: the test calls the
API and the page must show the change by itself (pushed through `/console/api/events`), never after a reload.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from openagc.engine.http import LOGIN_REFUSED
from tests.console.conftest import NARROW
from tests.engine.conftest import EngineEnv, wait_for
from tests.support import Db

# --- helpers ------------------------------------------------------------------------------------------------

def fill_login(page: Page, *, user: str = "1000", password: str = "1234", campaign: str = "TESTCAMP",
               ingroups: str = "") -> None:
    """Fill the login form in as an agent types it (phone 1000-style login with the demo phone password)."""
    page.get_by_label("Phone login").fill(user)
    page.get_by_label("Phone password").fill("test")
    page.get_by_label("User", exact=True).fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_label("Campaign").fill(campaign)
    if ingroups:
        page.get_by_label("In-groups").fill(ingroups)


def log_in(page: Page, *, user: str = "1000", campaign: str = "TESTCAMP", ingroups: str = "") -> None:
    page.goto("/console/")
    expect(page.locator("#login-view")).to_be_visible()
    fill_login(page, user=user, campaign=campaign, ingroups=ingroups)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.locator("#conn-status")).to_have_attribute("data-conn", "live")
    expect(page.locator("#agent-phase")).to_have_text("Paused")


def go_ready(page: Page, eng: EngineEnv) -> None:
    eng.advance(1)  # the agent's phone answers into the conference
    page.get_by_role("button", name="Ready").click()
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")


def take_inbound_call(page: Page, eng: EngineEnv, number: str = "3125551001") -> None:
    eng.inbound(number, "TEST_IN")
    eng.settle()
    expect(page.locator("#agent-phase")).to_have_text("Connected")


def api_ok(eng: EngineEnv, function: str, **params: Any) -> str:
    body = eng.api(function, **params)
    assert body.startswith("SUCCESS"), body
    return body


def shot(page: Page, where: Path | None, name: str) -> None:
    if where is not None:
        page.screenshot(path=str(where / f"{name}.png"))


# --- tests --------------------------------------------------------------------------------------------------

def test_login_ready_and_logout(page: Page, eng: EngineEnv, db: Db) -> None:
    log_in(page)
    expect(page.locator("#agent-user")).to_contain_text("1000")
    expect(page.locator("#agent-campaign")).to_have_text("TESTCAMP")
    expect(page.locator("#ingroups-current")).to_have_text("TEST_IN, SALESLINE")
    go_ready(page, eng)
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("You are logged out.")
    assert db.count("vicidial_live_agents", user="1000") == 0


def test_login_refused_shows_the_reason(page: Page, eng: EngineEnv) -> None:
    page.goto("/console/")
    fill_login(page, password="wrong")
    page.get_by_label("Password", exact=True).press("Enter")  # keyboard submit
    expect(page.locator("#login-error")).to_have_text(LOGIN_REFUSED)  # one answer for every credential failure
    expect(page.locator("#app-view")).to_be_hidden()


def test_a_late_first_state_check_leaves_a_login_being_typed_alone(page: Page, eng: EngineEnv) -> None:
    """The page checks for a session when it opens; when that answer comes after the agent began typing (a busy
    server), the agent keeps the focus, the text goes where it was typed, and an answer shown stays shown."""
    held: list[Any] = []
    page.route("**/agent/state", lambda route: held.append(route))  # the first check waits for the test
    page.goto("/console/")
    fill_login(page, password="wrong")
    page.get_by_label("Password", exact=True).press("Enter")
    expect(page.locator("#login-error")).to_have_text(LOGIN_REFUSED)
    expect(page.locator("body")).to_have_attribute("data-session", "checking")
    assert len(held) == 1
    held[0].continue_()  # answers 401: no session
    expect(page.locator("body")).to_have_attribute("data-session", "checked")
    expect(page.locator("#login-error")).to_have_text(LOGIN_REFUSED)
    expect(page.get_by_label("Password", exact=True)).to_be_focused()
    expect(page.get_by_label("Phone login")).to_have_value("1000")


def test_a_reload_keeps_the_session(page: Page, eng: EngineEnv) -> None:
    log_in(page)
    page.reload()
    expect(page.locator("#app-view")).to_be_visible()
    expect(page.locator("#agent-phase")).to_have_text("Paused")
    expect(page.locator("#conn-status")).to_have_attribute("data-conn", "live")


def test_agent_api_calls_appear_on_the_page(page: Page, eng: EngineEnv, db: Db) -> None:
    """Inbound call with its lead; update_fields, send_notification (confetti), external_pause,
    external_hangup and external_status each show up without a reload."""
    log_in(page)
    go_ready(page, eng)
    take_inbound_call(page, eng)
    expect(page.locator("#lead-id")).to_have_text("#12345")
    expect(page.locator("#lead-first_name")).to_have_value("Jane")
    expect(page.locator("#lead-phone_number")).to_have_value("3125551001")
    expect(page.locator("#script-text")).to_contain_text("Hello Jane")

    api_ok(eng, "update_fields", agent_user="1000", first_name="Janet", city="Orlando")
    expect(page.locator("#lead-first_name")).to_have_value("Janet")
    expect(page.locator("#lead-city")).to_have_value("Orlando")
    expect(page.locator("#script-text")).to_contain_text("Hello Janet")  # the script follows the lead

    api_ok(eng, "send_notification", recipient="1000", recipient_type="USER", notification_text="Great job!",
           text_size="24", text_font="Georgia", text_weight="bold", text_color="FF0000", show_confetti="Y",
           duration="3", maxParticleCount="400", particleSpeed="80")
    text = page.locator("#notification-text")
    expect(text).to_have_text("Great job!")
    expect(text).to_have_css("font-size", "24px")
    expect(text).to_have_css("color", "rgb(255, 0, 0)")
    expect(text).to_have_css("font-weight", "700")
    expect(text).to_have_css("font-family", "Georgia")
    confetti = page.locator("#confetti")
    expect(confetti).to_have_attribute("data-running", "1")
    expect(confetti).to_have_attribute("data-particles", "400")
    expect(confetti).to_have_attribute("data-duration", "3")
    expect(confetti).to_have_attribute("data-speed", "80")
    expect(confetti).to_have_attribute("data-live", re.compile(r"^[1-9]\d*$"))  # particles are drawn
    page.get_by_role("button", name="Close notification").click()
    expect(page.locator("#notification")).to_be_hidden()
    expect(confetti).to_be_hidden()
    expect(confetti).to_have_attribute("data-running", "0")

    api_ok(eng, "external_pause", agent_user="1000", value="PAUSE")
    expect(page.locator("#ind-pending")).to_have_text("pause after this call")

    api_ok(eng, "external_hangup", agent_user="1000", value="1")
    expect(page.locator("#agent-phase")).to_have_text("After-call work")
    dialog = page.locator("#dispo-dialog")
    expect(dialog).to_be_visible()
    expect(page.get_by_label("SALE — Sale Made")).to_be_visible()
    expect(page.get_by_label("CAMPCB — Campaign Callback")).to_be_visible()  # the campaign's own statuses

    api_ok(eng, "external_status", agent_user="1000", value="SALE")
    expect(dialog).to_be_hidden()
    expect(page.locator("#agent-phase")).to_have_text("Paused")
    expect(page.locator("#lead-empty")).to_be_visible()
    expect(page.locator("#activity-log")).to_contain_text("Dispositioned SALE")
    expect(page.locator("#activity-log li", has_text="Dispositioned SALE")).to_have_count(1)
    assert db.row("vicidial_list", lead_id=12345)["status"] == "SALE"


def test_external_pause_while_idle_and_resume(page: Page, eng: EngineEnv) -> None:
    log_in(page)
    go_ready(page, eng)
    api_ok(eng, "external_pause", agent_user="1000", value="PAUSE")
    expect(page.locator("#agent-phase")).to_have_text("Paused")
    eng.services.clock.advance(1)
    api_ok(eng, "external_pause", agent_user="1000", value="RESUME")
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")


def test_pause_code_hangup_button_and_callback_dispo(page: Page, eng: EngineEnv, db: Db) -> None:
    log_in(page)
    page.get_by_label("Pause code").select_option("BREAK")
    expect(page.locator("#call-state")).to_have_text("Paused — BREAK (Break)")
    go_ready(page, eng)
    take_inbound_call(page, eng)
    page.get_by_role("button", name="Hang up", exact=True).click()
    expect(page.locator("#dispo-dialog")).to_be_visible()
    page.get_by_role("radio", name="CALLBK — Call Back").check()
    expect(page.get_by_label("Callback time")).to_be_visible()
    page.get_by_label("Callback time").fill("2026-01-20T14:30")
    page.get_by_label("Callback for").select_option("USERONLY")
    page.get_by_label("Callback comments").fill("after lunch")
    page.get_by_role("button", name="Submit disposition").click()
    expect(page.locator("#dispo-dialog")).to_be_hidden()
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")
    cb = wait_for(lambda: db.row("vicidial_callbacks", lead_id=12345))
    assert (cb["recipient"], cb["user"], cb["comments"], str(cb["callback_time"])) == (
        "USERONLY", "1000", "after lunch", "2026-01-20 14:30:00")
    # refresh_panel (callbacksreload) reloads the callbacks panel
    db.update("vicidial_callbacks", {"lead_id": 12345}, status="ACTIVE")
    api_ok(eng, "refresh_panel", agent_user="1000", callbacksreload="1")
    expect(page.locator("#callbacks-list")).to_contain_text("2026-01-20 14:30:00")
    expect(page.locator("#callbacks-list")).to_contain_text("after lunch")


def test_refresh_panel_script_and_timer_message(page: Page, eng: EngineEnv, db: Db) -> None:
    log_in(page)
    go_ready(page, eng)
    take_inbound_call(page, eng)
    expect(page.locator("#script-text")).to_contain_text("Hello Jane")
    db.update("vicidial_list", {"lead_id": 12345}, first_name="Janine")  # changed behind the screen's back
    api_ok(eng, "refresh_panel", agent_user="1000", scriptreload="1")
    expect(page.locator("#script-text")).to_contain_text("Hello Janine")
    api_ok(eng, "set_timer_action", agent_user="1000", value="MESSAGE_ONLY", notes="Offer the upgrade",
           rank="1")
    expect(page.locator("#activity-log")).to_contain_text("Timer set: MESSAGE_ONLY at 1 s")
    eng.services.clock.advance(2)  # one call second later the engine's sweep fires it
    expect(page.locator("#timer-message")).to_have_text("Offer the upgrade")


def test_manual_dial_from_the_console(page: Page, eng: EngineEnv) -> None:
    log_in(page)
    eng.advance(1)
    page.get_by_label("Number to dial").fill("3125551002")
    page.get_by_role("button", name="Dial", exact=True).click()
    expect(page.locator("#agent-phase")).to_have_text("Dialing")
    expect(page.locator("#call-state")).to_have_text("Dialing 3125551002 — ringing")
    expect(page.locator("#call-direction")).to_have_text("Outbound to")
    expect(page.locator("#call-group")).to_have_text("· campaign TESTCAMP")
    expect(page.locator("#talk-box")).to_be_hidden()  # no talk time before the customer answers
    expect(page.locator("#lead-first_name")).to_have_value("John")
    eng.advance(3)  # the customer answers
    expect(page.locator("#agent-phase")).to_have_text("Connected")
    expect(page.locator("#talk-box")).to_be_visible()


def _sent(page: Page, click: Any) -> dict[str, Any]:
    with page.expect_response(lambda r: "/console/api/" in r.url and r.request.method == "POST") as info:
        click()
    response = info.value
    assert response.status == 200, response.text()
    return json.loads(response.text())["sent"]


def test_call_controls_write_the_agent_api_commands(page: Page, eng: EngineEnv, db: Db) -> None:
    """Transfer, park, recording and DTMF write the same command columns, in the same format, as api.php.

    Each control is enabled only when it can act, so the test waits for the state a control needs before it
    clicks it; the controls that end the agent's call (the transfers) come last, each on a call of its own.
    """
    log_in(page)
    go_ready(page, eng)
    take_inbound_call(page, eng)
    page.get_by_role("button", name="Keypad").click()
    assert _sent(page, lambda: page.get_by_role("button", name="Send DTMF #").click()) == {
        "external_dtmf": "P"}
    assert _sent(page, lambda: page.get_by_role("button", name="Send DTMF 7").click()) == {
        "external_dtmf": "7"}
    expect(page.locator("#action-message")).to_have_text("DTMF 7 sent")
    assert _sent(page, lambda: page.get_by_role("button", name="Park customer", exact=True).click()) == {
        "external_park": "PARK_CUSTOMER"}
    expect(page.locator("#ind-park")).to_be_visible()
    assert _sent(page, lambda: page.get_by_role("button", name="Grab customer").click()) == {
        "external_park": "GRAB_CUSTOMER"}
    expect(page.locator("#ind-park")).to_be_hidden()
    assert _sent(page, lambda: page.get_by_role("button", name="Start recording").click()) == {
        "external_recording": "START"}
    expect(page.locator("#ind-rec")).to_be_visible()
    # what the API writes for the same request is the same value
    api_ok(eng, "park_call", agent_user="1000", value="PARK_CUSTOMER")
    expect(page.locator("#ind-park")).to_be_visible()
    api_ok(eng, "park_call", agent_user="1000", value="GRAB_CUSTOMER")
    expect(page.locator("#ind-park")).to_be_hidden()
    page.get_by_role("button", name="Transfer…").click()
    expect(page.locator("#xfer-panel")).to_be_visible()
    page.get_by_label("Transfer number").fill("3125550000")
    sent = _sent(page, lambda: page.get_by_role("button", name="Blind transfer").click())
    fields = sent["external_transferconf"].split("---")
    assert fields[:7] == ["BLIND_TRANSFER", "", "3125550000", "NO", "", "", ""] and len(fields) == 9
    assert re.fullmatch(r"\d{10}\.\d{3}\d+", fields[7])
    # the call left with the transfer: disposition it, take the next one, and send it to an in-group
    expect(page.locator("#agent-phase")).to_have_text("After-call work")
    expect(page.locator("#xfer-panel")).to_be_hidden()  # no call, no transfer panel
    api_ok(eng, "external_status", agent_user="1000", value="A")
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")
    take_inbound_call(page, eng)
    page.get_by_role("button", name="Transfer…").click()
    expect(page.locator("#xfer-panel")).to_be_visible()
    page.get_by_label("Transfer in-group").select_option("TEST_IN2")
    sent = _sent(page, lambda: page.get_by_role("button", name="Local closer").click())
    assert sent["external_transferconf"].split("---")[:4] == ["LOCAL_CLOSER", "TEST_IN2", "3125550000", ""]


def test_ingroup_selection_goes_through_the_engine(page: Page, eng: EngineEnv, db: Db) -> None:
    log_in(page)
    expect(page.locator("#ingroups-current")).to_have_text("TEST_IN, SALESLINE")
    page.locator("#ingroups-card summary").click()  # the panel opens on demand
    page.get_by_role("checkbox", name="SALESLINE — Sales Line").uncheck()
    page.get_by_role("checkbox", name="TEST_IN2 — Test Inbound 2").check()
    # a state pushed while the agent is still choosing leaves the unsaved ticks alone
    pushes = page.evaluate("window.openagc.pushes")
    go_ready(page, eng)
    expect(page.get_by_role("checkbox", name="SALESLINE — Sales Line")).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="TEST_IN2 — Test Inbound 2")).to_be_checked()
    assert page.evaluate("window.openagc.pushes") > pushes
    page.get_by_role("button", name="Apply in-groups").click()
    expect(page.locator("#ingroups-current")).to_have_text("TEST_IN, TEST_IN2")
    assert db.row("vicidial_live_agents", user="1000")["closer_campaigns"] == " TEST_IN TEST_IN2 -"
    groups = {r["group_id"] for r in db.rows("vicidial_live_inbound_agents", user="1000")}
    assert groups == {"TEST_IN", "TEST_IN2"}
    # and the Agent API's change_ingroups shows on the page the same way
    api_ok(eng, "change_ingroups", agent_user="1000", value="CHANGE", blended="NO",
           ingroup_choices=" SALESLINE -")
    expect(page.locator("#ingroups-current")).to_have_text("SALESLINE")


def test_reconnects_after_a_dropped_connection_and_shows_the_true_state(page: Page, eng: EngineEnv) -> None:
    log_in(page)
    go_ready(page, eng)
    page.route("**/console/api/events", lambda route: route.abort())  # the way back stays closed for a while

    async def drop_connections() -> None:
        for conn in list(eng.server.server.server_state.connections):
            conn.transport.close()

    eng.run(drop_connections())  # the server side of every open connection goes away
    expect(page.locator("#conn-status")).to_have_attribute("data-conn", "reconnecting")
    api_ok(eng, "external_pause", agent_user="1000", value="PAUSE")  # happens while the page is cut off
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")
    page.unroute("**/console/api/events")
    expect(page.locator("#conn-status")).to_have_attribute("data-conn", "live")
    expect(page.locator("#agent-phase")).to_have_text("Paused")
    eng.services.clock.advance(1)
    api_ok(eng, "external_pause", agent_user="1000", value="RESUME")  # and the new stream carries on
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")


def test_api_logout_returns_to_the_login_screen(page: Page, eng: EngineEnv) -> None:
    log_in(page)
    api_ok(eng, "logout", agent_user="1000", value="LOGOUT")
    expect(page.locator("#login-view")).to_be_visible()
    expect(page.locator("#login-error")).to_have_text("You are logged out.")


def _unlabelled_controls(page: Page) -> list[str]:
    """Every visible input, select and button without an accessible name."""
    return page.evaluate("""() => Array.from(document.querySelectorAll('input,select,button,textarea'))
        .filter(el => el.offsetParent !== null || el.closest('dialog[open]'))
        .filter(el => {
            if (el.getAttribute('aria-label') || el.getAttribute('aria-labelledby')) return false;
            if (el.tagName === 'BUTTON' && el.textContent.trim()) return false;
            if (el.labels && el.labels.length) return false;
            return true;
        }).map(el => el.outerHTML)""")


def test_every_control_has_a_label_and_is_keyboard_reachable(page: Page, eng: EngineEnv) -> None:
    page.goto("/console/")
    assert _unlabelled_controls(page) == []
    expect(page.get_by_label("Phone login")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_label("Phone password")).to_be_focused()
    log_in(page)
    assert _unlabelled_controls(page) == []
    tabbable = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#app-view button, #app-view input, #app-view select'))
        .filter(el => el.offsetParent !== null && el.tabIndex < 0).length""")
    assert tabbable == 0
    page.locator("#btn-ready").focus()
    eng.advance(1)
    page.keyboard.press("Enter")
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")


def test_narrow_screen(browser: Any, eng: EngineEnv) -> None:
    context = browser.new_context(viewport=NARROW, base_url=eng.server.base_url, is_mobile=True)
    try:
        page = context.new_page()
        log_in(page)
        go_ready(page, eng)
        take_inbound_call(page, eng)
        expect(page.locator("#lead-first_name")).to_have_value("Jane")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
        sticking_out = page.evaluate("""() => Array.from(document.querySelectorAll('.card *'))
            .filter(el => el.offsetParent !== null)
            .filter(el => el.getBoundingClientRect().right > el.closest('.card').getBoundingClientRect().right + 1)
            .map(el => el.id || el.tagName)""")
        assert sticking_out == []
        page.get_by_role("button", name="Hang up", exact=True).click()
        expect(page.locator("#dispo-dialog")).to_be_visible()
        box = page.locator("#dispo-dialog").bounding_box()
        assert box is not None and box["width"] <= NARROW["width"]
    finally:
        context.close()


def test_main_screens(page: Page, eng: EngineEnv, screenshots: Path | None) -> None:
    """The walk behind docs/screenshots (written when OPENAGC_SCREENSHOTS is set)."""
    page.goto("/console/")
    expect(page.locator("#login-view")).to_be_visible()
    page.get_by_label("Phone login").fill("1000")
    page.get_by_label("User", exact=True).fill("1000")
    page.get_by_label("Campaign").fill("TESTCAMP")
    shot(page, screenshots, "login")
    log_in(page)
    go_ready(page, eng)
    shot(page, screenshots, "ready")
    take_inbound_call(page, eng)
    api_ok(eng, "update_fields", agent_user="1000", email="jane.doe@example.com", city="Orlando")
    expect(page.locator("#lead-email")).to_have_value("jane.doe@example.com")
    api_ok(eng, "set_timer_action", agent_user="1000", value="MESSAGE_ONLY", notes="Offer the upgrade",
           rank="1")
    expect(page.locator("#activity-log")).to_contain_text("Timer set: MESSAGE_ONLY at 1 s")
    eng.services.clock.advance(2)  # one call second later the engine's sweep fires it
    expect(page.locator("#timer-message")).to_be_visible()
    page.get_by_role("button", name="Start recording").click()
    expect(page.locator("#ind-rec")).to_be_visible()
    page.get_by_label("Comments", exact=True).fill("Wants the yearly plan")  # typed, not saved yet
    page.evaluate("document.querySelectorAll('.fields .changed')"
                  ".forEach(e => e.classList.remove('changed'))")
    shot(page, screenshots, "in-call")
    page.get_by_role("button", name="Transfer…").click()
    page.get_by_label("Transfer number").fill("3125550000")
    page.get_by_role("button", name="Dial with customer (3-way)").click()
    expect(page.locator("#ind-xfer")).to_have_text("Transfer line 3125550000: dialing")
    eng.advance(3)  # the third party answers
    expect(page.locator("#agent-phase")).to_have_text("3-way")
    shot(page, screenshots, "transfer")
    page.get_by_role("button", name="Hang up transfer line").click()
    expect(page.locator("#agent-phase")).to_have_text("Connected")
    api_ok(eng, "send_notification", recipient="1000", recipient_type="USER",
           notification_text="Team goal reached - thank you!", text_size="22", text_color="1F5FBF",
           show_confetti="Y", duration="4", maxParticleCount="600", particleSpeed="40")
    expect(page.locator("#confetti")).to_have_attribute("data-live", re.compile(r"^[1-9]\d{2,}$"))
    shot(page, screenshots, "notification")
    page.get_by_role("button", name="Close notification").click()
    page.get_by_role("button", name="Hang up", exact=True).click()
    expect(page.locator("#dispo-dialog")).to_be_visible()
    page.get_by_role("radio", name="CALLBK — Call Back").check()
    page.get_by_label("Callback time").fill("2026-01-20T14:30")
    shot(page, screenshots, "disposition")
    page.get_by_role("button", name="Submit disposition").click()
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")
    page.set_viewport_size(NARROW)
    take_inbound_call(page, eng, "3125551003")
    expect(page.locator("#callbacks-count")).to_have_text("(1)")
    shot(page, screenshots, "narrow")


def test_a_lost_phone_is_shown_and_called_back_from_the_page(page: Page, eng: EngineEnv, db: Db) -> None:
    log_in(page)
    eng.advance(1)  # the phone answers into the conference
    wait_for(lambda: eng.run(eng.engine.state("1000"))["phone"] == "connected", what="phone connected")
    expect(page.locator("#phone-lost")).to_be_hidden()
    (phone,) = [c for c in eng.switch.list_channels() if c.conference == "8600051"]
    eng.run(eng.switch.hangup(phone.name))  # the agent's phone hangs up
    eng.settle()
    expect(page.locator("#phone-lost")).to_be_visible()
    expect(page.locator("#phone-lost")).to_contain_text("Your phone is not connected")
    page.get_by_role("button", name="Call my phone").click()
    expect(page.locator("#action-message")).to_have_text("Calling your phone…")
    wait_for(lambda: eng.switch.list_channels(), what="the phone dialled again (the login originate replayed)")
    assert db.count("vicidial_manager", action="Originate") == 2  # the login's, and its replay
    eng.advance(1)
    expect(page.locator("#phone-lost")).to_be_hidden()
    assert [c.conference for c in eng.switch.list_channels()] == ["8600051"]
