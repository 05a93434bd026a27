"""external_add_lead, st_login_log, st_get_agent_active_lead: every line, its log row and its effect."""

from __future__ import annotations

import pytest

from openagc.api.functions import leads
from tests.support import CLOSE, FROZEN_AT, log_of, restrict_api_user


def leads_count(db) -> int:
    return db.count("vicidial_list")


# =========================================================================== external_add_lead ====


def test_external_add_lead_success_inserts_the_lead(api, db, login):
    login("1000")
    before = leads_count(db)
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275551299",
        phone_code="1",
        first_name="Bob",
        last_name="Smith",
        vendor_lead_code="VLC1",
        source_id="WEB",
        title="Mr",
        middle_initial="Q",
        address1="1 Main+St",
        address2="Apt 2",
        address3="c/o Ann",
        city="Tampa",
        state="FL",
        province="Hillsborough",
        postal_code="33601",
        country_code="USA",
        gender="M",
        date_of_birth="1970-02-03",
        alt_phone="7275550101",
        email="bob@example.com",
        security_phrase="blue",
        comments="call+after 5",
        rank="7",
        owner="1000",
        gmt_offset_now="-5",
    )
    lead = db.rows("vicidial_list", phone_number="7275551299")
    assert len(lead) == 1 and leads_count(db) == before + 1
    lead = lead[0]
    lead_id = lead["lead_id"]
    assert body == f"SUCCESS: lead added - 7275551299|TESTCAMP|101|{lead_id}|1000\n"
    expected = {
        "phone_code": "1",
        "phone_number": "7275551299",
        "list_id": 101,
        "status": "NEW",
        "user": "6666",
        "vendor_lead_code": "VLC1",
        "source_id": "WEB",
        "title": "Mr",
        "first_name": "Bob",
        "middle_initial": "Q",
        "last_name": "Smith",
        "address1": "1 Main St",
        "address2": "Apt 2",
        "address3": "c/o Ann",
        "city": "Tampa",
        "state": "FL",
        "province": "Hillsborough",
        "postal_code": "33601",
        "country_code": "USA",
        "gender": "M",
        "alt_phone": "7275550101",
        "email": "bob@example.com",
        "security_phrase": "blue",
        "comments": "call after 5",
        "rank": 7,
        "owner": "1000",
        "called_since_last_reset": "N",
        "entry_date": FROZEN_AT,
        "last_local_call_time": FROZEN_AT,
        "called_count": 0,
        "entry_list_id": 0,
    }
    assert {k: lead[k] for k in expected} == expected
    assert str(lead["date_of_birth"]) == "1970-02-03"
    assert float(lead["gmt_offset_now"]) == 0.0  # documented but never written
    assert log_of(db.last_log()) == (
        "external_add_lead",
        "1000",
        "7275551299",
        "SUCCESS",
        "lead added",
        f"7275551299|101|{lead_id}",
    )


def test_external_add_lead_value_wins_over_phone_number(api, db, login):
    login("1000")
    body = api("external_add_lead", agent_user="1000", value="7275551288", phone_number="7275551277", phone_code="1")
    assert body.startswith("SUCCESS: lead added - 7275551288|TESTCAMP|101|")
    assert db.count("vicidial_list", phone_number="7275551288") == 1
    assert db.count("vicidial_list", phone_number="7275551277") == 0


def test_external_add_lead_minimal_lead_is_valid_under_strict_sql(api, db, login):
    """Hazard fix: upstream wrote rank='' and date_of_birth='' (strict SQL rejects them): 0 and NULL."""
    login("1000")
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275551266",
        phone_code="1",
        gender="X",
        date_of_birth="1970-13-45",
    )
    lead = db.row("vicidial_list", phone_number="7275551266")
    assert body == f"SUCCESS: lead added - 7275551266|TESTCAMP|101|{lead['lead_id']}|1000\n"
    assert (
        lead["rank"],
        lead["date_of_birth"],
        lead["gender"],
        lead["first_name"],
        lead["vendor_lead_code"],
    ) == (0, None, "U", "", "")


def test_external_add_lead_vendor_id_replaces_vendor_lead_code(api, db, login):
    login("1000")
    api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275551255",
        phone_code="1",
        vendor_lead_code="OLD",
        vendor_id="NEW'1",
    )
    assert db.row("vicidial_list", phone_number="7275551255")["vendor_lead_code"] == "NEW'1"


def test_external_add_lead_values_are_cut_to_their_columns(api, db, login):
    login("1000")
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="1" * 25,
        phone_code="12345678901X",
        first_name="F" * 40,
        state="Florida",
        rank="99999",
    )
    lead = db.row("vicidial_list", phone_number="1" * 18)
    assert body == f"SUCCESS: lead added - {'1' * 25}|TESTCAMP|101|{lead['lead_id']}|1000\n"
    assert (lead["phone_code"], lead["first_name"], lead["state"], lead["rank"]) == (
        "12345678901"[:10],
        "F" * 30,
        "Fl",
        32767,
    )


