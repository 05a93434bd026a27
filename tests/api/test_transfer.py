"""park_call, transfer_conference, ra_call_control (spec part 3 §2–3, part 2 §9)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from openagc.api.functions.transfer import COMMAND_IDS
from tests.support import FROZEN_AT, last_log_of

EPOCH = int(FROZEN_AT.timestamp())
CALLERID = "M2141842580000000044"  # the agent's live call (20 characters)
SERVER_IP = "10.10.10.15"
DENIED = "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION"


def deny(db) -> None:
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version ")


# ==================================================================================================
# park_call
# ==================================================================================================
PARK_VALUES = [
    "PARK_CUSTOMER",
    "GRAB_CUSTOMER",
    "PARK_IVR_CUSTOMER",
    "GRAB_IVR_CUSTOMER",
    "PARK_XFER",
    "GRAB_XFER",
    "SWAP_PARK_CUSTOMER",
    "SWAP_PARK_XFER",
    "HANGUP_XFER_GRAB_CUSTOMER",
]


@pytest.mark.parametrize("value", PARK_VALUES)
def test_park_call_sets_each_documented_value(api, db, login, value):
    login("1000", lead_id=12345)
    text = api("park_call", agent_user="1000", value=value)
    assert text == f"SUCCESS: park_call function set - {value}|1000\n"
    assert db.row("vicidial_live_agents", user="1000")["external_park"] == value
    assert last_log_of(db) == ("park_call", "1000", value, "SUCCESS", "park_call function set", "")


@pytest.mark.parametrize("value", ["xxPARK_XFERyy", "PARK_CUSTOMERS", "park_customer", "PARK"])
def test_park_call_matches_values_exactly(api, db, login, value):
    """Hazard H5 fixed: upstream stored any string containing a token; the screen then ignored it."""
    login("1000", lead_id=12345)
    assert api("park_call", agent_user="1000", value=value) == f"ERROR: park_call not valid - {value}|1000\n"
    assert db.row("vicidial_live_agents", user="1000")["external_park"] == ""
    assert last_log_of(db) == ("park_call", "1000", value, "ERROR", "park_call not valid", "")


def test_park_call_needs_an_agent(api, db, login):
    login("1000", lead_id=12345)
    assert api("park_call", value="PARK_CUSTOMER") == "ERROR: park_call not valid - PARK_CUSTOMER|\n"
    assert db.row("vicidial_live_agents", user="1000")["external_park"] == ""


def test_park_call_needs_a_lead_on_screen(api, db, login):
    login("1000", lead_id=0)
    assert api("park_call", agent_user="1000", value="PARK_CUSTOMER") == (
        "ERROR: agent_user does not have a lead on their screen - 1000\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_park"] == ""
    assert last_log_of(db) == (
        "park_call",
        "1000",
        "PARK_CUSTOMER",
        "ERROR",
        "agent_user does not have a lead on their screen",
        "",
    )


def test_park_call_agent_not_logged_in(api, db):
    assert api("park_call", agent_user="1000", value="GRAB_CUSTOMER") == ("ERROR: agent_user is not logged in - 1000\n")
    assert last_log_of(db) == ("park_call", "1000", "GRAB_CUSTOMER", "ERROR", "agent_user is not logged in", "")


def test_park_call_through_alt_user(api, db, login):
    login("1000", lead_id=12345)
    login("1001", lead_id=12346)
    assert api("park_call", agent_user="1001", alt_user="71000", value="PARK_XFER") == (
        "SUCCESS: park_call function set - PARK_XFER|1000\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_park"] == "PARK_XFER"
    assert db.row("vicidial_live_agents", user="1001")["external_park"] == ""


def test_park_call_alt_user_miss_acts_on_nobody(api, db, login):
    login("1000", lead_id=12345)
    assert api("park_call", agent_user="1000", alt_user="99999", value="PARK_XFER") == (
        "ERROR: no user found - 99999\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_park"] == ""
    assert db.count("vicidial_api_log") == 1
    assert last_log_of(db) == ("park_call", "1000", "PARK_XFER", "ERROR", "no user found", "")


def test_park_call_permission(api, db, login):
    login("1000", lead_id=12345)
    deny(db)
    assert api("park_call", agent_user="1000", value="PARK_CUSTOMER") == (
        f"{DENIED} - PARK_CUSTOMER|6666|park_call|ADMIN\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_park"] == ""
    assert last_log_of(db) == (
        "park_call",
        "1000",
        "PARK_CUSTOMER",
        "ERROR",
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION",
        "",
    )


# ==================================================================================================
# transfer_conference
# ==================================================================================================
def on_call(login, user="1000", **overrides):
    return login(user, lead_id=12345, callerid=CALLERID, status="INCALL", **overrides)


def auto_call(db, callerid=CALLERID, **overrides):
    row = {
        "server_ip": SERVER_IP,
        "campaign_id": "TESTCAMP",
        "status": "LIVE",
        "lead_id": 12345,
        "uniqueid": "1768473000.1234",
        "callerid": callerid,
        "channel": "SIP/carrier-00000001",
        "phone_code": "1",
        "phone_number": "3125551001",
        "call_time": FROZEN_AT,
        "call_type": "OUT",
    }
    db.insert("vicidial_auto_calls", **(row | overrides))


def transferconf(db, user="1000") -> tuple[list[str], str]:
    """The stored command's fields and its command id (field 7), checked for shape."""
    stored = db.row("vicidial_live_agents", user=user)["external_transferconf"]
    fields = stored.split("---")
    assert re.fullmatch(rf"{EPOCH}\.\d{{4,}}", fields[7]), stored
    assert fields[7] == COMMAND_IDS.last
    return fields, stored


