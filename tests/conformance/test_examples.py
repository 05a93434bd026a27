"""Replays every example URL of the API document against the demo data.

Each example runs in two agent states (nobody logged in; the agents of the examples logged in on a live
call with a lead on screen). Every line we answer must be one the document lists for that function, or a
difference that docs/compatibility.md records (DIFFERENCES below names them; the test checks the doc does).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support import FROZEN_AT

SEED = Path("/work/shared/seed/examples.json")
LOCAL_SEED = Path(__file__).with_name("examples.json")
COMPAT = Path(__file__).resolve().parents[2] / "docs" / "compatibility.md"


def _examples() -> list[dict]:
    return json.loads(LOCAL_SEED.read_text())


EXAMPLES = [(entry["function"], url, entry["responses"])
            for entry in _examples() for url in entry["example_urls"]]

# Lines we print that the document does not list, keyed by function. Each head must appear verbatim in
# docs/compatibility.md (where the document's line and ours are set side by side).
DIFFERENCES: dict[str, set[str]] = {
    "external_pause": {"ERROR: external_pause agent is not paused"},
    "external_dial": {"ERROR: agent_user is not paused"},
    "preview_dial_action": {"ERROR: agent_user is not paused"},
    "ra_call_control": {"ERROR: agent_user is not logged in"},
}


def head(line: str) -> str:
    """`RESULT: reason` of a response line (the part before ` - `); numbers in a line without details
    (the version line) are reduced to `#` so versions and dates compare by shape."""
    if " - " in line:
        return line.split(" - ", 1)[0].strip()
    return re.sub(r"[0-9][0-9.-]*", "#", line.strip())


def documented(line: str, responses: list[str]) -> bool:
    ours = head(line)
    return any(head(r) == ours or r.startswith(ours) for r in responses)


def agents_of(params: dict[str, str]) -> set[str]:
    users = {params.get("agent_user", ""), params.get("recipient", "")} - {""}
    return {u for u in users if u.isdigit()}


def put_on_call(db, user: str, conf: int) -> None:
    if db.count("vicidial_users", user=user) == 0:
        return
    db.insert("vicidial_live_agents", user=user, server_ip="10.10.10.15", conf_exten=str(conf),
              extension=f"SIP/{user}", status="INCALL", lead_id=123456, campaign_id="TESTCAMP",
              uniqueid="1768473000.1", callerid="M0115103000000123456", channel="SIP/carrier-00000001",
              random_id=1, closer_campaigns=" TEST_IN SALESLINE -", comments="", last_call_time=FROZEN_AT,
              last_update_time=FROZEN_AT, last_call_finish=FROZEN_AT, last_state_change=FROZEN_AT)


@pytest.mark.parametrize("state", ["logged_out", "on_call"])
@pytest.mark.parametrize(("function", "url", "responses"), EXAMPLES,
                         ids=[f"{f}-{i}" for i, (f, _u, _r) in enumerate(EXAMPLES)])
def test_example_answers_as_documented(api, db, state, function, url, responses):
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    if state == "on_call":
        for offset, user in enumerate(sorted(agents_of(params))):
            put_on_call(db, user, 8600051 + offset)
    response = api.client.get("/agc/api.php", params=params)
    assert response.status_code == (418 if function == "coffee" else 200)
    lines = [line for line in response.text.split("\n") if line.strip()]
    assert lines or function == "webserver", f"{url} answered nothing"
    if function in ("webserver", "webphone_url") or not responses:
        return
    for line in lines:
        if line.startswith(("<", "http")):
            continue
        assert documented(line, responses) or head(line) in DIFFERENCES.get(function, set()), (
            f"{function}: {line!r} is neither in the document nor a recorded difference")


def test_recorded_differences_are_in_the_compatibility_doc():
    text = COMPAT.read_text()
    missing = [h for heads in DIFFERENCES.values() for h in heads if h not in text]
    assert not missing, f"docs/compatibility.md does not mention: {missing}"


def test_local_copy_of_the_examples_matches_the_seed():
    if SEED.exists():
        assert json.loads(SEED.read_text()) == _examples()