def test_external_add_lead_quotes_are_data_not_sql(api, db, login):
    """Hazard fix: upstream put vendor_id/comments in a double-quoted SQL literal."""
    login("1000")
    before = leads_count(db)
    text = 'x",status="HACK'
    body = api("external_add_lead", agent_user="1000", phone_number="7275551244", phone_code="1", comments=text)
    assert body.startswith("SUCCESS: lead added - 7275551244|")
    lead = db.row("vicidial_list", phone_number="7275551244")
    assert (lead["comments"], lead["status"]) == (text, "NEW")
    assert leads_count(db) == before + 1


@pytest.mark.parametrize(
    "params, line, data",
    [
        ({"agent_user": "1000", "phone_number": "7275551212"}, "7275551212||1000|", "7275551212|"),
        ({"agent_user": "1000", "phone_code": "1", "phone_number": "7"}, "|1|1000|", "|1"),
        ({"agent_user": "1", "phone_code": "1", "value": "7275551212"}, "7275551212|1|1|", "7275551212|1"),
        ({"alt_user": "7", "phone_code": "1", "value": "7275551212"}, "7275551212|1||7", "7275551212|1"),
    ],
)
def test_external_add_lead_not_valid(api, db, login, params, line, data):
    login("1000")
    before = leads_count(db)
    body = api("external_add_lead", close_window_link="1", **params)
    assert body == f"ERROR: external_add_lead not valid - {line}\n"  # EXIT: no close-window link
    assert leads_count(db) == before
    log = db.last_log()
    assert (log["result"], log["result_reason"], log["data"]) == (
        "ERROR",
        "external_add_lead not valid",
        data,
    )


def test_external_add_lead_permission_denied(api, db, login):
    login("1000")
    restrict_api_user(db)
    before = leads_count(db)
    body = api("external_add_lead", agent_user="1000", phone_number="7275551212", phone_code="1")
    assert body == (
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 7275551212|6666|external_add_lead|ADMIN\n"
    )
    assert leads_count(db) == before
    assert log_of(db.last_log()) == (
        "external_add_lead",
        "1000",
        "7275551212",
        "ERROR",
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION",
        "",
    )


def test_external_add_lead_alt_user(api, db, login):
    login("1001")
    body = api("external_add_lead", alt_user="71001", phone_number="7275551233", phone_code="1")
    lead = db.row("vicidial_list", phone_number="7275551233")
    assert body == f"SUCCESS: lead added - 7275551233|TESTCAMP|101|{lead['lead_id']}|1001\n"


def test_external_add_lead_unknown_alt_user_ends(api, db, login):
    """Hazard fix: upstream went on adding the lead for agent_user after `no user found`."""
    login("1000")
    before = leads_count(db)
    body = api("external_add_lead", agent_user="1000", alt_user="4242", phone_number="7275551212", phone_code="1")
    assert body == "ERROR: no user found - 4242\n"
    assert leads_count(db) == before
    assert [log_of(r) for r in db.logs()] == [("external_add_lead", "1000", "7275551212", "ERROR", "no user found", "")]


def test_external_add_lead_agent_not_logged_in(api, db):
    before = leads_count(db)
    body = api("external_add_lead", agent_user="1000", phone_number="7275551212", phone_code="1")
    assert body == "ERROR: agent_user is not logged in - 1000\n"
    assert leads_count(db) == before


def test_external_add_lead_campaign_undefined(api, db, login):
    login("1000", campaign_id="GONE")
    before = leads_count(db)
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275551212",
        phone_code="1",
        close_window_link="1",
    )
    assert body == "ERROR: campaign manual dial list undefined - 7275551212||1000\n" + CLOSE
    assert leads_count(db) == before
    assert log_of(db.last_log()) == (
        "external_add_lead",
        "1000",
        "7275551212",
        "ERROR",
        "campaign manual dial list undefined",
        "",
    )


@pytest.mark.parametrize("flag", ["YES", "Y"])
def test_external_add_lead_system_dnc(api, db, login, flag):
    login("1000")
    before = leads_count(db)
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275550000",
        phone_code="1",
        dnc_check=flag,
        close_window_link="1",
    )
    assert body == "ERROR: add_lead PHONE NUMBER IN DNC - 7275550000|1000\n" + CLOSE
    assert leads_count(db) == before
    assert log_of(db.last_log()) == (
        "external_add_lead",
        "1000",
        "7275550000",
        "ERROR",
        "add_lead PHONE NUMBER IN DNC",
        "7275550000",
    )