def tc(api, **params) -> str:
    return api("transfer_conference", agent_user="1000", **params)


def set_line(value, ingroup, phone, consultative, multi="", agent="1000") -> str:
    return (
        f"SUCCESS: transfer_conference function set - {value}|{ingroup}|{phone}|{consultative}|{agent}|"
        f"{CALLERID}{multi}|\n"
    )


@pytest.mark.parametrize("value", ["HANGUP_XFER", "HANGUP_BOTH", "LEAVE_3WAY_CALL"])
def test_transfer_hangups_and_leave_3way_use_layout_c(api, db, login, value):
    on_call(login)
    assert tc(api, value=value, phone_number="8500", dial_override="YES", group_alias="TESTING") == (
        set_line(value, "", "8500", "NO")
    )
    fields, stored = transferconf(db)
    assert stored == f"{value}---------NO------------{fields[7]}"
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        value,
        "SUCCESS",
        "transfer_conference function set",
        CALLERID,
    )


def test_transfer_blind_transfer_layout_b(api, db, login):
    on_call(login)
    assert tc(api, value="BLIND_TRANSFER", phone_number="8500", dial_override="YES", consultative="YES") == (
        set_line("BLIND_TRANSFER", "", "8500", "YES")
    )
    fields, stored = transferconf(db)
    assert stored == f"BLIND_TRANSFER------8500---NO---YES---------{fields[7]}---"
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "BLIND_TRANSFER",
        "SUCCESS",
        "transfer_conference function set",
        CALLERID,
    )


def test_transfer_leave_vm(api, db, login):
    on_call(login)
    assert tc(api, value="LEAVE_VM") == set_line("LEAVE_VM", "", "", "NO")
    fields, stored = transferconf(db)
    assert stored == f"LEAVE_VM---------NO------------{fields[7]}---"


def test_transfer_dial_with_customer_alias_and_cid_choice(api, db, login):
    on_call(login)
    assert tc(
        api, value="DIAL_WITH_CUSTOMER", phone_number="919998888112", group_alias="TESTING", cid_choice="CUSTOMER"
    ) == set_line("DIAL_WITH_CUSTOMER", "", "919998888112", "NO")
    fields, stored = transferconf(db)
    assert stored == (f"DIAL_WITH_CUSTOMER------919998888112---NO------TESTING---7275551211---{fields[7]}---CUSTOMER")


def test_transfer_one_character_alias_and_cid_choice_are_stored_unchecked(api, db, login):
    on_call(login)
    assert tc(api, value="PARK_CUSTOMER_DIAL", phone_number="8500", group_alias="Z", cid_choice="Q") == (
        set_line("PARK_CUSTOMER_DIAL", "", "8500", "NO")
    )
    fields, stored = transferconf(db)
    assert stored == f"PARK_CUSTOMER_DIAL------8500---NO------Z------{fields[7]}---Q"


