"""Push delay of the agent console: Agent API answer → the page shows the change (headless Chromium).

    .venv/bin/python bench/console_push.py --repeats 200

Starts the engine server on a fresh SQLite database (the test suite's server, `tests/support.py`, with a
virtual-time simulated switch), logs agent 1000 in through the console, puts an inbound call on the
screen, then repeats two scenarios N times each:

* `update_fields` — the lead's first_name changes (API → engine clears the flag → event → lead panel);
* `external_pause` — PAUSE then RESUME while idle (API → engine transition → state event → state badge).

The page records when the change lands in the DOM (a MutationObserver, `performance.timeOrigin + now()`),
the script records when the API's answer arrived and when the request was sent (wall clock, same
machine). Prints p50/p99/max in milliseconds for "answer → shown" and "request sent → shown". The push can
beat the answer (the wake-up is published at commit, before the answer is written), so "answer → shown"
can be negative. Not asserted anywhere: a measurement, to be read beside a baseline on the same machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.console.conftest import CHROMIUM, CHROMIUM_ARGS, DESKTOP  # noqa: E402
from tests.engine.conftest import EngineEnv  # noqa: E402
from tests.support import Backend  # noqa: E402

OBSERVE = """(spec) => {
  window.__seen = {};
  const check = () => {
    for (const [sel, text] of Object.entries(window.__want || {})) {
      const el = document.querySelector(sel);
      if (el && el.textContent === text && !window.__seen[sel + '=' + text]) {
        window.__seen[sel + '=' + text] = performance.timeOrigin + performance.now();
      }
    }
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def report(name: str, answer: list[float], sent: list[float]) -> None:
    print(
        f"{name:16} n={len(answer):4}  answer→shown p50 {statistics.median(answer):6.1f}  "
        f"p99 {percentile(answer, 99):6.1f}  max {max(answer):6.1f}   |  sent→shown p50 "
        f"{statistics.median(sent):6.1f}  p99 {percentile(sent, 99):6.1f}  max {max(sent):6.1f}  (ms)"
    )


def measure(page, selector: str, text: str, call) -> tuple[float, float]:
    page.evaluate(
        "([sel, text]) => { delete window.__seen[sel + '=' + text]; window.__want = {[sel]: text}; }", [selector, text]
    )
    sent = time.time() * 1000
    body = call()
    answered = time.time() * 1000
    assert body.startswith("SUCCESS"), body
    key = f"{selector}={text}"
    page.wait_for_function("(key) => window.__seen && window.__seen[key]", arg=key, polling=5)
    shown = page.evaluate("(key) => window.__seen[key]", key)
    return shown - answered, shown - sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=100)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        backend = Backend("sqlite", str(Path(tmp) / "openagc.db"))
        backend.reset()
        eng = EngineEnv(backend)
        eng.fresh()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
                page = browser.new_context(viewport=DESKTOP, base_url=eng.server.base_url).new_page()
                page.goto("/console/")
                page.fill("#login-phone", "1000")
                page.fill("#login-phone-pass", "test")
                page.fill("#login-user", "1000")
                page.fill("#login-pass", "1234")
                page.fill("#login-campaign", "TESTCAMP")
                page.click("#btn-login")
                expect(page.locator("#conn-status")).to_have_attribute("data-conn", "live")
                eng.advance(1)
                page.click("#btn-ready")
                expect(page.locator("#agent-phase")).to_have_text("Ready (inbound)")
                page.evaluate(OBSERVE)

                pause_answer, pause_sent = [], []
                for _ in range(args.repeats):
                    eng.services.clock.advance(1)
                    a, s = measure(
                        page,
                        "#agent-phase",
                        "Paused",
                        lambda: eng.api("external_pause", agent_user="1000", value="PAUSE"),
                    )
                    pause_answer.append(a)
                    pause_sent.append(s)
                    eng.services.clock.advance(1)
                    a, s = measure(
                        page,
                        "#agent-phase",
                        "Ready (inbound)",
                        lambda: eng.api("external_pause", agent_user="1000", value="RESUME"),
                    )
                    pause_answer.append(a)
                    pause_sent.append(s)

                eng.inbound("3125551001", "TEST_IN")
                eng.settle()
                expect(page.locator("#lead-first_name")).to_have_text("Jane")
                fields_answer, fields_sent = [], []
                for i in range(args.repeats):
                    name = f"Jane{i}"
                    a, s = measure(
                        page,
                        "#lead-first_name",
                        name,
                        lambda n=name: eng.api("update_fields", agent_user="1000", first_name=n),
                    )
                    fields_answer.append(a)
                    fields_sent.append(s)
                browser.close()
        finally:
            eng.client.close()
            backend.close()

    print(f"console push delay, SQLite, one process, headless Chromium ({args.repeats} repeats each)")
    report("update_fields", fields_answer, fields_sent)
    report("external_pause", pause_answer, pause_sent)


if __name__ == "__main__":
    main()
