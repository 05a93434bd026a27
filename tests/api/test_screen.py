"""webphone_url, call_agent, update_fields, refresh_panel, set_timer_action."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from tests.support import CLOSE, log_of

EPOCH = int(datetime(2026, 1, 15, 10, 30).timestamp())
URL = "https://10.10.10.15/webphone/?user=1000&session=8600051"
LOGIN_CID = "S2601150800008600051"
LOGIN_CALL = (
    f"||2026-01-15 08:00:00|NEW|N|10.10.10.15||Originate|{LOGIN_CID}|Channel: SIP/1000"
    f"|Context: default|Exten: 8600051|Priority: 1|Callerid: {LOGIN_CID}|||||"
)
LEAD = 87498


def last(db):
    return log_of(db.last_log())


def agent(db, user="1000"):
    return db.row("vicidial_live_agents", user=user)


def lead(db, lead_id=LEAD):
    return db.row("vicidial_list", lead_id=lead_id)


def session_data(db, user="1000", **values):
    row = {
        "session_name": f"sess_{user}",
        "user": user,
        "campaign_id": "TESTCAMP",
        "server_ip": "10.10.10.15",
        "conf_exten": "8600051",
        "extension": f"SIP/{user}",
        "login_time": datetime(2026, 1, 15, 8, 0),
        "webphone_url": URL,
        "agent_login_call": LOGIN_CALL,
    }
    db.insert("vicidial_session_data", **(row | values))


def screen_state(db):
    """Everything these functions may write, to show that an error wrote nothing."""
    return (
        db.rows("vicidial_live_agents", order_by="live_agent_id"),
        db.rows("vicidial_list", order_by="lead_id"),
        db.rows("vicidial_manager"),
    )


# --- shared steps ---------------------------------------------------------------------------------
ALT_USER_CALLS = [("webphone_url", "DISPLAY"), ("call_agent", "CALL")]
NO_ALT_USER_CALLS = [
    ("update_fields", {"first_name": "Ann"}),
    ("refresh_panel", {"formreload": "1"}),
    ("set_timer_action", {"value": "WEBFORM"}),
]


ALL_CALLS = [(f, {"value": v}) for f, v in ALT_USER_CALLS] + NO_ALT_USER_CALLS


@pytest.mark.parametrize(("function", "params"), ALL_CALLS)
def test_permission_denied_ends_and_changes_nothing(api, db, login, function, params):
    login("1000", lead_id=LEAD)
    session_data(db)
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version ")
    before = screen_state(db)
    value = params.get("value", "")
    body = api(function, agent_user="1000", close_window_link="1", **params)
    assert body == (f"ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - {value}|6666|{function}|ADMIN\n")
    assert screen_state(db) == before
    assert last(db) == (function, "1000", value, "ERROR", "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION", "")


@pytest.mark.parametrize(("function", "value"), ALT_USER_CALLS)
def test_alt_user_miss_ends(api, db, login, function, value):
    login("1000")
    session_data(db)
    before = screen_state(db)
    assert api(function, agent_user="1000", alt_user="99999", value=value) == "ERROR: no user found - 99999\n"
    assert screen_state(db) == before
    assert [log_of(r) for r in db.logs()] == [(function, "1000", value, "ERROR", "no user found", "")]


@pytest.mark.parametrize(("function", "value"), ALT_USER_CALLS)
def test_alt_user_resolves_the_agent(api, db, login, function, value):
    login("1000")
    session_data(db)
    body = api(function, alt_user="71000", value=value)
    assert body in (URL, "SUCCESS: call_agent function sent - 1000\n")
    assert db.last_log()["agent_user"] == "1000"


@pytest.mark.parametrize(("function", "params"), NO_ALT_USER_CALLS)
def test_alt_user_is_not_read(api, db, login, function, params):
    """These three functions never resolve alt_user: an unknown one is not even looked up."""
    login("1000", lead_id=LEAD)
    db.update("vicidial_users", {"user": "6666"}, modify_leads="1", modify_campaigns="1")
    body = api(function, agent_user="1000", alt_user="99999", **params)
    assert body.startswith("SUCCESS: ")
    assert [r["result_reason"] for r in db.logs()] == [body.split(": ", 1)[1].split(" - ")[0]]


@pytest.mark.parametrize(("function", "value"), ALT_USER_CALLS)
def test_not_logged_in(api, db, function, value):
    session_data(db)
    assert api(function, agent_user="1000", value=value) == "ERROR: agent_user is not logged in - 1000\n"
    assert db.count("vicidial_manager") == 0
    assert last(db) == (function, "1000", value, "ERROR", "agent_user is not logged in", "")


@pytest.mark.parametrize(("function", "params"), NO_ALT_USER_CALLS)
def test_not_logged_in_without_alt_user(api, db, function, params):
    assert api(function, agent_user="1000", **params) == "ERROR: agent_user is not logged in - 1000\n"
    assert last(db) == (function, "1000", params.get("value", ""), "ERROR", "agent_user is not logged in", "")


# --- webphone_url ---------------------------------------------------------------------------------
def test_webphone_url_display_prints_the_bare_url(api, db, login):
    login("1000")
    session_data(db)
    assert api("webphone_url", agent_user="1000", value="DISPLAY") == URL  # no newline
    assert last(db) == ("webphone_url", "1000", "DISPLAY", "NOTICE", "webphone_url active and displayed", "")


def test_webphone_url_display_is_followed_by_the_trailer(api, db, login):
    login("1000")
    session_data(db)
    assert api("webphone_url", agent_user="1000", value="DISPLAY", close_window_link="1") == URL + CLOSE


def test_webphone_url_launch_prints_a_redirect_page(api, db, login):
    login("1000")
    session_data(db)
    assert api("webphone_url", agent_user="1000", value="LAUNCH") == (
        f'<META HTTP-EQUIV=Refresh CONTENT="0; URL={URL}">\n'
        "</HEAD>\n"
        "<BODY BGCOLOR=#FFFFFF marginheight=0 marginwidth=0 leftmargin=0 topmargin=0>\n"
        f'<a href="{URL}">click here to continue. . .</a>\n'
        "</BODY>\n"
    )
    assert last(db) == ("webphone_url", "1000", "LAUNCH", "NOTICE", "webphone_url active and launched", "")


def test_webphone_url_no_session_data(api, db, login):
    login("1000")
    session_data(db, user="1001")
    assert api("webphone_url", agent_user="1000", value="DISPLAY") == (
        "ERROR: webphone_url error - no session data - 1000\n"
    )
    assert last(db) == ("webphone_url", "1000", "DISPLAY", "ERROR", "webphone_url error - no session data", "")


@pytest.mark.parametrize("stored", ["", "http:", None])
def test_webphone_url_empty(api, db, login, stored):
    login("1000")
    session_data(db, webphone_url=stored)
    assert api("webphone_url", agent_user="1000", value="LAUNCH") == (
        "ERROR: webphone_url error - webphone url is empty - 1000\n"
    )
    assert last(db) == ("webphone_url", "1000", "LAUNCH", "ERROR", "webphone_url error - webphone url is empty", "")


@pytest.mark.parametrize(("value", "agent_user"), [("display", "1000"), ("DISPLAYX", "1000"), ("DISPLAY", "")])
def test_webphone_url_not_valid(api, db, login, value, agent_user):
    """The document shows `6666|DISPLAY`; upstream's code prints value first."""
    login("1000")
    session_data(db)
    assert api("webphone_url", agent_user=agent_user, value=value) == (
        f"ERROR: webphone_url not valid - {value}|{agent_user}\n"
    )
    assert last(db) == ("webphone_url", agent_user, value, "ERROR", "webphone_url not valid", "")


