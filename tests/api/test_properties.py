"""Property tests: no input crashes a request, and refused requests change no agent state."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openagc.api.params import LOG_STRIP, MASK, PARAMETERS, filter_params, logging_query_string, pick

FUNCTIONS = [
    "external_hangup",
    "external_status",
    "external_pause",
    "logout",
    "external_dial",
    "recording",
    "update_fields",
    "change_ingroups",
    "transfer_conference",
    "park_call",
    "send_notification",
    "audio_playback",
    "webserver",
    "version",
    "nope",
]
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
params = st.dictionaries(st.sampled_from(sorted(PARAMETERS)), text, max_size=8)

query_names = st.sampled_from(["pass", "p%61ss", "%70ass", "pa%73%73", "PASS", "pass%20", "user", "p+ss", "%"]) | text


def masked_by_a_parser(query: str) -> str:
    """The reference: a pair is masked when `parse_qsl` reads its name as `pass`."""
    out = []
    for segment in query.split("&"):
        name, sep, _ = segment.partition("=")
        if sep and parse_qsl(f"{name}=", keep_blank_values=True) == [("pass", "")]:
            segment = f"{name}={MASK}"
        out.append(segment)
    return "&".join(out)


@given(pairs=st.lists(st.tuples(query_names, text), max_size=6))
def test_the_logged_url_masks_every_pair_a_parser_reads_as_pass(pairs):
    query = "&".join(f"{n}={v}" for n, v in pairs)
    assert logging_query_string(query, []) == masked_by_a_parser(query).translate(LOG_STRIP)


@given(raw=params, non_latin=st.booleans())
def test_filters_only_delete(raw, non_latin):
    filtered = filter_params(raw, non_latin=non_latin)
    for name, value in raw.items():
        kept = filtered.get(name)
        if name == "consultative":
            continue
        # every kept character came from the input (a `+` may have become a space)
        source = value.replace("+", " ") + value
        assert all(ch in source for ch in kept)
        assert len(kept) <= len(value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(function=st.sampled_from(FUNCTIONS), extra=params)
def test_any_request_answers_and_bad_credentials_change_nothing(api, db, login, function, extra):
    if not db.count("vicidial_live_agents", user="1000"):
        login("1000")
    before = db.row("vicidial_live_agents", user="1000")
    extra = {k: v for k, v in extra.items() if k not in ("user", "pass", "function", "source")}
    response = api.get(function, auth=False, source="test", user="6666", **{"pass": "wrong"}, **extra)
    assert response.status_code in (200, 418)
    if function not in ("version",):
        assert response.text.startswith(("ERROR: Invalid Username/Password: |6666|", "Coffee"))
    assert db.row("vicidial_live_agents", user="1000") == before
    good = api.get(function, **extra)
    assert good.status_code == 200


def picked_name_by_name(query: dict[str, str], form: dict[str, str]) -> dict[str, str]:
    """The reference intake: every known name in turn, from the query string if there (even empty), else POST."""
    return {name: query[name] if name in query else form[name]
            for name in PARAMETERS if name in query or name in form}


intake_names = st.sampled_from(sorted(PARAMETERS)) | st.sampled_from(["nope", "PASS", "user ", ""])


@given(query=st.dictionaries(intake_names, text, max_size=8), form=st.dictionaries(intake_names, text, max_size=8))
def test_intake_reads_each_known_name_from_the_query_before_the_post(query, form):
    assert pick(query, form) == picked_name_by_name(query, form)
