"""`/metrics` through real requests on both databases: api.php by function and result, routes by template and
status, command outcomes (drop-in watcher and engine), agents by status, the engine and switch, access control;
`--workers N` sums its workers; `--log-format json` writes one JSON object a line."""

from __future__ import annotations

import json
import logging
import socket
import sys
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from openagc.jsonlog import JsonFormatter
from tests.cli_support import clean_env, free_port, openagc, serving
from tests.integrations.test_api_keys import PAUSE, keyed, make_key
from tests.support import wait_for


def scrape(client: httpx.Client, **headers: str) -> dict[tuple, float]:
    """Every sample of `/metrics` as {(name, sorted labels): value}."""
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.text) for s in family.samples}


def families(client: httpx.Client) -> set[str]:
    return {f.name for f in text_string_to_metric_families(client.get("/metrics").text)}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_outcomes_and_agents_are_exposed(api, db, login, backend):
    login("1000")
    login("1001", status="READY")
    before = scrape(api.client)
    api.get(**PAUSE)  # SUCCESS
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" external_pause ")
    api.get("external_hangup", agent_user="1000", value="1")  # ERROR: no permission
    api.get("no_such_function")  # upstream prints nothing
    api.get("version", auth=False)
    api.client.get("/no/such/page")
    after = scrape(api.client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("openagc_api_requests_total", function="external_pause", result="SUCCESS") == 1
    assert delta("openagc_api_requests_total", function="external_hangup", result="ERROR") == 1
    assert delta("openagc_api_requests_total", function="unknown", result="NONE") == 1
    assert delta("openagc_api_requests_total", function="version", result="SUCCESS") == 1
    assert delta("openagc_api_request_duration_seconds_count", function="external_pause") == 1
    assert delta("openagc_api_request_duration_seconds_sum", function="external_pause") > 0
    assert delta("openagc_http_requests_total", route="/agc/api.php", status="200") == 4
    assert delta("openagc_http_requests_total", route="unmatched", status="404") == 1
    assert delta("openagc_http_requests_total", route="/metrics", status="200") == 1  # the first scrape
    assert delta("openagc_http_request_duration_seconds_count", route="/agc/api.php") == 4
    assert not any(name == "openagc_api_requests_total" and ("function", "no_such_function") in labels
                   for name, labels in after)
    assert value(after, "openagc_agents", status="PAUSED") == 1
    assert value(after, "openagc_agents", status="READY") == 1
    assert value(after, "openagc_agents", status="INCALL") == 0
    assert value(after, "openagc_database_up") == 1
    assert value(after, "openagc_engine_running") == 0
    assert not any(name.startswith("openagc_switch") for name, _ in after)  # no engine: no switch

    # the drop-in watcher ends the command when the screen takes it, and counts the outcome it published
    db.update("vicidial_live_agents", {"user": "1000"}, external_pause="")
    wait_for(lambda: value(scrape(api.client), "openagc_command_outcomes_total", command="external_pause",
                           state="delivered") - value(before, "openagc_command_outcomes_total",
                                                      command="external_pause", state="delivered") >= 1,
             timeout=10, what="the delivered outcome counted")
    outcome = scrape(api.client)
    assert value(outcome, "openagc_command_duration_seconds_count", state="delivered") >= 1
    assert "openagc_webhook_deliveries" in families(api.client)


def test_rate_limited_requests_are_counted(api, db, login, backend):
    login("1000")
    _, token = make_key(backend, rate=1)
    before = scrape(api.client)
    keyed(api, token, PAUSE)
    keyed(api, token, PAUSE)
    after = scrape(api.client)
    assert value(after, "openagc_api_key_rate_limited_total", endpoint="api.php") - value(
        before, "openagc_api_key_rate_limited_total", endpoint="api.php") == 1
    assert value(after, "openagc_http_requests_total", route="/agc/api.php", status="429") - value(
        before, "openagc_http_requests_total", route="/agc/api.php", status="429") == 1


def test_the_engine_s_sessions_switch_and_outcomes(eng):
    before = scrape(eng.client)
    token = eng.login()
    assert eng.api("external_pause", agent_user="1000", value="RESUME").startswith("SUCCESS")
    wait_for(lambda: value(scrape(eng.client), "openagc_command_outcomes_total", command="external_pause",
                           state="applied") > value(before, "openagc_command_outcomes_total",
                                                    command="external_pause", state="applied"),
             timeout=10, what="the applied outcome counted")
    after = scrape(eng.client)
    assert value(after, "openagc_engine_running") == 1
    assert value(after, "openagc_engine_sessions") == 1
    assert value(after, "openagc_switch_connected", switch="simulated") == 1
    assert value(after, "openagc_agents", status="CLOSER") == 1
    assert value(after, "openagc_http_requests_total", route="/agent/login", status="200") - value(
        before, "openagc_http_requests_total", route="/agent/login", status="200") == 1
    assert token


def test_only_allowed_networks_or_the_token_may_scrape(api, backend, monkeypatch):
    settings = backend.services.settings
    assert api.client.get("/metrics").status_code == 200  # loopback, by default
    monkeypatch.setattr(settings, "metrics_allowed_ips", "10.0.0.0/8, 192.168.0.0/16")
    refused = api.client.get("/metrics")
    assert (refused.status_code, refused.text) == (403, "forbidden\n")
    monkeypatch.setattr(settings, "metrics_token", "s3cret-token")
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}):
        asked = api.client.get("/metrics", headers=headers)
        assert (asked.status_code, asked.text, asked.headers["WWW-Authenticate"]) == (
            401, "authentication required\n", 'Bearer realm="metrics"')
    assert scrape(api.client, Authorization="Bearer s3cret-token")
    monkeypatch.setattr(settings, "metrics_allowed_ips", "127.0.0.1/32")
    assert api.client.get("/metrics").status_code == 200