def test_transfer_local_closer_documented_example(api, db, login):
    on_call(login)
    assert tc(api, value="LOCAL_CLOSER", ingroup_choices="SALESLINE", consultative="YES") == (
        set_line("LOCAL_CLOSER", "SALESLINE", "", "YES")
    )
    fields, stored = transferconf(db)
    assert stored == f"LOCAL_CLOSER---SALESLINE------YES------------{fields[7]}---"


def test_transfer_local_closer_agentdirect(api, db, login):
    on_call(login)
    assert tc(
        api,
        value="LOCAL_CLOSER",
        ingroup_choices="AGENTDIRECT",
        phone_number="1001",
        dial_override="YES",
        group_alias="DEFAULT",
        cid_choice="AGENT_PHONE",
    ) == (set_line("LOCAL_CLOSER", "AGENTDIRECT", "1001", "NO"))
    fields, stored = transferconf(db)
    assert stored == (f"LOCAL_CLOSER---AGENTDIRECT---1001---NO------DEFAULT---3125551212---{fields[7]}---AGENT_PHONE")


@pytest.mark.parametrize("value", ["DIAL_WITH_CUSTOMER", "PARK_CUSTOMER_DIAL"])
def test_transfer_consultative_takes_the_ingroup_branch(api, db, login, value):
    on_call(login)
    assert tc(
        api, value=value, ingroup_choices="TEST_IN3", consultative="YES", phone_number="8500", dial_override="YES"
    ) == set_line(value, "TEST_IN3", "8500", "YES")
    fields, stored = transferconf(db)
    assert stored == f"{value}---TEST_IN3---8500---YES------------{fields[7]}---"


def test_transfer_defaultingroup_of_an_outbound_call_is_the_campaigns(api, db, login):
    on_call(login)
    auto_call(db)
    assert tc(api, value="LOCAL_CLOSER", ingroup_choices="DEFAULTINGROUP") == (
        set_line("LOCAL_CLOSER", "SALESLINE", "", "NO")
    )
    fields, stored = transferconf(db)
    assert stored == f"LOCAL_CLOSER---SALESLINE------NO------------{fields[7]}---"


def test_transfer_defaultingroup_of_an_inbound_call_is_the_ingroups(api, db, login):
    on_call(login)
    auto_call(db, campaign_id="TEST_IN", call_type="IN")
    db.update("vicidial_inbound_groups", {"group_id": "TEST_IN"}, default_xfer_group="TEST_IN2")
    assert tc(api, value="LOCAL_CLOSER", ingroup_choices="DEFAULTINGROUP") == (
        set_line("LOCAL_CLOSER", "TEST_IN2", "", "NO")
    )


@pytest.mark.parametrize(("arrange", "shown"), [("none", "---NONE---"), ("nocall", "")])
def test_transfer_defaultingroup_unresolved(api, db, login, arrange, shown):
    on_call(login)
    if arrange == "none":
        auto_call(db, campaign_id="MANCAMP")
    assert tc(api, value="LOCAL_CLOSER", ingroup_choices="DEFAULTINGROUP") == (
        f"ERROR: ingroup is not valid - {shown}\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == ("transfer_conference", "1000", "LOCAL_CLOSER", "ERROR", "ingroup is not valid", "")
    assert db.count("vicidial_api_log") == 1


@pytest.mark.parametrize("ingroup", ["X", "", "XYZINGROUP", "XDEFAULTINGROUP", "DEFAULTINGROUPS", "TEST_IN2"])
def test_transfer_ingroup_not_valid(api, db, login, ingroup):
    """Unknown, inactive (TEST_IN2 made inactive) and DEFAULTINGROUP-containing ids are refused (H5)."""
    on_call(login)
    auto_call(db)
    db.update("vicidial_inbound_groups", {"group_id": "TEST_IN2"}, active="N")
    text = tc(api, value="LOCAL_CLOSER", ingroup_choices=ingroup)
    assert text == f"ERROR: ingroup is not valid - {ingroup}\n"
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert db.count("vicidial_api_log") == 1


def test_transfer_group_alias_not_valid(api, db, login):
    on_call(login)
    assert tc(api, value="DIAL_WITH_CUSTOMER", phone_number="8500", group_alias="NOPE") == (
        "ERROR: group_alias is not valid - 1000|NOPE\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "DIAL_WITH_CUSTOMER",
        "ERROR",
        "group_alias is not valid",
        "NOPE",
    )


@pytest.mark.parametrize(
    ("cid", "ok"), [("123", False), ("", False), ("0003", False), ("4", False), ("1234", True), ("7275551211", True)]
)
def test_transfer_group_alias_caller_id_number(api, db, login, cid, ok):
    """Hazard H7: upstream's numeric `< 4` let '123' through; a caller ID needs 4+ characters, not 0–3."""
    on_call(login)
    db.update("groups_alias", {"group_alias_id": "BADCID"}, caller_id_number=cid)
    text = tc(api, value="LOCAL_CLOSER", ingroup_choices="SALESLINE", group_alias="BADCID")
    if ok:
        assert text == set_line("LOCAL_CLOSER", "SALESLINE", "", "NO")
        fields, stored = transferconf(db)
        assert stored == f"LOCAL_CLOSER---SALESLINE------NO------BADCID---{cid}---{fields[7]}---"
        return
    assert text == f"ERROR: caller_id_number from group_alias is not valid - 1000|BADCID|{cid}\n"
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "LOCAL_CLOSER",
        "ERROR",
        "caller_id_number from group_alias is not valid",
        f"BADCID|{cid}",
    )