# --- call_agent -----------------------------------------------------------------------------------
def test_call_agent_replays_the_login_originate_into_the_current_session(api, db, login):
    login("1000", conf_exten="8600052")
    session_data(db)
    assert api("call_agent", agent_user="1000", value="CALL") == "SUCCESS: call_agent function sent - 1000\n"
    row = db.row("vicidial_manager")
    row.pop("man_id")
    assert row == {
        "uniqueid": "",
        "entry_date": datetime(2026, 1, 15, 8, 0),
        "status": "NEW",
        "response": "N",
        "server_ip": "10.10.10.15",
        "channel": "",
        "action": "Originate",
        "callerid": LOGIN_CID,
        "cmd_line_b": "Channel: SIP/1000",
        "cmd_line_c": "Context: default",
        "cmd_line_d": "Exten:  8600052",
        "cmd_line_e": "Priority: 1",
        "cmd_line_f": f"Callerid: {LOGIN_CID}",
        "cmd_line_g": "",
        "cmd_line_h": "",
        "cmd_line_i": "",
        "cmd_line_j": "",
        "cmd_line_k": "",
    }
    assert last(db) == ("call_agent", "1000", "CALL", "SUCCESS", "call_agent function sent", str(EPOCH))


def test_call_agent_keeps_a_confbridge_exten(api, db, login):
    login("1000", conf_exten="9600052")
    session_data(db, agent_login_call=LOGIN_CALL.replace("Exten: 8600051", "Exten: 29600051"))
    assert api("call_agent", agent_user="1000", value="CALL") == "SUCCESS: call_agent function sent - 1000\n"
    assert db.row("vicidial_manager")["cmd_line_d"] == "Exten: 29600051"


