"""external_dial, preview_dial_action, switch_lead: every response line, its log row and its effect."""

from __future__ import annotations

import json

import pytest

from tests.support import CLOSE, FROZEN_AT, log_of, restrict_api_user

EPOCH = int(FROZEN_AT.timestamp())
DIAL = {"search": "YES", "preview": "NO", "focus": "YES"}
INBOUND_CALLERID = "Y1151030000012345678"


def vla(db, user: str = "1000") -> dict:
    return db.row("vicidial_live_agents", user=user)


# =============================================================================== external_dial ====


def dial(api, **params) -> str:
    return api("external_dial", **(DIAL | params))


def test_external_dial_standard_success_writes_the_dial_string(api, db, login):
    login("1000")
    body = dial(
        api,
        agent_user="1000",
        value="7275551212",
        phone_code="1",
        vendor_id="123456",
        dial_prefix="9",
        group_alias="TESTING",
    )
    assert (
        body == f"SUCCESS: external_dial function set - 7275551212|1000|1|YES|NO|YES|123456|{EPOCH}|9|TESTING"
        "|7275551211|\n"
    )
    assert vla(db)["external_dial"] == f"7275551212!1!YES!NO!YES!123456!{EPOCH}!9!TESTING!7275551211!!!!"
    assert db.count("vicidial_manual_dial_queue") == 0
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "SUCCESS",
        "external_dial function set",
        f"1|YES|NO|YES|123456|{EPOCH}|9|TESTING|7275551211|",
    )


def test_external_dial_value_is_reduced_to_digits(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="727-555-1212abc")
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES||{EPOCH}||||\n"
    assert vla(db)["external_dial"] == f"7275551212!!YES!NO!YES!!{EPOCH}!!!!!!!"


def test_external_dial_manualnext_is_kept(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="MANUALNEXT", preview="YES")
    assert body == f"SUCCESS: external_dial function set - MANUALNEXT|1000||YES|YES|YES||{EPOCH}||||\n"
    assert vla(db)["external_dial"] == f"MANUALNEXT!!YES!YES!YES!!{EPOCH}!!!!!!!"


@pytest.mark.parametrize(
    "params, line",
    [
        ({"agent_user": "1000", "value": "1", "phone_code": "1"}, "1|1|YES|NO|YES||1000|"),
        ({"agent_user": "1", "value": "7275551212"}, "7275551212||YES|NO|YES||1|"),
        ({"agent_user": "1000", "value": "7275551212", "search": "Y"}, "7275551212||Y|NO|YES||1000|"),
        ({"agent_user": "1000", "value": "7275551212", "preview": ""}, "7275551212||YES||YES||1000|"),
        (
            {"agent_user": "1000", "value": "7275551212", "focus": "N", "alt_user": "7"},
            "7275551212||YES|NO|N||1000|7",
        ),
    ],
)
def test_external_dial_not_valid(api, db, login, params, line):
    login("1000")
    assert dial(api, **params) == f"ERROR: external_dial not valid - {line}\n"
    assert vla(db)["external_dial"] == ""
    log = db.last_log()
    assert (log["result"], log["result_reason"], log["agent_user"]) == (
        "ERROR",
        "external_dial not valid",
        params["agent_user"],
    )


def test_external_dial_not_valid_logs_its_request_fields(api, db):
    body = api(
        "external_dial",
        agent_user="1000",
        value="72",
        phone_code="44",
        search="YES",
        preview="NO",
        lead_id="",
        close_window_link="1",
    )
    assert body == "ERROR: external_dial not valid - 72|44|YES|NO|||1000|\n" + CLOSE  # END: trailer follows
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "72",
        "ERROR",
        "external_dial not valid",
        "44|YES|NO||",
    )


def test_external_dial_lead_id_alone_is_valid(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", lead_id="12345")
    assert body == f"SUCCESS: external_dial function set - 3125551001|1000|1|YES|NO|YES||{EPOCH}||||\n"


def test_external_dial_permission_denied(api, db, login):
    login("1000")
    restrict_api_user(db)
    body = dial(api, agent_user="1000", value="7275551212", close_window_link="1")
    assert (
        body == "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 7275551212|6666|external_dial|ADMIN\n"
    )  # EXIT: no close-window link
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "ERROR",
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION",
        "",
    )


