"""The common layer (spec/api-common.md): intake, filters, version, coffee, validation, logging, trailers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.requests import Request

from openagc.api.app import api_page
from openagc.config import Settings
from openagc.passhash import upstream_pass_hash
from tests.support import FROZEN_AT

EPOCH = int(FROZEN_AT.timestamp())
NOW = "2026-01-15 10:30:00"


def test_version_needs_no_credentials_and_is_logged(api, db):
    response = api.get("version", auth=False)
    assert response.text == f"VERSION: 2.14-82|BUILD: 250122-1010|DATE: {NOW}|EPOCH: {EPOCH}\n"
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache, must-revalidate"
    assert response.headers["pragma"] == "no-cache"
    log = db.last_log()
    assert (log["function"], log["result"], log["result_reason"], log["api_script"]) == (
        "version",
        "SUCCESS",
        "",
        "agent",
    )
    assert log["data"] == f"VERSION: 2.14-82|BUILD: 250122-1010|DATE: {NOW}|EPOCH: {EPOCH}"
    assert log["api_date"] == FROZEN_AT
    assert float(log["run_time"]) >= 0


@pytest.mark.parametrize("name", ["coffee", "start_coffee", "make_coffee", "brew_coffee"])
def test_coffee_is_a_teapot(api, db, name):
    response = api.get(name, auth=False)
    assert response.status_code == 418
    assert response.text == f"Coffee: {name}|Error 418 I'm a teapot"
    log = db.last_log()
    assert (log["result"], log["result_reason"], log["data"]) == ("ERROR", "", response.text)


@pytest.mark.parametrize("source", ["", "x"])
def test_invalid_source(api, db, source):
    text = api.get(
        "external_hangup",
        auth=False,
        user="6666",
        **{"pass": "1234"},
        source=source,
        agent_user="1000",
        value="1",
    ).text
    assert text == f"ERROR: Invalid Source - {source}\n"
    log = db.last_log()
    assert (log["result"], log["result_reason"], log["data"], log["source"]) == (
        "ERROR",
        "Invalid Source",
        "",
        source,
    )


def _bad(api, **params):
    return api.get("external_hangup", auth=False, source="test", agent_user="1000", value="1", **params).text


def test_wrong_password_does_not_echo_it(api, db):
    assert _bad(api, user="6666", **{"pass": "wrong"}) == "ERROR: Invalid Username/Password: |6666|\n"
    log = db.last_log()
    assert (log["result_reason"], log["data"]) == ("Invalid Username/Password", "6666|BAD|")
    assert "wrong" not in db.row("vicidial_api_urls", api_id=log["api_id"])["url"]
    user = db.row("vicidial_users", user="6666")
    assert (
        user["failed_login_count"],
        user["failed_last_type_today"],
        user["failed_login_attempts_today"],
    ) == (1, "01cBAD", 1)
    assert user["failed_last_ip_today"] == "127.0.0.1"


@pytest.mark.parametrize(
    "arrange",
    [
        {"vdc_agent_api_access": "0"},
        {"active": "N"},
        {"user_level": 0},
    ],
)
def test_credentials_refused_without_access_or_when_inactive(api, db, arrange):
    db.update("vicidial_users", {"user": "6666"}, **arrange)
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: Invalid Username/Password: |6666|\n"


def test_unknown_and_short_credentials(api, db):
    assert _bad(api, user="nosuch", **{"pass": "1234"}) == "ERROR: Invalid Username/Password: |nosuch|\n"
    assert _bad(api, user="6666", **{"pass": "1"}) == "ERROR: Invalid Username/Password: |6666|\n"
    assert _bad(api, user="6", **{"pass": "1234"}) == "ERROR: Invalid Username/Password: |6|\n"


def test_password_compared_exactly(api, db):
    db.update("vicidial_users", {"user": "6666"}, **{"pass": "Secret12"})
    assert _bad(api, user="6666", **{"pass": "secret12"}) == "ERROR: Invalid Username/Password: |6666|\n"
    assert _bad(api, user="6666", **{"pass": "Secret12"}) == "ERROR: agent_user is not logged in - 1000\n"


def test_lockout_after_ten_failures_within_fifteen_minutes(api, db, backend):
    clock = backend.services.clock
    for _ in range(10):
        _bad(api, user="6666", **{"pass": "wrong"})
        clock.advance(30)
    user = db.row("vicidial_users", user="6666")
    assert user["failed_login_count"] == 10
    # locked: even the right password is refused, and the lock is recorded
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: Invalid Username/Password: |6666|\n"
    assert db.last_log()["data"] == "6666|LOCK|"
    assert db.row("vicidial_users", user="6666")["failed_last_type_today"] == "03cLOCK"
    clock.advance(14 * 60)
    assert db.last_log()["data"] == "6666|LOCK|" and _bad(api, user="6666", **{"pass": "1234"}).startswith(
        "ERROR: Invalid Username/Password"
    )
    clock.advance(61)  # 15 minutes after the 10th failure
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: agent_user is not logged in - 1000\n"
    assert db.count("openagc_login_failures", user="6666") == 0  # the success cleared its source's count


def test_failures_spread_over_more_than_fifteen_minutes_do_not_lock(api, db, backend):
    clock = backend.services.clock
    for _ in range(12):
        _bad(api, user="6666", **{"pass": "wrong"})
        clock.advance(120)
    assert db.row("openagc_login_failures", user="6666")["failures"] < 10
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: agent_user is not logged in - 1000\n"


def test_success_resets_the_failure_count_of_its_source(api, db):
    for _ in range(5):
        _bad(api, user="6666", **{"pass": "wrong"})
    assert db.row("openagc_login_failures", user="6666")["failures"] == 5
    _bad(api, user="6666", **{"pass": "1234"})
    assert db.count("openagc_login_failures", user="6666") == 0
    assert db.row("vicidial_users", user="6666")["failed_login_count"] == 5  # the user-wide count runs its window


def test_bcrypt_pass_hash(api, db):
    key = "0123456789abcdef"
    db.update("system_settings", {}, pass_hash_enabled="1", pass_key=key, pass_cost=2)
    db.update("vicidial_users", {"user": "6666"}, pass_hash=upstream_pass_hash("1234", key, 2), **{"pass": ""})
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: agent_user is not logged in - 1000\n"
    assert _bad(api, user="6666", **{"pass": "4321"}) == "ERROR: Invalid Username/Password: |6666|\n"


def test_bcrypt_with_unusable_pass_key_fails_closed(api, db):
    db.update("system_settings", {}, pass_hash_enabled="1", pass_key="short", pass_cost=2)
    db.update("vicidial_users", {"user": "6666"}, pass_hash="")
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: Invalid Username/Password: |6666|\n"


def test_no_active_server_refuses(api, db):
    db.update("servers", {}, active="N")
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: Invalid Username/Password: |6666|\n"
    assert db.last_log()["data"] == "6666|ERRSERVERS|"
    assert db.row("vicidial_users", user="6666")["failed_last_type_today"] == "04cERRSERVERS"


def test_ip_whitelist_and_blacklist(api, db):
    db.update("system_settings", {}, allow_ip_lists="1")
    db.update("vicidial_user_groups", {"user_group": "ADMIN"}, api_ip_list="APILIST")
    db.insert("vicidial_ip_list_entries", ip_list_id="APILIST", ip_address="10.9.9.9")
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: Invalid Username/Password: |6666|\n"
    assert db.last_log()["data"] == "6666|IPBLOCK|"
    db.insert("vicidial_ip_list_entries", ip_list_id="APILIST", ip_address="127.0.0.x")  # class C form
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: agent_user is not logged in - 1000\n"
    db.update("system_settings", {}, system_ip_blacklist="BLACK")
    db.insert("vicidial_ip_list_entries", ip_list_id="BLACK", ip_address="127.0.0.1")
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: Invalid Username/Password: |6666|\n"
    db.update("vicidial_users", {"user": "6666"}, ignore_ip_list="1")
    assert _bad(api, user="6666", **{"pass": "1234"}) == "ERROR: agent_user is not logged in - 1000\n"


def test_system_api_not_active(api, db):
    db.update("system_settings", {}, vdc_agent_api_active="0")
    assert api("external_hangup", agent_user="1000", value="1") == "ERROR: System API NOT ACTIVE\n"
    log = db.last_log()
    assert (log["result"], log["result_reason"], log["data"]) == ("ERROR", "System API NOT ACTIVE", "")
    # credentials are still checked first
    assert _bad(api, user="6666", **{"pass": "nope"}) == "ERROR: Invalid Username/Password: |6666|\n"


def test_permission_denied(api, db, login):
    login("1000")
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" external_status version ")
    assert api("external_hangup", agent_user="1000", value="1") == (
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 1|6666|external_hangup|ADMIN\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == ""
    log = db.last_log()
    assert log["result_reason"] == "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION"
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" external_hangup ")
    assert api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")


def test_webserver_permission_and_output(api, db):
    text = api("webserver")
    assert text.startswith("<PRE>Webserver Data:\nset.timezone: ") and text.endswith("</PRE>\n")
    assert "\nuname: " in text and "\nsystem load average: " in text and "\ndisk free space: " in text
    log = db.last_log()
    assert (log["result"], log["result_reason"]) == ("SUCCESS", "")
    assert log["data"].startswith("Webserver Data:|set.timezone: ") and "\n" not in log["data"]
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version ")
    assert api("webserver") == (
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 6666|webserver|ADMIN\n"
    )


def test_alt_user_resolves_through_custom_three(api, db, login):
    login("1001")
    text = api("external_hangup", agent_user="1000", alt_user="71001", value="1")
    assert text == "SUCCESS: external_hangup function set - 1|1001\n"
    assert db.row("vicidial_live_agents", user="1001")["external_hangup"] == "1"


def test_alt_user_miss_ends_the_request(api, db, login):
    login("1000")
    text = api("external_hangup", agent_user="1000", alt_user="99999", value="1")
    assert text == "ERROR: no user found - 99999\n"
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == ""
    log = db.last_log()
    assert (log["result_reason"], log["agent_user"]) == ("no user found", "1000")
    assert db.count("vicidial_api_log") == 1


def test_unknown_function_answers_an_empty_body_and_logs_nothing(api, db):
    response = api.get("no_such_function")
    assert (response.status_code, response.text) == (200, "")
    assert db.count("vicidial_api_log") == 0
    assert api.get(None).text == ""


def test_unknown_function_with_bad_credentials_gets_the_validation_error(api, db):
    assert api.get("no_such_function", auth=False, source="test", user="6666", **{"pass": "x1"}).text == (
        "ERROR: Invalid Username/Password: |6666|\n"
    )


def test_get_wins_over_post_per_parameter(api, db, login):
    login("1000")
    login("1001")
    response = api.post("external_hangup", query={"agent_user": "1001"}, agent_user="1000", value="1")
    assert response.text == "SUCCESS: external_hangup function set - 1|1001\n"
    url = db.row("vicidial_api_urls", api_id=db.last_log()["api_id"])["url"]
    assert url.startswith("agent_user=1001&GET-AND-POST=Y&")
    assert "pass=XXXXXXXX" in url and "1234" not in url


def test_post_only_request_is_logged_as_upstream_does(api, db, login):
    login("1000")
    assert api.post("external_hangup", agent_user="1000", value="1").text.startswith("SUCCESS")
    url = db.row("vicidial_api_urls", api_id=db.last_log()["api_id"])["url"]
    post = "source=test&user=6666&pass=XXXXXXXX&function=external_hangup&agent_user=1000&value=1"
    assert url == f"{post}&GET-AND-POST=Y&{post}"
    assert db.row("vicidial_api_urls", api_id=db.last_log()["api_id"])["remote_ip"] == "127.0.0.1"


def test_empty_get_value_still_wins_over_post(api, db, login):
    login("1000")
    response = api.post("external_hangup", query={"value": ""}, agent_user="1000", value="1")
    assert response.text == "ERROR: external_hangup not valid - |1000\n"


def test_log_ids_for_webserver_and_url(api, db, backend):
    api("version")
    api("version")
    logs = db.logs()
    web = db.row("vicidial_webservers", webserver_id=logs[-1]["webserver"])
    assert (web["webserver"], web["hostname"]) == ("testserver", "testhost")
    url = db.row("vicidial_urls", url_id=logs[-1]["api_url"])["url"]
    port = backend.server.port  # ephemeral; upstream calls any port with "443" in it https (a port such as 35443 too)
    assert url == f"{'https' if '443' in str(port) else 'http'}://testserver:{port}/agc/api.php"
    assert db.count("vicidial_webservers") == 1 and db.count("vicidial_urls") == 1


@pytest.mark.parametrize(("port", "page"), [
    (80, "http://web1/agc/api.php"), (443, "https://web1/agc/api.php"), (8080, "http://web1:8080/agc/api.php"),
    (8443, "https://web1:8443/agc/api.php"), (35443, "https://web1:35443/agc/api.php"),
])
def test_the_logged_page_is_https_when_the_port_has_443_in_it_as_upstream_decides(port, page):
    request = Request({"type": "http", "scheme": "http", "server": ("10.0.0.5", port), "path": "/agc/api.php",
                       "query_string": b"", "headers": []})
    assert api_page(request, Settings(server_name="web1")) == (page, "web1")


def test_close_window_link(api, db, login):
    login("1000")
    link = "\n<a href=\"javascript:window.opener='x';window.close();\">Close This Window</a>\n"
    assert api("external_hangup", agent_user="1000", value="1", close_window_link="1") == (
        "SUCCESS: external_hangup function set - 1|1000\n" + link
    )
    spanish = link.replace("Close This Window", "Cerrar esta ventana")
    assert api("external_hangup", agent_user="1000", value="1", close_window_link="1", language="es").endswith(spanish)
    assert api("external_hangup", agent_user="1000", value="1", close_window_link="0").endswith("1000\n")
    assert api("external_hangup", agent_user="1000", value="1", close_window_link="abc").endswith("1000\n")


def test_close_window_link_not_printed_after_an_exit(api, db):
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version ")
    text = api("external_hangup", agent_user="1000", value="1", close_window_link="1")
    assert text == "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 1|6666|external_hangup|ADMIN\n"


def test_debug_format_wraps_the_answer_without_sql(api, db, login):
    login("1000")
    text = api("external_hangup", agent_user="1000", value="1", format="debug")
    assert text.startswith(
        "<html>\n<head>\n<!-- VERSION: 2.14-82     BUILD: 250122-1010    USER: 6666\n"
        "<title>VICIDiaL Agent API</title>\n</head>\n"
        "<BODY BGCOLOR=white marginheight=0 marginwidth=0 leftmargin=0 topmargin=0>\n"
        "SUCCESS: external_hangup function set - 1|1000\n\n<!-- script runtime: "
    )
    assert text.endswith(" seconds -->\n</body>\n</html>\n")
    assert "UPDATE" not in text.upper().replace("UPDATE_", "")


def test_json_format(api, db, login):
    login("1000")
    response = api.get("external_hangup", agent_user="1000", value="1", format="json")
    assert response.headers["content-type"].startswith("application/json")
    command_id = db.row("openagc_commands", command="external_hangup")["command_id"]
    assert response.json() == {
        "result": "SUCCESS",
        "reason": "external_hangup function set",
        "details": ["1", "1000"],
        "notices": [],
        "command_id": command_id,  # ours: the command's record (GET /agc/commands/{id})
    }
    assert api.get("external_hangup", agent_user="1000", alt_user="nobody1", value="1", format="json").json() == {
        "result": "ERROR",
        "reason": "no user found",
        "details": ["nobody1"],
        "notices": [],
    }


def test_filters_delete_characters_without_rejecting(api, db, login):
    login("1000")
    assert api("external_hangup", agent_user="10'0;0", value="1") == (
        "SUCCESS: external_hangup function set - 1|1000\n"
    )
    assert db.last_log()["agent_user"] == "1000"


def test_non_latin_mode_keeps_unicode_letters(api, db, login):
    db.update("system_settings", {}, use_non_latin="1")
    assert api("external_hangup", agent_user="agenté1", value="1") == ("ERROR: agent_user is not logged in - agenté1\n")
    db.update("system_settings", {}, use_non_latin="0")
    assert api("external_hangup", agent_user="agenté1", value="1") == ("ERROR: agent_user is not logged in - agent1\n")


def test_translation_through_language_phrases(api, db, login):
    db.update("system_settings", {}, enable_languages="1", language_method="MYSQL")
    db.update("vicidial_users", {"user": "6666"}, selected_language="es")
    db.insert("vicidial_language_phrases", language_id="es", english_text="ERROR", translated_text="ERROR_ES")
    db.insert(
        "vicidial_language_phrases",
        language_id="es",
        english_text="agent_user is not logged in",
        translated_text="agente no conectado",
    )
    assert api("external_hangup", agent_user="1000", value="1") == "ERROR_ES: agente no conectado - 1000\n"
    log = db.last_log()
    assert (log["result"], log["result_reason"]) == ("ERROR_ES", "agente no conectado")
    db.update("system_settings", {}, language_method="DISABLED")
    assert api("external_hangup", agent_user="1000", value="1") == "ERROR: agent_user is not logged in - 1000\n"


def test_inert_list_restriction_path(api, db):
    db.update("vicidial_users", {"user": "6666"}, api_list_restrict="1", user_group="GONE")
    assert api("feature_not_needed", value="x") == "ERROR: user_group DOES NOT EXIST - x|GONE\n"
    db.update("vicidial_users", {"user": "6666"}, user_group="ADMIN")
    assert api("feature_not_needed", value="x") == ""


def test_api_date_follows_the_clock(api, db, backend):
    backend.services.clock.advance(3600)
    api("version")
    assert db.last_log()["api_date"] == FROZEN_AT + timedelta(hours=1)


def test_settings_are_reused_for_the_cache_time_then_reread(api, db, backend, login):
    login("1000")
    backend.services.settings.cache_seconds = 3600
    try:
        assert api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
        db.update("system_settings", {}, vdc_agent_api_active="0")
        assert api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")  # cached
        backend.services.cache.clear()
        assert api("external_hangup", agent_user="1000", value="1") == "ERROR: System API NOT ACTIVE\n"
    finally:
        backend.services.settings.cache_seconds = 0


def test_multipart_post_is_read_like_a_form(api, db, login):
    login("1000")
    fields = {
        "source": "test",
        "user": "6666",
        "pass": "1234",
        "function": "external_hangup",
        "agent_user": "1000",
        "value": "1",
    }
    response = api.client.post("/agc/api.php", files={k: (None, v) for k, v in fields.items()})
    assert response.text == "SUCCESS: external_hangup function set - 1|1000\n"
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == "1"


@pytest.mark.parametrize("function", ["no_such_function", "stereo_recording"])
def test_unknown_function_in_json_says_so_and_text_stays_empty(api, db, login, function):
    """Text keeps upstream's empty body; `format=json` names the problem instead of an empty result.

    `stereo_recording` is in newer upstream documents and not served here: the same answer.
    """
    login("1000")
    response = api.get(function, agent_user="1000", value="START", format="json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"result": "ERROR", "reason": "unknown function", "details": [function],
                               "notices": []}
    assert api.get(function, agent_user="1000", value="START").text == ""
    assert db.count("vicidial_api_log") == 0 and db.count("openagc_commands") == 0
    assert api.get(None, format="json").json()["reason"] == "unknown function"


def test_unknown_function_in_json_with_bad_credentials_is_the_credentials_error(api, db):
    response = api.get("no_such_function", auth=False, source="test", user="6666", format="json", **{"pass": "x1"})
    assert response.json() == {"result": "ERROR", "reason": "Invalid Username/Password", "details": ["6666"],
                               "notices": []}