def test_call_agent_stored_time_that_is_no_datetime_becomes_now(api, db, login):
    login("1000")
    session_data(db, agent_login_call=LOGIN_CALL.replace("2026-01-15 08:00:00", "garbage"))
    assert api("call_agent", agent_user="1000", value="CALL") == "SUCCESS: call_agent function sent - 1000\n"
    assert db.row("vicidial_manager")["entry_date"] == datetime(2026, 1, 15, 10, 30)


def test_call_agent_no_session_data(api, db, login):
    login("1000")
    assert api("call_agent", agent_user="1000", value="CALL") == ("ERROR: call_agent error - no session data - 1000\n")
    assert db.count("vicidial_manager") == 0
    assert last(db) == ("call_agent", "1000", "CALL", "ERROR", "call_agent error - no session data", "")


@pytest.mark.parametrize("stored", ["", "|||||", None, "||2026-01-15 08:00:00|NEW|N|10.10.10.15||Originate"])
def test_call_agent_entry_is_empty(api, db, login, stored):
    """Upstream also treats ≤5 bytes as empty; a string that is not 19 fields is refused the same way."""
    login("1000")
    session_data(db, agent_login_call=stored)
    assert api("call_agent", agent_user="1000", value="CALL") == ("ERROR: call_agent error - entry is empty - 1000\n")
    assert db.count("vicidial_manager") == 0
    assert last(db) == ("call_agent", "1000", "CALL", "ERROR", "call_agent error - entry is empty", "")


@pytest.mark.parametrize(("value", "agent_user"), [("call", "1000"), ("CALLX", "1000"), ("CALL", "")])
def test_call_agent_not_valid(api, db, login, value, agent_user):
    """The document shows `6666|CALL`; upstream's code prints value first."""
    login("1000")
    session_data(db)
    assert api("call_agent", agent_user=agent_user, value=value) == (
        f"ERROR: call_agent not valid - {value}|{agent_user}\n"
    )
    assert db.count("vicidial_manager") == 0
    assert last(db) == ("call_agent", agent_user, value, "ERROR", "call_agent not valid", "")


# --- update_fields --------------------------------------------------------------------------------
def test_update_fields_document_example(api, db, login):
    login("1000", lead_id=LEAD)
    assert lead(db)["vendor_lead_code"] == "1234"
    db.update("vicidial_list", {"lead_id": LEAD}, address1="1 Main St")
    body = api("update_fields", agent_user="1000", vendor_lead_code="1234567", address1="")
    details = '6666|1000|87498|1|1|address1,vendor_lead_code|address1="",vendor_lead_code="1234567"|'
    assert body == f"SUCCESS: update_fields lead updated - {details}\n"
    row = lead(db)
    assert (row["vendor_lead_code"], row["address1"], row["first_name"]) == ("1234567", "", "Sam")
    vla = agent(db)
    assert (vla["external_update_fields"], vla["external_update_fields_data"]) == ("1", "address1,vendor_lead_code")
    assert last(db) == ("update_fields", "1000", "", "SUCCESS", "update_fields lead updated", details.replace('"', "'"))