def test_external_dial_alt_user_resolves_the_agent(api, db, login):
    login("1000")
    body = dial(api, alt_user="71000", value="7275551212")
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES||{EPOCH}||||\n"
    assert vla(db)["external_dial"].startswith("7275551212!")


def test_external_dial_unknown_alt_user_ends_without_acting_on_agent_user(api, db, login):
    """Hazard fix: upstream carried on with agent_user after `no user found` and dialled for 1000."""
    login("1000")
    body = dial(api, agent_user="1000", alt_user="99999", value="7275551212")
    assert body == "ERROR: no user found - 99999\n"
    assert vla(db)["external_dial"] == ""
    assert [log_of(r) for r in db.logs()] == [("external_dial", "1000", "7275551212", "ERROR", "no user found", "")]


def test_external_dial_agent_not_logged_in(api, db):
    assert dial(api, agent_user="1000", value="7275551212") == "ERROR: agent_user is not logged in - 1000\n"
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "ERROR",
        "agent_user is not logged in",
        "",
    )


@pytest.mark.parametrize("state", [{"status": "INCALL"}, {"status": "READY"}, {"status": "PAUSED", "lead_id": 12345}])
def test_external_dial_standard_needs_a_paused_agent_without_lead(api, db, login, state):
    login("1000", **state)
    body = dial(api, agent_user="1000", value="7275551212", close_window_link="1")
    assert body == "ERROR: agent_user is not paused - 1000\n" + CLOSE
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "ERROR",
        "agent_user is not paused",
        "",
    )


def test_external_dial_valid_dial_ingroup_bypasses_the_paused_check(api, db, login):
    login("1000", status="INCALL", lead_id=12345)
    body = dial(api, agent_user="1000", value="7275551212", dial_ingroup="TEST_IN")
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES||{EPOCH}||||\n"
    assert vla(db)["external_dial"] == f"7275551212!!YES!NO!YES!!{EPOCH}!!!!!!!TEST_IN"


def test_external_dial_unknown_dial_ingroup_notice_then_success(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", dial_ingroup="FAKE_INGROUP")
    assert body == (
        "NOTICE: defined dial_ingroup not found - FAKE_INGROUP\n"
        f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES||{EPOCH}||||\n"
    )
    assert vla(db)["external_dial"] == f"7275551212!!YES!NO!YES!!{EPOCH}!!!!!!!"  # dial_ingroup cleared
    assert [log_of(r)[:5] for r in db.logs()] == [
        ("external_dial", "1000", "7275551212", "NOTICE", "defined dial_ingroup not found"),
        ("external_dial", "1000", "7275551212", "SUCCESS", "external_dial function set"),
    ]
    assert db.logs()[0]["data"] == ""


def test_external_dial_unknown_dial_ingroup_no_bypass(api, db, login):
    login("1000", status="INCALL")
    body = dial(api, agent_user="1000", value="7275551212", dial_ingroup="FAKE_INGROUP")
    assert body == ("NOTICE: defined dial_ingroup not found - FAKE_INGROUP\nERROR: agent_user is not paused - 1000\n")
    assert vla(db)["external_dial"] == ""


def test_external_dial_notice_in_json(api, db, login):
    login("1000")
    response = api.get(
        "external_dial", agent_user="1000", value="7275551212", dial_ingroup="NOPE", format="json", **DIAL
    )
    doc = json.loads(response.text)
    assert doc["result"] == "SUCCESS"
    assert doc["notices"] == [{"result": "NOTICE", "reason": "defined dial_ingroup not found", "details": ["NOPE"]}]


@pytest.mark.parametrize("manual", ["0", "2", "5"])
def test_external_dial_agent_not_allowed_manual_dial(api, db, login, manual):
    login("1000")
    db.update("vicidial_users", {"user": "1000"}, agentcall_manual=manual)
    body = dial(api, agent_user="1000", value="7275551212")
    assert body == "ERROR: agent_user is not allowed to place manual dial calls - 1000\n"
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "ERROR",
        "agent_user is not allowed to place manual dial calls",
        "",
    )