@pytest.mark.parametrize("choice", ["TESTING", "XCUSTOMER", "CUSTOMERS", "customer"])
def test_transfer_cid_choice_not_valid(api, db, login, choice):
    on_call(login)
    assert tc(api, value="BLIND_TRANSFER", phone_number="8500", cid_choice=choice) == (
        f"ERROR: cid_choice is not valid - 1000|{choice}\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "BLIND_TRANSFER",
        "ERROR",
        "cid_choice is not valid",
        choice,
    )


@pytest.mark.parametrize("choice", ["CAMPAIGN", "AGENT_PHONE", "CUSTOMER", "CUSTOM_CID"])
def test_transfer_cid_choices(api, db, login, choice):
    on_call(login)
    assert tc(api, value="DIAL_WITH_CUSTOMER", phone_number="8500", cid_choice=choice) == (
        set_line("DIAL_WITH_CUSTOMER", "", "8500", "NO")
    )
    fields, stored = transferconf(db)
    assert stored == f"DIAL_WITH_CUSTOMER------8500---NO------------{fields[7]}---{choice}"


@pytest.mark.parametrize("value", ["XYZFUNCTION", "HANGUP_XFERS", "LOCAL_CLOSERX", "hangup_both"])
def test_transfer_value_not_valid_names_the_api_user(api, db, login, value):
    on_call(login)
    assert tc(api, value=value, ingroup_choices="SALESLINE") == f"ERROR: value is not valid - {value}|6666\n"
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == ("transfer_conference", "1000", value, "ERROR", "value is not valid", "")


@pytest.mark.parametrize(("value", "agent"), [("QQ", "1000"), ("HANGUP", "1000"), ("HANGUP_XFER", "")])
def test_transfer_not_valid(api, db, login, value, agent):
    on_call(login)
    assert api("transfer_conference", agent_user=agent, value=value) == (
        f"ERROR: transfer_conference not valid - {value}|{agent}\n"
    )
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == ("transfer_conference", agent, value, "ERROR", "transfer_conference not valid", "")


def test_transfer_agent_not_logged_in(api, db):
    assert tc(api, value="HANGUP_XFER") == "ERROR: agent_user is not logged in - 1000\n"
    assert last_log_of(db) == ("transfer_conference", "1000", "HANGUP_XFER", "ERROR", "agent_user is not logged in", "")


@pytest.mark.parametrize(("lead", "callerid"), [(0, CALLERID), (12345, "M21418425800000"), (12345, "")])
def test_transfer_needs_a_live_call(api, db, login, lead, callerid):
    login("1000", lead_id=lead, callerid=callerid)
    assert tc(api, value="HANGUP_XFER") == "ERROR: agent_user does not have a live call - 1000\n"
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "HANGUP_XFER",
        "ERROR",
        "agent_user does not have a live call",
        "",
    )