def test_update_fields_repeat_changes_no_rows(api, db, login):
    login("1000", lead_id=LEAD)
    first = api("update_fields", agent_user="1000", first_name="Samuel")
    assert first == ('SUCCESS: update_fields lead updated - 6666|1000|87498|1|1|first_name|first_name="Samuel"|\n')
    again = api("update_fields", agent_user="1000", first_name="Samuel")
    assert again == ('SUCCESS: update_fields lead updated - 6666|1000|87498|0|0|first_name|first_name="Samuel"|\n')
    assert lead(db)["first_name"] == "Samuel"


def test_update_fields_only_sent_fields_count(api, db, login):
    """Upstream searched the raw request for each name: `emailreload` blanked email, `Frank` blanked
    rank, a value `formreload` reloaded the form (hazard). Only parameter names count here."""
    login("1000", lead_id=LEAD)
    db.update("vicidial_list", {"lead_id": LEAD}, email="sam@example.com", rank=5, city="Velocity")
    body = api(
        "update_fields",
        agent_user="1000",
        first_name="Frank",
        emailreload="1",
        comments="formreload",
        source="velocityrank",
    )
    details = '6666|1000|87498|1|1|comments,first_name,emailreload|comments="formreload",first_name="Frank"|'
    assert body == f"SUCCESS: update_fields lead updated - {details}\n"
    row = lead(db)
    assert (row["email"], row["rank"], row["city"], row["first_name"], row["comments"]) == (
        "sam@example.com",
        5,
        "Velocity",
        "Frank",
        "formreload",
    )
    assert agent(db)["external_update_fields_data"] == "comments,first_name,emailreload"


def test_update_fields_triggers_only(api, db, login):
    login("1000", lead_id=LEAD)
    before = lead(db)
    body = api("update_fields", agent_user="1000", ScriptReload="", chatreload="1", formreload="1")
    assert body == ("SUCCESS: update_fields lead updated - 6666|1000|87498|0|1|formreload,scriptreload,chatreload||\n")
    assert lead(db) == before
    assert agent(db)["external_update_fields_data"] == "formreload,scriptreload,chatreload"


def test_update_fields_does_not_know_callbacksreload(api, db, login):
    login("1000", lead_id=LEAD)
    before = screen_state(db)
    body = api("update_fields", agent_user="1000", callbacksreload="1", close_window_link="1")
    assert body == "ERROR: no fields have been defined - 1000\n" + CLOSE
    assert screen_state(db) == before
    assert last(db) == ("update_fields", "1000", "", "ERROR", "no fields have been defined", "")


def test_update_fields_typed_columns(api, db, login):
    """Values are stored as non-strict MySQL stored them, but valid under strict mode."""
    login("1000", lead_id=LEAD)
    body = api(
        "update_fields",
        agent_user="1000",
        rank="",
        gmt_offset_now="-7.5",
        date_of_birth="1980-02-30",
        gender="X",
        title="Doctor",
        first_name="A" * 40,
        postal_code="33 601",
    )
    assert body == (
        "SUCCESS: update_fields lead updated - 6666|1000|87498|1|1|"
        "date_of_birth,first_name,gender,gmt_offset_now,postal_code,title,rank|"
        f'date_of_birth="1980-02-30",first_name="{"A" * 40}",gender="X",gmt_offset_now="-7.5",'
        'postal_code="33 601",title="Doctor",rank=""|\n'
    )
    row = lead(db)
    assert (
        row["rank"],
        row["gmt_offset_now"],
        row["date_of_birth"],
        row["gender"],
        row["title"],
        row["first_name"],
        row["postal_code"],
    ) == (0, Decimal("-7.50"), None, "U", "Doct", "A" * 30, "33 601")
    api("update_fields", agent_user="1000", rank="42", gmt_offset_now="123", date_of_birth="1980-02-03", gender="F")
    row = lead(db)
    assert (row["rank"], row["gmt_offset_now"], row["date_of_birth"], row["gender"]) == (
        42,
        Decimal("99.99"),
        date(1980, 2, 3),
        "F",
    )