def test_external_dial_unknown_group_alias(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", group_alias="NOPE", close_window_link="1")
    assert body == "ERROR: group_alias is not valid - 1000|NOPE\n"  # EXIT
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "ERROR",
        "group_alias is not valid",
        "NOPE",
    )


@pytest.mark.parametrize("cid", ["3", "", "0", "abc", "12abc", None])
def test_external_dial_group_alias_caller_id_not_valid(api, db, login, cid):
    login("1000")
    db.insert("groups_alias", group_alias_id="LOWCID", caller_id_number=cid, active="Y")
    body = dial(api, agent_user="1000", value="7275551212", group_alias="LOWCID", close_window_link="1")
    shown = cid or ""
    assert body == f"ERROR: caller_id_number from group_alias is not valid - 1000|LOWCID|{shown}\n"
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "ERROR",
        "caller_id_number from group_alias is not valid",
        f"LOWCID|{shown}",
    )


def test_external_dial_group_alias_caller_id_is_compared_as_a_number(api, db, login):
    """Upstream compares `caller_id_number < 4` numerically: `123` passes (kept, see compat notes)."""
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", group_alias="BADCID")
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES||{EPOCH}||BADCID|123|\n"
    assert vla(db)["external_dial"] == f"7275551212!!YES!NO!YES!!{EPOCH}!!BADCID!123!!!!"


def test_external_dial_one_character_group_alias_is_ignored(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", group_alias="X")
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES||{EPOCH}||X||\n"


def test_external_dial_outbound_cid_not_allowed(api, db, login):
    login("1000")
    db.update("system_settings", {}, outbound_cid_any="DISABLED")
    body = dial(api, agent_user="1000", value="7275551212", outbound_cid="3125551212", close_window_link="1")
    assert body == "ERROR: outbound_cid is not allowed on this system - 1000|3125551212|DISABLED\n"
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "ERROR",
        "outbound_cid is not allowed on this system",
        "3125551212|DISABLED",
    )