def test_transfer_through_alt_user_and_permission(api, db, login):
    on_call(login)
    assert api("transfer_conference", alt_user="71000", value="HANGUP_BOTH") == (set_line("HANGUP_BOTH", "", "", "NO"))
    deny(db)
    assert tc(api, value="HANGUP_XFER") == f"{DENIED} - HANGUP_XFER|6666|transfer_conference|ADMIN\n"
    fields, stored = transferconf(db)
    assert fields[0] == "HANGUP_BOTH"


def test_transfer_command_ids_differ_within_one_second(api, db, login):
    """Hazard H6 fixed: two commands in the same second no longer share a command id."""
    on_call(login)
    tc(api, value="HANGUP_XFER")
    first = transferconf(db)[0][7]
    tc(api, value="HANGUP_XFER")
    second = transferconf(db)[0][7]
    assert first != second
    assert first.startswith(f"{EPOCH}.") and second.startswith(f"{EPOCH}.")


def test_transfer_refuses_a_command_too_long_for_its_column(api, db, login):
    """Hazard H8: upstream's 120-character column cut the command id off; we refuse instead."""
    on_call(login)
    phone = "9" * 90
    text = tc(api, value="BLIND_TRANSFER", phone_number=phone)
    length = len(f"BLIND_TRANSFER------{phone}---NO---------------{EPOCH}.{COMMAND_IDS.tag}") + 1
    match = re.fullmatch(r"ERROR: transfer_conference command too long - 1000\|(\d+)\n", text)
    assert match and int(match.group(1)) >= length > 120
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "BLIND_TRANSFER",
        "ERROR",
        "transfer_conference command too long",
        "",
    )


# --- multi-dial press-1 ---------------------------------------------------------------------------
def test_transfer_multi_dial_phones_inserts_then_updates(api, db, login):
    on_call(login)
    phones = "2125551212,4075551212,2125551212,123,3125551212"
    multi = "|Multi-phones: 3 5 1"
    assert tc(api, value="DIAL_WITH_CUSTOMER", phone_number="8500", multi_dial_phones=phones) == (
        set_line("DIAL_WITH_CUSTOMER", "", "8500", "NO", multi)
    )
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "DIAL_WITH_CUSTOMER",
        "SUCCESS",
        "transfer_conference function set",
        f"{CALLERID}{multi}",
    )
    row = db.row("vicidial_3way_press_multi", user="1000")
    assert row == {
        "user": "1000",
        "call_date": FROZEN_AT,
        "status": "NEW",
        "phone_numbers_ct": 3,
        "phone_numbers": "2125551212,4075551212,3125551212",
    }
    db.update("vicidial_3way_press_multi", {"user": "1000"}, status="DONE")
    assert tc(api, value="DIAL_WITH_CUSTOMER", phone_number="8500", multi_dial_phones="8135551001") == (
        set_line("DIAL_WITH_CUSTOMER", "", "8500", "NO", "|Multi-phones: 1 1 2")
    )
    row = db.row("vicidial_3way_press_multi", user="1000")
    assert (row["phone_numbers"], row["phone_numbers_ct"], row["status"]) == ("8135551001", 1, "NEW")


def test_transfer_multi_dial_with_no_usable_number(api, db, login):
    on_call(login)
    assert tc(api, value="HANGUP_XFER", multi_dial_phones="123,4567") == (
        set_line("HANGUP_XFER", "", "", "NO", "|Multi-phones: 0 2 0")
    )
    assert db.count("vicidial_3way_press_multi") == 0
    assert tc(api, value="HANGUP_XFER", multi_dial_phones="1234") == set_line("HANGUP_XFER", "", "", "NO")


def test_transfer_multi_dial_removes_exact_duplicates_only(api, db, login):
    """Upstream dropped a number found *inside* an earlier one ('55512' in '3125551234')."""
    on_call(login)
    tc(api, value="HANGUP_XFER", multi_dial_phones="3125551234,55512,3125551234")
    row = db.row("vicidial_3way_press_multi", user="1000")
    assert (row["phone_numbers"], row["phone_numbers_ct"]) == ("3125551234,55512", 2)


def test_transfer_multi_dial_keeps_whole_numbers_that_fit(api, db, login):
    on_call(login)
    numbers = [f"31255{n:013d}" for n in range(20)]  # 18 digits each
    text = tc(api, value="HANGUP_XFER", multi_dial_phones=",".join(numbers))
    assert text == set_line("HANGUP_XFER", "", "", "NO", "|Multi-phones: 13 20 1")
    row = db.row("vicidial_3way_press_multi", user="1000")
    assert row["phone_numbers"] == ",".join(numbers[:13]) and len(row["phone_numbers"]) <= 255