def test_update_fields_long_field_list_is_cut_to_the_column(api, db, login):
    login("1000", lead_id=LEAD)
    fields = {
        name: "1"
        for name in (
            "phone_code",
            "address1",
            "address2",
            "address3",
            "alt_phone",
            "city",
            "comments",
            "country_code",
            "date_of_birth",
            "email",
            "first_name",
            "gender",
            "gmt_offset_now",
            "last_name",
            "middle_initial",
            "phone_number",
            "postal_code",
            "province",
            "security_phrase",
            "source_id",
            "state",
            "title",
            "vendor_lead_code",
            "rank",
            "owner",
            "formreload",
            "scriptreload",
            "script2reload",
            "emailreload",
            "chatreload",
        )
    }
    body = api("update_fields", agent_user="1000", **fields)
    full = ",".join(fields)
    assert f"|{full}|" in body
    assert agent(db)["external_update_fields_data"] == full[:255]


def test_update_fields_by_post(api, db, login):
    login("1000", lead_id=LEAD)
    response = api.post("update_fields", agent_user="1000", last_name="Gamgee", formreload="1")
    assert response.text == (
        'SUCCESS: update_fields lead updated - 6666|1000|87498|1|1|last_name,formreload|last_name="Gamgee"|\n'
    )
    assert lead(db)["last_name"] == "Gamgee"


@pytest.mark.parametrize("modify_leads", ["0", "5", "6"])
def test_update_fields_user_not_allowed(api, db, login, modify_leads):
    login("1000", lead_id=LEAD)
    db.update("vicidial_users", {"user": "6666"}, modify_leads=modify_leads)
    before = screen_state(db)
    assert api("update_fields", agent_user="1000", first_name="X") == (
        "ERROR: user is not allowed to modify lead information - 1000|6666\n"
    )
    assert screen_state(db) == before
    assert last(db) == ("update_fields", "1000", "", "ERROR", "user is not allowed to modify lead information", "")


def test_update_fields_no_lead_on_screen(api, db, login):
    login("1000", lead_id=0)
    before = screen_state(db)
    assert api("update_fields", agent_user="1000", first_name="X") == (
        "ERROR: agent_user does not have a lead on their screen - 1000\n"
    )
    assert screen_state(db) == before
    assert last(db) == ("update_fields", "1000", "", "ERROR", "agent_user does not have a lead on their screen", "")


def test_update_fields_no_fields(api, db, login):
    login("1000", lead_id=LEAD)
    before = screen_state(db)
    assert api("update_fields", agent_user="1000", vendor_id="123") == ("ERROR: no fields have been defined - 1000\n")
    assert screen_state(db) == before


def test_update_fields_agent_user_not_valid(api, db, login):
    login("1000", lead_id=LEAD)
    before = screen_state(db)
    assert api("update_fields", agent_user="", first_name="X") == "ERROR: agent_user not valid - \n"
    assert screen_state(db) == before
    assert last(db) == ("update_fields", "", "", "ERROR", "agent_user not valid", "")


# --- refresh_panel --------------------------------------------------------------------------------
def test_refresh_panel_document_example(api, db, login):
    login("1000")  # no lead needed
    body = api("refresh_panel", agent_user="1000", scriptreload="1", script2reload="1", callbacksreload="1")
    details = "6666|1000|1|scriptreload,script2reload,callbacksreload|"
    assert body == f"SUCCESS: refresh_panel request sent - {details}\n"
    vla = agent(db)
    assert (vla["external_update_fields"], vla["external_update_fields_data"]) == (
        "1",
        "scriptreload,script2reload,callbacksreload",
    )
    assert last(db) == ("refresh_panel", "1000", "", "SUCCESS", "refresh_panel request sent", details)


def test_refresh_panel_pending_identical_request_changes_no_row(api, db, login):
    login("1000", external_update_fields="1", external_update_fields_data="formreload")
    assert api("refresh_panel", agent_user="1000", FORMRELOAD="") == (
        "SUCCESS: refresh_panel request sent - 6666|1000|0|formreload|\n"
    )


def test_refresh_panel_trigger_names_in_values_do_not_count(api, db, login):
    login("1000")
    before = screen_state(db)
    body = api("refresh_panel", agent_user="1000", source="formreload", value="chatreload", close_window_link="1")
    assert body == "ERROR: no panels have been defined - 1000\n" + CLOSE
    assert screen_state(db) == before
    assert last(db) == ("refresh_panel", "1000", "chatreload", "ERROR", "no panels have been defined", "")