def test_external_dial_outbound_cid_forces_the_caller_id(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", group_alias="TESTING", outbound_cid="3125559999")
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES||{EPOCH}||-FORCE-|3125559999|\n"
    assert vla(db)["external_dial"] == f"7275551212!!YES!NO!YES!!{EPOCH}!!-FORCE-!3125559999!!!!"


def test_external_dial_vtiger_callback_without_integration_dials_the_number(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="9900012345", vtiger_callback="YES")
    assert body == f"SUCCESS: external_dial function set - 12345|1000||YES|NO|YES||{EPOCH}||||\n"
    assert vla(db)["external_dial"] == f"12345!!YES!NO!YES!!{EPOCH}!!!!!!!"
    assert db.last_log()["value"] == "12345"


def test_external_dial_vtiger_callback_needs_yes_and_99(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="9912345", vtiger_callback="yes")  # filter keeps A-Z only
    assert body.startswith("SUCCESS: external_dial function set - 9912345|1000|")


def test_external_dial_vtiger_callback_with_integration_reports_unknown_activity(api, db, login):
    """No vtiger database is reachable: the documented error, never a connection line with credentials."""
    login("1000")
    db.update(
        "system_settings",
        {},
        enable_vtiger_integration="1",
        vtiger_server_ip="10.0.0.9",
        vtiger_dbname="vtigercrm",
        vtiger_login="vtlogin",
        vtiger_pass="s3cretpw",
    )
    body = dial(api, agent_user="1000", value="9912345", vtiger_callback="YES", close_window_link="1")
    assert body == "ERROR: vtiger callback activity does not exist in vtiger system - 12345\n"
    assert vla(db)["external_dial"] == ""
    log = db.last_log()
    assert log_of(log) == (
        "external_dial",
        "1000",
        "12345",
        "ERROR",
        "vtiger callback activity does not exist in vtiger system",
        "",
    )
    assert "s3cretpw" not in str(db.logs()) and "vtlogin" not in body


@pytest.mark.parametrize(
    "alt_dial, number",
    [
        ("", "3125551003"),
        ("MAIN", "3125551003"),
        ("ALT", "3125551903"),
        ("ADDR3", "3125551803"),
        ("FOO", "3125551003"),
    ],
)
def test_external_dial_lead_id_dials_the_lead_number(api, db, login, alt_dial, number):
    login("1000")
    db.update("vicidial_list", {"lead_id": 12347}, phone_code="44")
    body = dial(api, agent_user="1000", value="7275551212", phone_code="1", lead_id="12347", alt_dial=alt_dial)
    assert body == f"SUCCESS: external_dial function set - {number}|1000|44|YES|NO|YES||{EPOCH}||||{alt_dial}\n"
    assert vla(db)["external_dial"] == f"{number}!44!YES!NO!YES!!{EPOCH}!!!!!12347!{alt_dial}!"


def test_external_dial_lead_id_not_valid(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", lead_id="1234567", close_window_link="1")
    assert body == "ERROR: lead_id is not valid - 1000|1234567\n"
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == ("external_dial", "1000", "", "ERROR", "lead_id is not valid", "1234567")


def test_external_dial_lead_id_beyond_the_column_range_is_not_valid(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", lead_id="99999999999999999999999")
    assert body == "ERROR: lead_id is not valid - 1000|99999999999999999999999\n"


def test_external_dial_lead_phone_number_not_valid(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", lead_id="12345", alt_dial="ALT", close_window_link="1")
    assert body == "ERROR: phone number is not valid - 1000||12345|ALT\n"
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "",
        "ERROR",
        "phone number is not valid",
        "|12345|ALT",
    )


@pytest.mark.parametrize(
    "value, alt_dial, number",
    [
        ("3125551003", "MAIN", "3125551003"),
        ("3125551903", "ALT", "3125551903"),
        ("3125551803", "ADDR3", "3125551803"),
    ],
)
def test_external_dial_lead_search_picks_the_matching_number(api, db, login, value, alt_dial, number):
    login("1000")
    body = dial(api, agent_user="1000", value=value, lead_id="12347", alt_dial="SEARCH")
    assert body == f"SUCCESS: external_dial function set - {number}|1000|1|YES|NO|YES||{EPOCH}||||{alt_dial}\n"
    assert vla(db)["external_dial"] == f"{number}!1!YES!NO!YES!!{EPOCH}!!!!!12347!{alt_dial}!"


def test_external_dial_lead_search_main_number_wins(api, db, login):
    login("1000")
    db.update("vicidial_list", {"lead_id": 12347}, alt_phone="3125551003", address3="3125551003")
    body = dial(api, agent_user="1000", value="3125551003", lead_id="12347", alt_dial="SEARCH")
    assert body.endswith("||||MAIN\n")


def test_external_dial_lead_search_not_found(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", lead_id="12347", alt_dial="SEARCH", close_window_link="1")
    assert body == "ERROR: phone number lead_id search not found - 1000||12347|\n"
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "",
        "ERROR",
        "phone number lead_id search not found",
        "|12347|",
    )


def test_external_dial_lead_search_matches_formatted_stored_numbers(api, db, login):
    """Hazard fix: upstream compared digits with the stored text, so `312-555-1903` never matched."""
    login("1000")
    db.update("vicidial_list", {"lead_id": 12347}, alt_phone="312-555-1903")
    body = dial(api, agent_user="1000", value="3125551903", lead_id="12347", alt_dial="SEARCH")
    assert body.startswith("SUCCESS: external_dial function set - 3125551903|1000|1|")
    assert body.endswith("||||ALT\n")


def test_external_dial_lead_search_with_no_number_finds_nothing(api, db, login):
    """Hazard fix: upstream matched an empty number with an empty alt_phone and then failed differently."""
    login("1000")
    body = dial(api, agent_user="1000", lead_id="12345", alt_dial="SEARCH")
    assert body == "ERROR: phone number lead_id search not found - 1000||12345|\n"


def test_external_dial_lead_search_on_a_missing_lead(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", lead_id="555", alt_dial="SEARCH")
    assert body == "ERROR: lead_id is not valid - 1000|555\n"


def test_external_dial_queue_mode_inserts_into_the_manual_dial_queue(api, db, login):
    login("1000", campaign_id="MANCAMP", status="INCALL", lead_id=12352)  # queue mode: no paused check
    body = dial(api, agent_user="1000", value="7275551212", phone_code="1")
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000|1|YES|NO|YES||{EPOCH}||||\n"
    assert vla(db)["external_dial"] == ""
    queued = db.row("vicidial_manual_dial_queue", user="1000")
    assert (queued["phone_number"], queued["status"], queued["entry_time"], queued["external_dial"]) == (
        "7275551212",
        "READY",
        FROZEN_AT,
        f"7275551212!1!YES!NO!YES!!{EPOCH}!!!!!!!",
    )


def test_external_dial_queue_mode_refuses_a_number_already_queued(api, db, login):
    login("1000", campaign_id="MANCAMP")
    db.insert(
        "vicidial_manual_dial_queue",
        user="1000",
        phone_number="7275551212",
        status="QUEUE",
        external_dial="old",
        entry_time=FROZEN_AT,
    )
    body = dial(api, agent_user="1000", value="7275551212", close_window_link="1")
    assert body == "ERROR: phone_number is already in this agents manual dial queue - 1000|7275551212\n" + CLOSE
    assert [r["external_dial"] for r in db.rows("vicidial_manual_dial_queue")] == ["old"]
    assert log_of(db.last_log()) == (
        "external_dial",
        "1000",
        "7275551212",
        "ERROR",
        "phone_number is already in this agents manual dial queue",
        "",
    )


def test_external_dial_another_agents_queue_does_not_count(api, db, login):
    login("1000", campaign_id="MANCAMP")
    db.insert("vicidial_manual_dial_queue", user="1001", phone_number="7275551212", status="READY")
    assert dial(api, agent_user="1000", value="7275551212").startswith("SUCCESS: ")
    assert db.count("vicidial_manual_dial_queue", user="1000") == 1


def test_external_dial_campaign_missing_uses_the_queue(api, db, login):
    login("1000", campaign_id="GONE", status="INCALL")
    assert dial(api, agent_user="1000", value="7275551212").startswith("SUCCESS: external_dial function set")
    assert db.count("vicidial_manual_dial_queue", user="1000", phone_number="7275551212") == 1


def test_external_dial_vendor_id_cannot_shift_dial_fields(api, db, login):
    """Hazard fix: `!` in vendor_id would shift the dial-string fields; quotes are harmless data."""
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", vendor_id="A!B'C\"D")
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES|AB'C\"D|{EPOCH}||||\n"
    stored = vla(db)["external_dial"]
    assert stored == f"7275551212!!YES!NO!YES!AB'C\"D!{EPOCH}!!!!!!!"
    assert len(stored.split("!")) == 14
    assert db.last_log()["data"] == f"|YES|NO|YES|AB'C'D|{EPOCH}||||"


def test_external_dial_long_dial_string_is_cut_to_the_column(api, db, login):
    login("1000")
    body = dial(api, agent_user="1000", value="7275551212", vendor_id="V" * 120)
    assert body == f"SUCCESS: external_dial function set - 7275551212|1000||YES|NO|YES|{'V' * 120}|{EPOCH}||||\n"
    assert vla(db)["external_dial"] == f"7275551212!!YES!NO!YES!{'V' * 120}"[:100]


def test_external_dial_documented_example(api, db, login):
    login("1000")
    body = api.client.get(
        "/agc/api.php?source=test&user=6666&pass=1234&agent_user=1000&function=external_dial"
        "&value=7275551212&phone_code=1&search=YES&preview=NO&focus=YES&dial_prefix=88"
        "&group_alias=DEFAULT"
    ).text
    assert (
        body == f"SUCCESS: external_dial function set - 7275551212|1000|1|YES|NO|YES||{EPOCH}|88|DEFAULT|3125551212|\n"
    )


# ========================================================================= preview_dial_action ====


def test_preview_dial_action_success(api, db, login):
    login("1000")
    body = api("preview_dial_action", agent_user="1000", value="DIALONLY")
    assert body == "SUCCESS: preview_dial_action function set - DIALONLY|1000|DIALONLY\n"
    assert vla(db)["external_dial"] == "DIALONLY"
    assert log_of(db.last_log()) == (
        "preview_dial_action",
        "1000",
        "DIALONLY",
        "SUCCESS",
        "preview_dial_action function set",
        "DIALONLY",
    )


@pytest.mark.parametrize("value", ["SKIP", "ALTDIAL", "ADR3DIAL", "FINISH"])
def test_preview_dial_action_every_action(api, db, login, value):
    login("1000")
    assert api("preview_dial_action", agent_user="1000", value=value) == (
        f"SUCCESS: preview_dial_action function set - {value}|1000|{value}\n"
    )
    assert vla(db)["external_dial"] == value


@pytest.mark.parametrize(
    "params, line",
    [
        ({"agent_user": "1000", "value": "skip"}, "||1000|"),
        ({"agent_user": "1000", "value": "SKIPX"}, "SKIPX||1000|"),
        ({"agent_user": "1000", "value": "SKIP_IT"}, "SKIPIT||1000|"),
        ({"agent_user": "1", "value": "SKIP"}, "SKIP||1|"),
        ({"agent_user": "", "alt_user": "7", "value": "SKIP"}, "SKIP|||7"),
    ],
)
def test_preview_dial_action_not_valid(api, db, login, params, line):
    login("1000")
    body = api("preview_dial_action", close_window_link="1", **params)
    assert body == f"ERROR: preview_dial_action not valid - {line}\n" + CLOSE
    assert vla(db)["external_dial"] == ""
    log = db.last_log()
    assert (log["result_reason"], log["data"]) == ("preview_dial_action not valid", "")


def test_preview_dial_action_not_valid_keeps_the_value_as_filtered(api, db, login):
    """`-` and `_` pass the global filter but not this function's A-Z0-9 one: `DIAL-ONLY` is `DIALONLY`."""
    login("1000")
    assert api("preview_dial_action", agent_user="1000", value="DIAL-ONLY").startswith("SUCCESS: ")


def test_preview_dial_action_permission_denied(api, db, login):
    login("1000")
    restrict_api_user(db)
    body = api("preview_dial_action", agent_user="1000", value="SKIP")
    assert (
        body == "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - SKIP|6666|preview_dial_action|ADMIN\n"
    )
    assert vla(db)["external_dial"] == ""


def test_preview_dial_action_alt_user(api, db, login):
    login("1001")
    body = api("preview_dial_action", alt_user="71001", value="SKIP")
    assert body == "SUCCESS: preview_dial_action function set - SKIP|1001|SKIP\n"
    assert vla(db, "1001")["external_dial"] == "SKIP"


def test_preview_dial_action_unknown_alt_user_ends(api, db, login):
    login("1000")
    body = api("preview_dial_action", agent_user="1000", alt_user="424242", value="SKIP")
    assert body == "ERROR: no user found - 424242\n"
    assert vla(db)["external_dial"] == ""
    assert len(db.logs()) == 1


def test_preview_dial_action_not_logged_in(api, db):
    assert api("preview_dial_action", agent_user="1000", value="SKIP") == (
        "ERROR: agent_user is not logged in - 1000\n"
    )


@pytest.mark.parametrize(
    "setting, value, line, data",
    [
        (
            {"manual_preview_dial": "DISABLED"},
            "DIALONLY",
            "preview dialing not allowed on this campaign - 1000|TESTCAMP|DISABLED",
            "TESTCAMP|DISABLED",
        ),
        (
            {"manual_preview_dial": "PREVIEW_ONLY"},
            "SKIP",
            "preview dial skipping not allowed on this campaign - 1000|TESTCAMP|PREVIEW_ONLY",
            "TESTCAMP|PREVIEW_ONLY",
        ),
        (
            {"alt_number_dialing": "N"},
            "ADR3DIAL",
            "alt number dialing not allowed on this campaign - 1000|TESTCAMP|N",
            "TESTCAMP|N",
        ),
    ],
)
def test_preview_dial_action_campaign_refusals(api, db, login, setting, value, line, data):
    login("1000")
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, **setting)
    body = api("preview_dial_action", agent_user="1000", value=value, close_window_link="1")
    assert body == f"ERROR: {line}\n"  # EXIT
    assert vla(db)["external_dial"] == ""
    log = db.last_log()
    assert (log["result"], log["result_reason"], log["data"], log["value"]) == (
        "ERROR",
        line.split(" - ")[0],
        data,
        value,
    )


def test_preview_dial_action_preview_only_allows_dialing(api, db, login):
    login("1000", campaign_id="MANCAMP")
    db.update("vicidial_campaigns", {"campaign_id": "MANCAMP"}, alt_number_dialing="Y")
    assert api("preview_dial_action", agent_user="1000", value="FINISH").startswith("SUCCESS: ")


def test_preview_dial_action_missing_campaign_passes(api, db, login):
    login("1000", campaign_id="GONE")
    assert api("preview_dial_action", agent_user="1000", value="SKIP") == (
        "SUCCESS: preview_dial_action function set - SKIP|1000|SKIP\n"
    )


def test_preview_dial_action_agent_not_paused(api, db, login):
    login("1000", status="INCALL", lead_id=12345)
    body = api("preview_dial_action", agent_user="1000", value="SKIP")
    assert body == "ERROR: agent_user is not paused - 1000\n"
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log()) == (
        "preview_dial_action",
        "1000",
        "SKIP",
        "ERROR",
        "agent_user is not paused",
        "",
    )


def test_preview_dial_action_agent_not_allowed_manual_dial(api, db, login):
    login("1000")
    db.update("vicidial_users", {"user": "1000"}, agentcall_manual="3")
    body = api("preview_dial_action", agent_user="1000", value="SKIP")
    assert body == "ERROR: agent_user is not allowed to place manual dial calls - 1000\n"
    assert vla(db)["external_dial"] == ""
    assert log_of(db.last_log())[3:5] == ("ERROR", "agent_user is not allowed to place manual dial calls")


# ================================================================================ switch_lead ====


def on_inbound_call(login, user: str = "1000", **overrides) -> None:
    login(user, **({"status": "INCALL", "lead_id": 12346, "callerid": INBOUND_CALLERID} | overrides))


def test_switch_lead_by_lead_id(api, db, login):
    on_inbound_call(login)
    body = api("switch_lead", agent_user="1000", lead_id="12345")
    assert body == "SUCCESS: switch_lead function set - 1000|12345|1234567890|TESTCAMP|12346|\n"
    row = vla(db)
    assert (row["external_lead_id"], row["lead_id"]) == (12345, 12346)
    assert log_of(db.last_log()) == (
        "switch_lead",
        "1000",
        "",
        "SUCCESS",
        "switch_lead function set",
        "12345|1234567890|TESTCAMP|12346",
    )


def test_switch_lead_vendor_lead_code_wins_and_takes_the_newest_lead(api, db, login):
    on_inbound_call(login)
    newer = db.insert(
        "vicidial_list", phone_number="3125559999", list_id=101, vendor_lead_code="1234567890", status="NEW"
    )
    body = api("switch_lead", agent_user="1000", lead_id="12347", vendor_lead_code="1234567890")
    assert body == f"SUCCESS: switch_lead function set - 1000|{newer}|1234567890|TESTCAMP|12346|\n"
    assert vla(db)["external_lead_id"] == newer


def test_switch_lead_vendor_lead_code_is_matched_exactly(api, db, login):
    """Hazard fix: upstream interpolated vendor_lead_code into SQL; a quote is just a character here."""
    on_inbound_call(login)
    body = api("switch_lead", agent_user="1000", vendor_lead_code="x' OR '1'='1")
    assert body == "ERROR: switch-to lead not found - 1000||x' OR '1'='1\n"
    assert vla(db)["external_lead_id"] == 0


@pytest.mark.parametrize(
    "params, line",
    [
        ({"agent_user": "1000"}, "||1000"),
        ({"agent_user": "1000", "lead_id": "0"}, "0||1000"),
        ({"agent_user": "", "alt_user": "7", "lead_id": "12345"}, "12345||"),
    ],
)
def test_switch_lead_not_valid(api, db, login, params, line):
    on_inbound_call(login)
    body = api("switch_lead", close_window_link="1", **params)
    assert body == f"ERROR: switch_lead not valid - {line}\n" + CLOSE
    assert vla(db)["external_lead_id"] == 0
    log = db.last_log()
    assert (log["result_reason"], log["data"]) == ("switch_lead not valid", "")


def test_switch_lead_permission_denied_names_the_lead(api, db, login):
    on_inbound_call(login)
    restrict_api_user(db)
    body = api("switch_lead", agent_user="1000", lead_id="12345")
    assert body == "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 12345|6666|switch_lead|ADMIN\n"
    assert vla(db)["external_lead_id"] == 0


def test_switch_lead_alt_user(api, db, login):
    on_inbound_call(login, "1001")
    body = api("switch_lead", alt_user="71001", lead_id="12345")
    assert body == "SUCCESS: switch_lead function set - 1001|12345|1234567890|TESTCAMP|12346|\n"


def test_switch_lead_unknown_alt_user_ends(api, db, login):
    on_inbound_call(login)
    assert api("switch_lead", agent_user="1000", alt_user="4242", lead_id="12345") == "ERROR: no user found - 4242\n"
    assert vla(db)["external_lead_id"] == 0


def test_switch_lead_not_logged_in(api, db):
    assert api("switch_lead", agent_user="1000", lead_id="12345") == "ERROR: agent_user is not logged in - 1000\n"


@pytest.mark.parametrize("state", [{"lead_id": 0}, {"callerid": "Y11510300000123"}, {"callerid": ""}])
def test_switch_lead_needs_a_live_call(api, db, login, state):
    on_inbound_call(login, **state)
    body = api("switch_lead", agent_user="1000", lead_id="12345")
    assert body == "ERROR: agent_user does not have a live call - 1000\n"
    assert vla(db)["external_lead_id"] == 0
    assert log_of(db.last_log()) == (
        "switch_lead",
        "1000",
        "",
        "ERROR",
        "agent_user does not have a live call",
        "",
    )


def test_switch_lead_call_not_inbound_has_no_newline(api, db, login):
    on_inbound_call(login, callerid="V2012367890123456789")
    body = api("switch_lead", agent_user="1000", lead_id="12345", close_window_link="1")
    assert body == "ERROR: agent call is not inbound - 1000|V2012367890123456789" + CLOSE
    assert vla(db)["external_lead_id"] == 0
    assert log_of(db.last_log()) == ("switch_lead", "1000", "", "ERROR", "agent call is not inbound", "")


def test_switch_lead_campaign_not_found(api, db, login):
    on_inbound_call(login, campaign_id="GONE")
    assert api("switch_lead", agent_user="1000", lead_id="12345") == "ERROR: campaign not found - 1000|GONE\n"
    assert vla(db)["external_lead_id"] == 0


@pytest.mark.parametrize("search", ["DISABLED", "ENABLED"])
def test_switch_lead_campaign_without_inbound_lead_search(api, db, login, search):
    on_inbound_call(login)
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, agent_lead_search=search)
    body = api("switch_lead", agent_user="1000", lead_id="12345")
    assert body == "ERROR: campaign does not allow inbound lead search - 1000|TESTCAMP\n"
    assert vla(db)["external_lead_id"] == 0


def test_switch_lead_inbound_only_search_is_enough(api, db, login):
    on_inbound_call(login)
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, agent_lead_search="LIVE_CALL_INBOUND")
    assert api("switch_lead", agent_user="1000", lead_id="12345").startswith("SUCCESS: switch_lead function set")


def test_switch_lead_lead_not_found(api, db, login):
    on_inbound_call(login)
    body = api("switch_lead", agent_user="1000", lead_id="999999")
    assert body == "ERROR: switch-to lead not found - 1000|999999|\n"
    assert vla(db)["external_lead_id"] == 0
    assert log_of(db.last_log()) == ("switch_lead", "1000", "", "ERROR", "switch-to lead not found", "")