def press_live(db, minutes_ago=1, status="LIVE", user="1000"):
    db.insert(
        "vicidial_3way_press_live",
        call_date=FROZEN_AT - timedelta(minutes=minutes_ago),
        caller_code="V1",
        user=user,
        lead_id=12345,
        phone_number="2125551212",
        status=status,
    )


def test_transfer_md_check_blocks_on_an_active_press_1_call(api, db, login):
    on_call(login)
    press_live(db)
    press_live(db, status="HUNGUP")
    press_live(db, minutes_ago=31)
    press_live(db, user="1001")
    assert (
        tc(api, value="DIAL_WITH_CUSTOMER", phone_number="8500", multi_dial_phones="2125551212", md_check="yes")
        == "ERROR: agent_user has previous active 3-way calls - 1000|1|0|yes\n"
    )
    assert db.count("vicidial_3way_press_multi") == 0
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "DIAL_WITH_CUSTOMER",
        "ERROR",
        "agent_user has previous active 3-way calls",
        "1|0|yes",
    )


def test_transfer_md_check_passes_with_only_finished_or_old_calls(api, db, login):
    on_call(login)
    press_live(db, status="DECLINED")
    press_live(db, minutes_ago=45)
    assert tc(
        api, value="DIAL_WITH_CUSTOMER", phone_number="8500", multi_dial_phones="2125551212", md_check="YES"
    ) == set_line("DIAL_WITH_CUSTOMER", "", "8500", "NO", "|Multi-phones: 1 1 1")


def test_transfer_tw_check_blocks_on_a_live_3way_channel_and_writes_nothing(api, db, login):
    """Hazard H9 fixed: upstream had already written the multi-dial row when tw_check refused."""
    on_call(login)
    db.insert(
        "live_sip_channels",
        channel="Local/8600051@default-0001",
        server_ip=SERVER_IP,
        channel_group=f"DC{EPOCH}W12345W",
        extension="8600051",
    )
    db.insert("live_sip_channels", channel="SIP/other", server_ip=SERVER_IP, channel_group="M123", extension="8600051")
    assert (
        tc(api, value="DIAL_WITH_CUSTOMER", phone_number="8500", multi_dial_phones="2125551212", tw_check="YES")
        == "ERROR: agent_user has current active 3-way call - 1000|1|0|YES\n"
    )
    assert db.count("vicidial_3way_press_multi") == 0
    assert db.row("vicidial_live_agents", user="1000")["external_transferconf"] == ""
    assert last_log_of(db) == (
        "transfer_conference",
        "1000",
        "DIAL_WITH_CUSTOMER",
        "ERROR",
        "agent_user has current active 3-way call",
        "1|0|YES",
    )
    assert tc(api, value="DIAL_WITH_CUSTOMER", phone_number="8500", tw_check="NO") == (
        set_line("DIAL_WITH_CUSTOMER", "", "8500", "NO")
    )


# ==================================================================================================
# ra_call_control
# ==================================================================================================
CALL_ID = "Y0315201639000402027"


def remote_call(db, login, call_type="OUT", campaign="TESTCAMP"):
    """Remote agent 1028 holding CALL_ID, its auto-call row, and its call-log row."""
    login("1028", lead_id=12345, callerid=CALL_ID, uniqueid="1768473000.1234", channel="SIP/1028-0001", status="INCALL")
    login("1001", ring_callerid=CALL_ID)
    auto_call(db, callerid=CALL_ID, call_type=call_type, campaign_id=campaign)
    if call_type == "IN":
        for start in (EPOCH - 300, EPOCH - 65):
            db.insert(
                "vicidial_closer_log",
                lead_id=12345,
                campaign_id=campaign,
                call_date=FROZEN_AT,
                start_epoch=start,
                uniqueid="1768473000.1234",
                status="INCALL",
            )
    else:
        db.insert(
            "vicidial_log",
            uniqueid="1768473000.1234",
            lead_id=12345,
            campaign_id=campaign,
            call_date=FROZEN_AT,
            start_epoch=EPOCH - 65,
            status="INCALL",
            user="",
        )