@pytest.mark.parametrize("flag", ["", "NO", "yes"])
def test_external_add_lead_dnc_checked_only_on_request(api, db, login, flag):
    login("1000")
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275550000",
        phone_code="1",
        dnc_check=flag,
        campaign_dnc_check=flag,
    )
    assert body.startswith("SUCCESS: lead added - 7275550000|TESTCAMP|101|")


def test_external_add_lead_campaign_dnc(api, db, login):
    login("1000")
    before = leads_count(db)
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275550001",
        phone_code="1",
        campaign_dnc_check="YES",
        dnc_check="YES",
    )
    assert body == "ERROR: add_lead PHONE NUMBER IN CAMPAIGN DNC - 7275550001|TESTCAMP|1000\n"
    assert leads_count(db) == before
    assert log_of(db.last_log()) == (
        "external_add_lead",
        "1000",
        "7275550001",
        "ERROR",
        "add_lead PHONE NUMBER IN CAMPAIGN DNC",
        "7275550001|TESTCAMP",
    )


def test_external_add_lead_both_dnc_lists_print_both_lines(api, db, login):
    login("1000")
    db.insert("vicidial_dnc", phone_number="7275550001")
    before = leads_count(db)
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275550001",
        phone_code="1",
        campaign_dnc_check="Y",
        dnc_check="Y",
    )
    assert body == (
        "ERROR: add_lead PHONE NUMBER IN DNC - 7275550001|1000\n"
        "ERROR: add_lead PHONE NUMBER IN CAMPAIGN DNC - 7275550001|TESTCAMP|1000\n"
    )
    assert leads_count(db) == before
    assert [log_of(r)[4:] for r in db.logs()] == [
        ("add_lead PHONE NUMBER IN DNC", "7275550001"),
        ("add_lead PHONE NUMBER IN CAMPAIGN DNC", "7275550001|TESTCAMP"),
    ]


def test_external_add_lead_other_campaign_dnc_replaces_its_own(api, db, login):
    login("1000")
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, use_other_campaign_dnc="MANCAMP")
    db.insert("vicidial_campaign_dnc", phone_number="7275550002", campaign_id="MANCAMP")
    body = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275550002",
        phone_code="1",
        campaign_dnc_check="YES",
    )
    assert body == "ERROR: add_lead PHONE NUMBER IN CAMPAIGN DNC - 7275550002|TESTCAMP|1000\n"
    own = api(
        "external_add_lead",
        agent_user="1000",
        phone_number="7275550001",
        phone_code="1",
        campaign_dnc_check="YES",
    )
    assert own.startswith("SUCCESS: lead added - 7275550001|TESTCAMP|101|")


def test_external_add_lead_uses_the_campaign_manual_dial_list(api, db, login):
    login("1000", campaign_id="MANCAMP")
    body = api("external_add_lead", agent_user="1000", phone_number="8135559999", phone_code="1")
    lead = db.row("vicidial_list", phone_number="8135559999")
    assert body == f"SUCCESS: lead added - 8135559999|MANCAMP|102|{lead['lead_id']}|1000\n"
    assert lead["list_id"] == 102


def test_external_add_lead_insertion_failed(api, db, login, monkeypatch):
    """An insert that wrote no row; the log no longer carries the INSERT statement (hazard fix)."""

    async def no_row(call, row):
        return None

    monkeypatch.setattr(leads, "_insert_lead", no_row)
    login("1000")
    before = leads_count(db)
    body = api("external_add_lead", agent_user="1000", phone_number="7275551212", phone_code="1", first_name="Bob")
    assert body == "ERROR: lead insertion failed - 7275551212|TESTCAMP|101|1000\n"
    assert leads_count(db) == before
    assert log_of(db.last_log()) == (
        "external_add_lead",
        "1000",
        "7275551212",
        "ERROR",
        "lead insertion failed",
        "7275551212|101|",
    )


# ================================================================================ st_login_log ====


def test_st_login_log_success_records_the_team(api, db):
    body = api("st_login_log", value="876543", vendor_id="207", agent_user="ignored")
    assert body == "SUCCESS: st_login_log user found - 6666\n"
    assert db.row("vicidial_users", user="6666")["custom_four"] == "207"
    assert log_of(db.last_log()) == (
        "st_login_log",
        "ignored",
        "876543",
        "SUCCESS",
        "st_login_log user found",
        "6666",
    )


def test_st_login_log_lowest_user_wins_and_needs_no_login(api, db):
    db.update("vicidial_users", {"user": "1001"}, custom_three="555")
    db.update("vicidial_users", {"user": "1000"}, custom_three="555")
    body = api("st_login_log", value="555", vendor_id="T'1")
    assert body == "SUCCESS: st_login_log user found - 1000\n"
    assert db.row("vicidial_users", user="1000")["custom_four"] == "T'1"
    assert db.row("vicidial_users", user="1001")["custom_four"] == ""