def test_refresh_panel_agent_user_not_valid(api, db, login):
    login("1000")
    assert api("refresh_panel", agent_user="", formreload="1") == "ERROR: agent_user not valid - \n"
    assert agent(db)["external_update_fields"] == "0"
    assert last(db) == ("refresh_panel", "", "", "ERROR", "agent_user not valid", "")


# --- set_timer_action -----------------------------------------------------------------------------
def test_set_timer_action_document_example(api, db, login):
    login("1000")
    body = api("set_timer_action", agent_user="1000", value="MESSAGE_ONLY", notes="test+message", rank="15")
    assert body == "SUCCESS: set_timer_action lead updated - 6666|1000|MESSAGE_ONLY|test message|15\n"
    vla = agent(db)
    assert (
        vla["external_timer_action"],
        vla["external_timer_action_message"],
        vla["external_timer_action_seconds"],
    ) == ("MESSAGE_ONLY", "test message", 15)
    assert last(db) == (
        "set_timer_action",
        "1000",
        "MESSAGE_ONLY",
        "SUCCESS",
        "set_timer_action lead updated",
        "6666|1000|MESSAGE_ONLY|test message|15",
    )


def test_set_timer_action_without_rank_fires_at_once(api, db, login):
    login("1000")
    assert agent(db)["external_timer_action_seconds"] == -1
    body = api("set_timer_action", agent_user="1000", value="WEBFORM2")
    assert body == "SUCCESS: set_timer_action lead updated - 6666|1000|WEBFORM2||\n"
    vla = agent(db)
    assert (
        vla["external_timer_action"],
        vla["external_timer_action_message"],
        vla["external_timer_action_seconds"],
    ) == ("WEBFORM2", "", 0)


def test_set_timer_action_values_cut_to_their_columns(api, db, login):
    login("1000")
    value = "D1_DIAL_" + "X" * 20
    body = api("set_timer_action", agent_user="1000", value=value, rank="99999999")
    assert body == f"SUCCESS: set_timer_action lead updated - 6666|1000|{value}||99999999\n"
    vla = agent(db)
    assert (vla["external_timer_action"], vla["external_timer_action_seconds"]) == (value[:20], 8388607)


@pytest.mark.parametrize(("agent_user", "value"), [("1000", "X"), ("", "WEBFORM")])
def test_set_timer_action_not_valid(api, db, login, agent_user, value):
    """The document prints `6666`; upstream's code prints agent_user and value."""
    login("1000")
    before = screen_state(db)
    assert api("set_timer_action", agent_user=agent_user, value=value) == (
        f"ERROR: set_timer_action not valid - {agent_user}|{value}\n"
    )
    assert screen_state(db) == before
    assert last(db) == (
        "set_timer_action",
        agent_user,
        value,
        "ERROR",
        "set_timer_action not valid",
        f"{agent_user}|{value}",
    )


def test_set_timer_action_user_not_allowed(api, db, login):
    login("1000")
    db.update("vicidial_users", {"user": "6666"}, modify_campaigns="0")
    before = screen_state(db)
    assert api("set_timer_action", agent_user="1000", value="WEBFORM") == (
        "ERROR: user is not allowed to modify campaign settings - 1000|6666\n"
    )
    assert screen_state(db) == before
    assert last(db) == (
        "set_timer_action",
        "1000",
        "WEBFORM",
        "ERROR",
        "user is not allowed to modify campaign settings",
        "",
    )


def test_webphone_url_launch_link_text_is_translated(api, db, login):
    login("1000")
    session_data(db)
    db.update("system_settings", {}, enable_languages="1", language_method="MYSQL")
    db.update("vicidial_users", {"user": "6666"}, selected_language="es")
    db.insert(
        "vicidial_language_phrases",
        language_id="es",
        english_text="click here to continue. . .",
        translated_text="haga clic para continuar. . .",
    )
    body = api("webphone_url", agent_user="1000", value="LAUNCH")
    assert f'<a href="{URL}">haga clic para continuar. . .</a>\n' in body
