"""`/agc/api.php` in the document is derived from the code: the parameters each function reads, their filters, the
JSON form `reply.py` prints, and the API document's examples."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from openagc.api.params import PARAMETERS
from openagc.api.pipeline import REGISTRY, Call, api_function
from openagc.api.reply import Line, Reply, success
from openagc.openapi import agent_api, scan

EXAMPLES = agent_api.documented_examples()


@pytest.fixture(scope="module")
def get() -> dict:
    return agent_api.operation("GET")


@pytest.fixture(scope="module")
def post() -> dict:
    return agent_api.operation("POST")


def test_the_common_layer_reads_the_common_parameters() -> None:
    assert agent_api.common_parameters() == (
        "user", "pass", "function", "source", "format", "close_window_link", "language", "wait")


@pytest.mark.parametrize(("function", "reads"), [
    ("external_pause", ["agent_user", "value", "alt_user"]),
    ("external_status", ["agent_user", "value", "alt_user", "callback_datetime", "callback_type",
                         "callback_comments", "qm_dispo_code"]),
    ("external_dial", ["agent_user", "value", "focus", "preview", "phone_code", "search", "group_alias",
                       "dial_prefix", "vtiger_callback", "alt_user", "lead_id", "alt_dial", "dial_ingroup",
                       "outbound_cid", "vendor_id"]),
    ("webserver", []),
])
def test_a_function_lists_what_its_code_reads(get: dict, function: str, reads: list[str]) -> None:
    entry = get["x-functions"][function]
    assert sorted(entry["parameters"]) == sorted(reads)
    assert entry["parameters"] == [name for name in PARAMETERS if name in reads]  # the table's order


def test_fields_read_through_a_loop_over_a_global_count(get: dict) -> None:
    """update_fields reads `p.get(name) for name in UPDATABLE_LEAD_FIELDS`; send_notification `o.name` of its options;
    the reload triggers are names whose presence counts (`_triggers(call, FORM_TRIGGERS)`)."""
    from openagc.api.functions.notify import CONFETTI_OPTIONS
    from openagc.store.leads import UPDATABLE_LEAD_FIELDS

    update = get["x-functions"]["update_fields"]
    assert set(UPDATABLE_LEAD_FIELDS) <= set(update["parameters"])
    assert update["triggers"] == ["formreload", "scriptreload", "script2reload", "emailreload", "chatreload"]
    assert get["x-functions"]["refresh_panel"]["triggers"] == [*update["triggers"], "callbacksreload"]
    assert {o.name for o in CONFETTI_OPTIONS} <= set(get["x-functions"]["send_notification"]["parameters"])
    trigger = next(p for p in get["parameters"] if p["name"] == "formreload")
    assert trigger["x-functions"] == ["refresh_panel", "update_fields"] and trigger["x-trigger"] is True


def test_every_parameter_carries_its_filter_and_its_readers(get: dict) -> None:
    by_name = {p["name"]: p for p in get["parameters"]}
    for name, found in by_name.items():
        if found.get("x-trigger"):
            continue
        f = PARAMETERS[name]
        assert found["x-filter"] == {"keep": f.keep, "letters": f.letters, "drop": f.drop, "plus": f.plus}
        assert agent_api.describe_filter(f) in found["description"]
    readers = {n for e in get["x-functions"].values() for n in e["parameters"]}
    assert readers <= set(by_name)
    assert by_name["lead_id"]["x-functions"] == sorted(
        f for f, e in get["x-functions"].items() if "lead_id" in e["parameters"])
    assert {"user", "pass"} <= set(by_name)  # also the security schemes apiUser and apiPass
    assert [p["name"] for p in get["parameters"] if p["required"]] == ["function"]


def test_describe_filter_in_words() -> None:
    assert agent_api.describe_filter(PARAMETERS["lead_id"]) == "Keeps `0-9`; other characters are deleted."
    assert agent_api.describe_filter(PARAMETERS["comments"]) == (
        "Keeps any character but `; #`; `+` becomes a space afterwards; other characters are deleted.")
    assert agent_api.describe_filter(PARAMETERS["user"]).startswith("Keeps `-_0-9` and letters (`' \" \\ ;` deleted")


def _probe_owner(call: Call) -> str:
    return call.p.get("owner")


@pytest.fixture
def temporary_function() -> Iterator[str]:
    """A function registered for one test (the registry is the document's source)."""
    name = "openapi_probe"

    @api_function(name, valid=lambda c: len(c.p.rank) > 0, logged_in=False, alt_user=False)
    async def probe(call: Call) -> Line:
        """Probe: reads rank (step A), owner (a helper) and title."""
        return success("probe", _probe_owner(call), call.p.title)

    try:
        yield name
    finally:
        del REGISTRY[name]


def test_a_new_function_is_documented_from_its_code(temporary_function: str) -> None:
    get = agent_api.operation("GET")
    entry = get["x-functions"][temporary_function]
    assert entry["parameters"] == ["title", "rank", "owner"]
    assert entry["summary"] == "Probe: reads rank (step A), owner (a helper) and title."
    assert entry["steps"] == {"checks_its_values": True, "resolves_alt_user": False, "needs_a_logged_in_agent": False}
    assert temporary_function in next(p for p in get["parameters"] if p["name"] == "function")["schema"]["enum"]
    post = agent_api.operation("POST")
    form = agent_api.form_name(temporary_function)
    assert post["requestBody"]["content"][agent_api.FORM]["schema"]["discriminator"]["mapping"][temporary_function] \
        == f"#/components/schemas/{form}"


def test_the_examples_of_the_api_document(get: dict, post: dict) -> None:
    """Every example URL and answer of the API document is in the operation, the answers in both forms."""
    text = get["responses"]["200"]["content"][agent_api.HTML]["examples"]
    as_json = get["responses"]["200"]["content"]["application/json"]["examples"]
    bodies = post["requestBody"]["content"][agent_api.FORM]["examples"]
    for function, entry in EXAMPLES.items():
        assert [e["url"] for e in get["x-functions"][function]["examples"]] == entry["urls"]
        assert get["x-functions"][function]["responses"] == entry["responses"]
        for i, url in enumerate(entry["urls"], 1):
            assert bodies[f"{function}-{i}"] == {"summary": url, "value": agent_api.example_query(url)}
        for i, line in enumerate(entry["responses"], 1):
            assert text[f"{function}-{i}"]["value"] == line + "\n"
            parsed = agent_api.parse_line(line)
            if parsed is not None:  # the text line printed back by reply.py is the document's line
                assert parsed.text() == line + "\n"
                assert as_json[f"{function}-{i}"]["value"] == json.loads(Reply(lines=[parsed]).json())
    pause = as_json["external_pause-4"]["value"]
    assert pause == {"result": "SUCCESS", "reason": "external_pause function set",
                     "details": ["PAUSE", "1232020456", "6666"], "notices": []}


def test_every_handler_has_a_summary() -> None:
    """The operation's summary of a function is its handler's docstring: every handler has one."""
    for name, spec in REGISTRY.items():
        assert scan.first_line(spec.handler), name
