"""Layout and accessibility in Chromium: the in-call view fits 1280×800, a phone gets a one-row header, notifications
never cover a control, every button's text keeps WCAG AA contrast when hovered and focused, a whole call can be
worked from the keyboard, and axe-core (fetched by scripts/test-prereqs.sh) finds no serious or critical violation
on any screen."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import DESKTOP
from tests.console.test_console import api_ok, go_ready, log_in, take_inbound_call
from tests.engine.conftest import EngineEnv

AXE_VERSION = "4.10.3"  # scripts/test-prereqs.sh fetches the same
AXE = Path(__file__).resolve().parents[2] / "var" / "cache" / f"axe-core-{AXE_VERSION}" / "axe.min.js"

# The contrast of an element's text on what is painted behind it (WCAG 2 relative luminance; alpha blended).
CONTRAST_JS = """(el, what) => {
  const rgba = s => { const m = s.match(/rgba?\\(([^)]+)\\)/); if (!m) return [0, 0, 0, 0];
    const p = m[1].split(',').map(parseFloat); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const blend = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const behind = node => { const layers = [];
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor); if (c[3] > 0) layers.push(c); if (c[3] === 1) break; }
    let out = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) out = blend(layers[i], out);
    return out; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const ratio = (a, b) => { const x = lum(a), y = lum(b); return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  const style = getComputedStyle(el);
  const around = behind(el.parentElement);
  if (what === 'outline') return ratio(blend(rgba(style.outlineColor), around), around);
  const bg = behind(el); return ratio(blend(rgba(style.color), bg), bg);
}"""
VISIBLE_BUTTONS = """(scope) => Array.from(document.querySelectorAll(scope)).filter(b => b.checkVisibility()
    && !b.disabled).map(b => b.id || b.dataset.xfer || b.dataset.park || b.dataset.record || b.dataset.dtmf
    || b.textContent.trim())"""


def _button(page: Page, key: str) -> Any:
    for attr in ("id", "data-xfer", "data-park", "data-record", "data-dtmf"):
        found = page.locator(f'button[{attr}="{key}"]')
        if found.count() == 1:
            return found
    return page.get_by_role("button", name=key, exact=True)


def _contrast_everywhere(page: Page, scope: str = "button") -> list[str]:
    """Every enabled visible button, at rest, hovered and focused: text 4.5:1, focus outline 3:1."""
    bad = []
    for key in page.evaluate(VISIBLE_BUTTONS, scope):
        button = _button(page, key)
        rest = button.evaluate(CONTRAST_JS, "text")
        button.hover()
        hover = button.evaluate(CONTRAST_JS, "text")
        button.focus()
        page.keyboard.press("Shift")  # a key press makes the focus visible (:focus-visible)
        focus, ring = button.evaluate(CONTRAST_JS, "text"), button.evaluate(CONTRAST_JS, "outline")
        for state, value, need in (("rest", rest, 4.5), ("hover", hover, 4.5), ("focus", focus, 4.5),
                                   ("focus ring", ring, 3.0)):
            if value < need:
                bad.append(f"{key} {state}: {value:.2f}")
    page.mouse.move(0, 0)
    return bad


def _axe(page: Page) -> list[str]:
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): run scripts/test-prereqs.sh")
    page.evaluate(AXE.read_text())
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}" for v in result["violations"]
            if v["impact"] in ("serious", "critical")]


def _in_call(page: Page, eng: EngineEnv) -> None:
    log_in(page)
    go_ready(page, eng)
    take_inbound_call(page, eng)


def test_the_in_call_view_fits_1280x800_and_notifications_cover_nothing(page: Page, eng: EngineEnv) -> None:
    _in_call(page, eng)
    api_ok(eng, "send_notification", recipient="1000", recipient_type="USER",
           notification_text="A long message from the supervisor that runs across most of the screen width",
           text_size="22")
    expect(page.locator("#notification")).to_be_visible()
    page.get_by_role("button", name="Transfer…").click()
    expect(page.locator("#xfer-panel")).to_be_visible()
    sizes = page.evaluate("() => [document.documentElement.scrollHeight, document.documentElement.scrollWidth]")
    assert sizes[0] <= DESKTOP["height"] and sizes[1] <= DESKTOP["width"], f"the page scrolls: {sizes}"
    outside = page.evaluate("""() => Array.from(document.querySelectorAll('.callbar button, .controls button,'
        + ' #xfer-panel button, #btn-lead-save')).filter(b => b.offsetParent !== null).filter(b => {
          const r = b.getBoundingClientRect(); return r.bottom > innerHeight || r.right > innerWidth || r.top < 0; })
        .map(b => b.textContent.trim())""")
    assert outside == []
    covered = page.evaluate("""() => { const n = document.getElementById('notification').getBoundingClientRect();
        return Array.from(document.querySelectorAll('button, input, select, textarea'))
          .filter(el => el.offsetParent !== null && !el.closest('#notification')).filter(el => {
            const r = el.getBoundingClientRect();
            return r.left < n.right && r.right > n.left && r.top < n.bottom && r.bottom > n.top; })
          .map(el => el.id || el.textContent.trim()); }""")
    assert covered == []


def test_a_phone_gets_a_one_row_header_and_a_short_page(phone_page: Page, eng: EngineEnv) -> None:
    page = phone_page
    _in_call(page, eng)
    expect(page.locator("#lead-first_name")).to_have_value("Jane")
    tops = page.evaluate("""() => Array.from(document.querySelectorAll('.status-line > *'))
        .filter(el => el.checkVisibility()).map(el => [el.id, el.getBoundingClientRect().top,
        el.getBoundingClientRect().bottom])""")
    assert max(t[1] for t in tops) < min(t[2] for t in tops), f"the header wraps: {tops}"
    assert page.locator(".topbar").bounding_box()["height"] <= 56
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= 1700, f"the phone page is {height}px tall"  # 1,558 px at the time of writing (was 2,462)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    # the call comes first: the call strip and its controls are on the first screen
    box = page.get_by_role("button", name="Hang up", exact=True).bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844


def test_contrast_at_rest_hovered_and_focused(page: Page, eng: EngineEnv) -> None:
    page.goto("/console/")
    assert _contrast_everywhere(page) == []
    log_in(page)
    assert _contrast_everywhere(page) == []  # paused
    go_ready(page, eng)
    take_inbound_call(page, eng)
    page.get_by_role("button", name="Transfer…").click()
    page.get_by_role("button", name="Keypad").click()
    page.get_by_label("Transfer number").fill("3125550000")
    assert _contrast_everywhere(page) == []  # in a call, every control shown
    page.get_by_role("button", name="Hang up", exact=True).click()
    expect(page.locator("#dispo-dialog")).to_be_visible()
    assert _contrast_everywhere(page, "#dispo-dialog button") == []  # the disposition dialog (modal)


def test_a_call_worked_from_the_keyboard(page: Page, eng: EngineEnv, db: Any) -> None:
    log_in(page)  # the form is submitted by the keyboard in test_login_refused_shows_the_reason
    expect(page.get_by_role("button", name="Ready")).to_be_focused()
    eng.advance(1)
    page.keyboard.press("Enter")
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")
    take_inbound_call(page, eng)
    hangup = page.get_by_role("button", name="Hang up", exact=True)
    for _ in range(60):  # Tab forward to the Hang up button (every control is in the tab order)
        page.keyboard.press("Tab")
        if hangup.evaluate("el => el === document.activeElement"):
            break
    expect(hangup).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#dispo-dialog")).to_be_visible()
    key = page.locator("#status-SALE").get_attribute("data-key")
    page.keyboard.press(key or "")
    expect(page.get_by_role("radio", name="SALE — Sale Made")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#dispo-dialog")).to_be_hidden()
    expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")


def test_axe_finds_no_serious_violation_on_any_screen(page: Page, eng: EngineEnv, browser: Any) -> None:
    page.goto("/console/")
    expect(page.locator("#login-view")).to_be_visible()
    assert _axe(page) == [], "login"
    log_in(page)
    assert _axe(page) == [], "paused"
    go_ready(page, eng)
    take_inbound_call(page, eng)
    api_ok(eng, "send_notification", recipient="1000", recipient_type="USER", notification_text="Well done")
    expect(page.locator("#notification")).to_be_visible()
    page.get_by_role("button", name="Transfer…").click()
    page.get_by_role("button", name="Keypad").click()
    page.locator("#ingroups-card summary").click()
    page.get_by_role("button", name="All fields").click()
    assert _axe(page) == [], "in call, every panel open"
    page.get_by_role("button", name="Hang up", exact=True).click()
    page.get_by_role("radio", name="CALLBK — Call Back").check()
    expect(page.get_by_label("Callback time")).to_be_visible()
    assert _axe(page) == [], "disposition"
    page.set_viewport_size({"width": 390, "height": 844})
    assert _axe(page) == [], "phone"