def ra(api, **params) -> str:
    return api("ra_call_control", agent_user="1028", value=CALL_ID, **params)


def manager(db) -> dict:
    row = db.row("vicidial_manager")
    del row["man_id"]
    return row


def assert_call_closed(db, status):
    agent = db.row("vicidial_live_agents", user="1028")
    assert (agent["status"], agent["lead_id"], agent["uniqueid"], agent["callerid"], agent["channel"]) == (
        "READY",
        0,
        "",
        "",
        "",
    )
    assert (agent["last_call_finish"], agent["last_state_change"]) == (FROZEN_AT, FROZEN_AT)
    assert 11000000 <= agent["random_id"] <= 19999999
    assert db.count("vicidial_auto_calls", callerid=CALL_ID) == 0
    assert db.row("vicidial_live_agents", user="1001")["ring_callerid"] == ""
    assert db.row("vicidial_list", lead_id=12345)["status"] == status


def assert_nothing_changed(db):
    assert db.count("vicidial_manager") == 0
    assert db.count("vicidial_auto_calls", callerid=CALL_ID) == 1
    assert db.row("vicidial_live_agents", user="1028")["callerid"] == CALL_ID
    assert db.row("vicidial_list", lead_id=12345)["status"] == "NEW"


def test_ra_hangup(api, db, login):
    remote_call(db, login)
    text = ra(api, stage="HANGUP", status="TEST88")
    assert text == f"SUCCESS: ra_call_control hungup - 1028|{CALL_ID}|HANGUP\n"
    assert last_log_of(db) == ("ra_call_control", "1028", CALL_ID, "SUCCESS", "ra_call_control hungup", "")
    blank = {f"cmd_line_{c}": "" for c in "cdefghijk"}
    assert manager(db) == {
        "uniqueid": "",
        "entry_date": FROZEN_AT,
        "status": "NEW",
        "response": "N",
        "server_ip": SERVER_IP,
        "channel": "",
        "action": "Hangup",
        "callerid": "HAPI" + CALL_ID[4:],
        "cmd_line_b": "Channel: SIP/carrier-00000001",
        **blank,
    }
    log = db.row("vicidial_log", uniqueid="1768473000.1234")
    assert (log["status"], log["end_epoch"], log["length_in_sec"], log["user"]) == ("TEST88", EPOCH, 65, "1028")
    assert_call_closed(db, "TEST88")


def test_ra_extension_transfer(api, db, login):
    remote_call(db, login)
    assert ra(api, stage="EXTENSIONTRANSFER", phone_number="8500") == (
        f"SUCCESS: ra_call_control transfer - 1028|{CALL_ID}|8500\n"
    )
    assert last_log_of(db) == ("ra_call_control", "1028", CALL_ID, "SUCCESS", "ra_call_control transfer", "")
    row = manager(db)
    assert (row["action"], row["callerid"], row["server_ip"]) == ("Redirect", "XAPI" + CALL_ID[4:], SERVER_IP)
    assert [row[f"cmd_line_{c}"] for c in "bcdefghijk"] == [
        "Channel: SIP/carrier-00000001",
        "Context: default",
        "Exten: 8500",
        "Priority: 1",
        f"CallerID: XAPI{CALL_ID[4:]}",
        "",
        "",
        "",
        "",
        "",
    ]
    assert db.row("vicidial_log", uniqueid="1768473000.1234")["status"] == "RAXFER"
    assert_call_closed(db, "RAXFER")


def test_ra_ingroup_transfer_default_ingroup_inbound_call(api, db, login):
    remote_call(db, login, call_type="IN", campaign="TEST_IN")
    db.update("vicidial_inbound_groups", {"group_id": "TEST_IN"}, default_xfer_group="SALESLINE")
    assert ra(api, stage="INGROUPTRANSFER", ingroup_choices="DEFAULTINGROUP", status="LONGSTATUS") == (
        f"SUCCESS: ra_call_control transfer - 1028|{CALL_ID}|\n"
    )
    row = manager(db)
    assert row["cmd_line_d"] == "Exten: 90009*SALESLINE**12345**3125551001**1028**"
    assert row["cmd_line_c"] == "Context: default"
    older, newest = db.rows("vicidial_closer_log", order_by="closecallid")
    assert (newest["status"], newest["end_epoch"], newest["length_in_sec"]) == ("LONGST", EPOCH, 65)
    assert (older["status"], older["end_epoch"]) == ("INCALL", None)
    assert_call_closed(db, "LONGST")