def test_st_login_log_is_exact_about_the_crm_id(api, db):
    assert api("st_login_log", value="87654", vendor_id="207") == "ERROR: no user found - 87654\n"
    assert db.row("vicidial_users", user="6666")["custom_four"] == ""


@pytest.mark.parametrize(
    "params, line",
    [
        ({"value": "876543"}, "876543|"),
        ({"vendor_id": "207"}, "|207"),
    ],
)
def test_st_login_log_not_valid(api, db, params, line):
    body = api("st_login_log", close_window_link="1", **params)
    assert body == f"ERROR: st_login_log not valid - {line}\n" + CLOSE
    assert db.row("vicidial_users", user="6666")["custom_four"] == ""
    assert log_of(db.last_log()) == (
        "st_login_log",
        "",
        params.get("value", ""),
        "ERROR",
        "st_login_log not valid",
        line,
    )


def test_st_login_log_permission_denied(api, db):
    restrict_api_user(db)
    body = api("st_login_log", value="876543", vendor_id="207")
    assert body == "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 876543|6666|st_login_log|ADMIN\n"
    assert db.row("vicidial_users", user="6666")["custom_four"] == ""


def test_st_login_log_no_user_found(api, db):
    body = api("st_login_log", value="999", vendor_id="207", close_window_link="1")
    assert body == "ERROR: no user found - 999\n" + CLOSE
    assert log_of(db.last_log()) == ("st_login_log", "", "999", "ERROR", "no user found", "")


# ==================================================================== st_get_agent_active_lead ====

FUNCTION_LOGGED = "st_get_agent_active_"  # vicidial_api_log.function is VARCHAR(20)


def test_st_get_agent_active_lead_success(api, db, login):
    login("1000", status="INCALL", lead_id=123456)
    body = api("st_get_agent_active_lead", value="71000", vendor_id="207")
    details = "1000|7275551212|123456|9987-1234765|SK|WILLIAMS|JUH764AJJJ9"
    assert body == f"SUCCESS: st_get_agent_active_lead lead found - {details}\n"
    assert log_of(db.last_log()) == (
        FUNCTION_LOGGED,
        "",
        "71000",
        "SUCCESS",
        "st_get_agent_active_lead lead found",
        details,
    )


def test_st_get_agent_active_lead_missing_lead_row_gives_empty_fields(api, db, login):
    login("1000", status="INCALL", lead_id=777777)
    body = api("st_get_agent_active_lead", value="71000", vendor_id="207")
    assert body == "SUCCESS: st_get_agent_active_lead lead found - 1000||777777||||\n"


@pytest.mark.parametrize("params, line", [({"value": "71000"}, "71000|"), ({"vendor_id": "207"}, "|207")])
def test_st_get_agent_active_lead_not_valid(api, db, params, line):
    body = api("st_get_agent_active_lead", **params)
    assert body == f"ERROR: st_get_agent_active_lead not valid - {line}\n"
    assert log_of(db.last_log()) == (
        FUNCTION_LOGGED,
        "",
        params.get("value", ""),
        "ERROR",
        "st_get_agent_active_lead not valid",
        line,
    )


def test_st_get_agent_active_lead_permission_denied(api, db, login):
    login("1000", lead_id=123456)
    restrict_api_user(db)
    body = api("st_get_agent_active_lead", value="71000", vendor_id="207")
    assert body == (
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - 71000|6666|st_get_agent_active_lead|ADMIN\n"
    )


def test_st_get_agent_active_lead_no_user_found(api, db):
    body = api("st_get_agent_active_lead", value="1", vendor_id="207")
    assert body == "ERROR: no user found - 1\n"
    assert log_of(db.last_log()) == (FUNCTION_LOGGED, "", "1", "ERROR", "no user found", "")


def test_st_get_agent_active_lead_user_not_logged_in(api, db):
    body = api("st_get_agent_active_lead", value="71000", vendor_id="207", agent_user="1001")
    assert body == "ERROR: user not logged in - 1000\n"
    assert log_of(db.last_log()) == (FUNCTION_LOGGED, "1001", "71000", "ERROR", "user not logged in", "")


def test_st_get_agent_active_lead_no_active_lead(api, db, login):
    login("1000")
    body = api("st_get_agent_active_lead", value="71000", vendor_id="207", close_window_link="1")
    assert body == "ERROR: no active lead found - 1000\n" + CLOSE
    assert log_of(db.last_log()) == (FUNCTION_LOGGED, "", "71000", "ERROR", "no active lead found", "")