def test_workers_are_summed_in_multiprocess_mode(tmp_path):
    port = free_port()
    directory = tmp_path / "prom"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left by an earlier run")
    env = clean_env(PROMETHEUS_MULTIPROC_DIR=str(directory))
    url = f"http://127.0.0.1:{port}"
    with serving("--engine", "off", "--workers", "2", "--port", str(port), "-d", str(tmp_path / "w.db"),
                 cwd=tmp_path, url=f"{url}/healthz", env=env):
        assert not (directory / "counter_999999.db").exists()
        for _ in range(6):  # a new connection each: the workers share the listening socket
            assert httpx.get(f"{url}/agc/api.php", params={"function": "version"}).status_code == 200
        with httpx.Client(base_url=url) as client:
            samples = scrape(client)
    assert value(samples, "openagc_api_requests_total", function="version", result="SUCCESS") == 6
    assert list(directory.glob("counter_*.db"))


def test_json_logs_are_one_object_a_line(tmp_path):
    port = free_port()
    env = clean_env(OPENAGC_HEADER_TIMEOUT="0.2")
    with serving("--engine", "off", "--port", str(port), "--log-format", "json", "-d", str(tmp_path / "j.db"),
                 cwd=tmp_path, url=f"http://127.0.0.1:{port}/healthz", env=env):
        with socket.create_connection(("127.0.0.1", port)):  # says nothing: closed after the head timeout
            wait_for(lambda: "request head" in (tmp_path / "serve.log").read_text(), timeout=10,
                     what="the head-timeout warning")
    lines = [line for line in (tmp_path / "serve.log").read_text().splitlines() if line.startswith("{")]
    logged = [json.loads(line) for line in lines]
    warning = next(doc for doc in logged if doc["logger"] == "openagc.server")
    assert warning["level"] == "WARNING" and warning["message"].startswith("closing 127.0.0.1:")
    assert set(warning) == {"time", "level", "logger", "message", "process"}
    assert not [line for line in (tmp_path / "serve.log").read_text().splitlines() if "request head" in line
                and not line.startswith("{")]


def test_the_json_formatter_keeps_extra_fields_and_tracebacks():
    try:
        raise ValueError("bad value")
    except ValueError:
        record = logging.LogRecord("openagc.test", logging.ERROR, __file__, 1, "failed %s", ("here",),
                                   exc_info=sys.exc_info())
    record.agent = "1000"
    doc = json.loads(JsonFormatter().format(record))
    assert (doc["message"], doc["level"], doc["logger"], doc["agent"]) == ("failed here", "ERROR", "openagc.test",
                                                                           "1000")
    assert doc["exception"].startswith("Traceback") and "ValueError: bad value" in doc["exception"]
    assert time.strptime(doc["time"][:19], "%Y-%m-%dT%H:%M:%S")


def test_a_bad_log_format_is_one_line(tmp_path):
    done = openagc("serve", "--log-format", "xml", "-d", str(tmp_path / "x.db"), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (1, "error: unknown log format 'xml' (text or json)\n")