def test_ra_ingroup_transfer_named_ingroup(api, db, login):
    remote_call(db, login)
    assert ra(api, stage="INGROUPTRANSFER", ingroup_choices="TEST_IN2", phone_number="77") == (
        f"SUCCESS: ra_call_control transfer - 1028|{CALL_ID}|77\n"
    )
    assert manager(db)["cmd_line_d"] == "Exten: 90009*TEST_IN2**12345**3125551001**1028**"


@pytest.mark.parametrize(
    ("params", "line"),
    [
        ({"stage": "EXTENSIONTRANSFER", "phone_number": "9"}, "ERROR: phone_number is not valid - 9"),
        ({"stage": "INGROUPTRANSFER", "ingroup_choices": "X"}, "ERROR: ingroup is not valid - X"),
        ({"stage": "INGROUPTRANSFER", "ingroup_choices": "TESTINGROUP"}, "ERROR: ingroup is not valid - TESTINGROUP"),
        (
            {"stage": "INGROUPTRANSFER", "ingroup_choices": "XDEFAULTINGROUP"},
            "ERROR: ingroup is not valid - XDEFAULTINGROUP",
        ),
        ({"stage": "XYZ"}, "ERROR: stage is not valid - XYZ"),
        ({"stage": "hangup"}, "ERROR: stage is not valid - hangup"),
    ],
)
def test_ra_stage_errors_change_nothing(api, db, login, params, line):
    remote_call(db, login)
    assert ra(api, **params) == line + "\n"
    reason = line.split(": ", 1)[1].split(" - ")[0]
    assert last_log_of(db) == ("ra_call_control", "1028", CALL_ID, "ERROR", reason, "")
    assert_nothing_changed(db)


def test_ra_default_ingroup_none(api, db, login):
    remote_call(db, login, campaign="MANCAMP")
    assert ra(api, stage="INGROUPTRANSFER", ingroup_choices="DEFAULTINGROUP") == (
        "ERROR: ingroup is not valid - ---NONE---\n"
    )
    assert_nothing_changed(db)


def test_ra_not_valid(api, db, login):
    remote_call(db, login)
    assert api("ra_call_control", agent_user="1028", value=CALL_ID) == (
        f"ERROR: ra_call_control not valid - {CALL_ID}|1028|\n"
    )
    assert last_log_of(db) == ("ra_call_control", "1028", CALL_ID, "ERROR", "ra_call_control not valid", "")
    assert api("ra_call_control", value=CALL_ID, stage="HANGUP", alt_user="71028") == (
        f"ERROR: ra_call_control not valid - {CALL_ID}||HANGUP\n"
    )
    assert_nothing_changed(db)


def test_ra_agent_not_logged_in(api, db):
    assert ra(api, stage="HANGUP") == "ERROR: agent_user is not logged in - 1028\n"
    assert last_log_of(db) == ("ra_call_control", "1028", CALL_ID, "ERROR", "agent_user is not logged in", "")


def test_ra_no_active_call(api, db, login):
    login("1028")
    assert api("ra_call_control", agent_user="1028", value="V2221052110000798236", stage="HANGUP") == (
        "ERROR: no active call found - V2221052110000798236\n"
    )
    assert last_log_of(db) == ("ra_call_control", "1028", "V2221052110000798236", "ERROR", "no active call found", "")


def test_ra_refuses_a_call_held_by_another_agent(api, db, login):
    """Part 2 hazard 8 fixed: agent 1000 cannot hang up the call remote agent 1028 holds."""
    remote_call(db, login)
    login("1000")
    assert api("ra_call_control", agent_user="1000", value=CALL_ID, stage="HANGUP") == (
        f"ERROR: no active call found - {CALL_ID}\n"
    )
    assert_nothing_changed(db)
    assert db.row("vicidial_log", uniqueid="1768473000.1234")["status"] == "INCALL"


def test_ra_permission(api, db, login):
    remote_call(db, login)
    deny(db)
    assert ra(api, stage="HANGUP") == f"{DENIED} - {CALL_ID}|6666|ra_call_control|ADMIN\n"
    assert_nothing_changed(db)
