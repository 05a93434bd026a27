"""The browser origin in real Chromium: api.php cannot run script on the console's origin (H3), another origin
cannot drive the agent's session with its cookie (M3), and the console itself runs under its strict policy."""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import Page, expect

from tests.console.test_console import log_in
from tests.engine.conftest import EngineEnv
from tests.support import Db

PAYLOAD = "<img src=x onerror=\"document.title='pwned',fetch('/agent/logout',{method:'POST'})\">"  # no ';' (filtered)


def test_markup_reflected_by_api_php_does_not_run(page: Page, eng: EngineEnv, db: Db) -> None:
    """H3: a link to api.php that reflects markup (st_login_log's `vendor_id`) runs nothing as the agent."""
    log_in(page)
    query = urlencode({"source": "test", "user": "6666", "pass": "1234", "function": "st_login_log",
                       "value": "", "vendor_id": PAYLOAD})
    response = page.goto(f"/agc/api.php?{query}")
    assert response is not None and PAYLOAD in response.text()  # upstream's bytes, unchanged
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    page.wait_for_timeout(300)
    assert page.title() != "pwned"
    assert db.count("vicidial_live_agents", user="1000") == 1  # not logged out


def test_a_form_on_another_port_cannot_use_the_session(page: Page, eng: EngineEnv, db: Db) -> None:
    """M3: same-site, other origin: the cookie goes along, the request is refused (Origin check)."""
    log_in(page)
    target = eng.server.base_url
    evil = "http://127.0.0.1:9/"
    page.route(evil, lambda route: route.fulfill(content_type="text/html", body=(
        f'<form id="f" method="POST" action="{target}/console/api/dtmf">'
        '<input name="digits" value="666"></form><script>document.getElementById("f").submit()</script>')))
    with page.expect_response(f"{target}/console/api/dtmf") as info:
        page.goto(evil)
    assert info.value.status == 403
    assert db.row("vicidial_live_agents", user="1000")["external_dtmf"] == ""


def test_the_console_runs_under_its_policy(page: Page, eng: EngineEnv) -> None:
    """The strict CSP does not break the page: it logs in, acts (with its CSRF token) and shows events."""
    violations: list[str] = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto("/console/")
    assert response is not None
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    log_in(page)
    page.get_by_role("button", name="Ready").click()
    expect(page.locator("#agent-phase")).not_to_have_text("Paused")
    assert violations == []
