"""change_ingroups, calls_in_queue_count."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support import CLOSE, log_of

NOW = datetime(2026, 1, 15, 10, 30)
EARLIER = datetime(2026, 1, 15, 9, 0)
CURRENT = " TEST_IN TEST_IN2 SALESLINE -"


def agent(db, user="1000"):
    return db.row("vicidial_live_agents", user=user)


def command_of(db, user="1000"):
    row = agent(db, user)
    return (row["external_ingroups"], row["external_blended"], row["external_igb_set_user"], row["manager_ingroup_set"])


UNTOUCHED = (None, "0", "", "N")


def live_inbound(db, user="1000"):
    """{group_id: (weight, calls_today, grade, calls_today_filtered, daily_limit, last_call_time)}."""
    return {
        r["group_id"]: (
            r["group_weight"],
            r["calls_today"],
            r["group_grade"],
            r["calls_today_filtered"],
            r["daily_limit"],
            r["last_call_time"],
        )
        for r in db.rows("vicidial_live_inbound_agents", user=user)
    }


def logged_in_with_groups(db, login, groups=CURRENT, **overrides):
    """Agent 1000 logged in with `groups` selected, plus the live in-group rows its session made."""
    login("1000", closer_campaigns=groups, **overrides)
    for group in groups.split()[:-1]:
        db.insert(
            "vicidial_live_inbound_agents",
            user="1000",
            group_id=group,
            group_weight=0,
            calls_today=3,
            group_grade=1,
            calls_today_filtered=0,
            daily_limit=-1,
            last_call_time=EARLIER,
            last_call_finish=EARLIER,
            last_call_time_filtered=EARLIER,
            last_call_finish_filtered=EARLIER,
        )


def change(api, **params):
    return api("change_ingroups", **({"agent_user": "1000", "blended": "NO"} | params))


# --- change_ingroups: the checks -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "shown"),
    [
        (
            {"value": "CHANGE", "blended": "N", "ingroup_choices": " TEST_IN SALESLINE -"},
            "CHANGE|N| TEST_IN SALESLINE -|1000",
        ),
        ({"value": "ch", "ingroup_choices": ""}, "|NO||1000"),  # value keeps only A-Z
        ({"value": "add1", "ingroup_choices": " TEST_IN -"}, "|NO| TEST_IN -|1000"),
        ({"value": "CHANGE", "agent_user": "1"}, "CHANGE|NO||1"),
    ],
)
def test_not_valid(api, db, login, params, shown):
    logged_in_with_groups(db, login)
    assert change(api, close_window_link="1", **params) == (f"ERROR: change_ingroups not valid - {shown}\n" + CLOSE)
    assert command_of(db) == UNTOUCHED
    value, blended, choices, _agent = shown.split("|")
    assert log_of(db.last_log()) == (
        "change_ingroups",
        params.get("agent_user", "1000"),
        value,
        "ERROR",
        "change_ingroups not valid",
        f"{value}|{blended}|{choices}",
    )


@pytest.mark.parametrize(("value", "blended"), [("SWAP", "NO"), ("CHANGEALL", "NO"), ("CHANGE", "MAYBE")])
def test_values_must_be_exact(api, db, login, value, blended):
    """Upstream treated any value but ADD/REMOVE as CHANGE and wiped the agent's groups (hazard)."""
    logged_in_with_groups(db, login)
    assert change(api, value=value, blended=blended) == (
        f"ERROR: change_ingroups not valid - {value}|{blended}||1000\n"
    )
    assert command_of(db) == UNTOUCHED
    assert set(live_inbound(db)) == {"TEST_IN", "TEST_IN2", "SALESLINE"}


def test_permission_denied(api, db, login):
    logged_in_with_groups(db, login)
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" send_dtmf ")
    assert change(api, value="CHANGE", close_window_link="1") == (
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - CHANGE|6666|change_ingroups|ADMIN\n"
    )
    assert command_of(db) == UNTOUCHED
    assert log_of(db.last_log()) == (
        "change_ingroups",
        "1000",
        "CHANGE",
        "ERROR",
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION",
        "",
    )


def test_not_logged_in(api, db):
    assert change(api, value="CHANGE", ingroup_choices=" TEST_IN -") == ("ERROR: agent_user is not logged in - 1000\n")
    assert db.rows("vicidial_live_inbound_agents") == []
    assert log_of(db.last_log()) == ("change_ingroups", "1000", "CHANGE", "ERROR", "agent_user is not logged in", "")


def test_alt_user_is_not_used(api, db, login):
    logged_in_with_groups(db, login)
    assert api("change_ingroups", alt_user="71000", value="CHANGE", blended="NO") == (
        "ERROR: change_ingroups not valid - CHANGE|NO||\n"
    )


def test_campaign_does_not_allow_inbound(api, db, login):
    logged_in_with_groups(db, login, campaign_id="MANCAMP")
    assert change(api, value="CHANGE", ingroup_choices=" TEST_IN -", close_window_link="1") == (
        "ERROR: campaign does not allow inbound calls - 1000\n" + CLOSE
    )
    assert command_of(db) == UNTOUCHED
    assert log_of(db.last_log()) == (
        "change_ingroups",
        "1000",
        "CHANGE",
        "ERROR",
        "campaign does not allow inbound calls",
        "",
    )


def test_api_user_not_allowed(api, db, login):
    logged_in_with_groups(db, login)
    db.update("vicidial_users", {"user": "6666"}, change_agent_campaign="0")
    assert change(api, value="CHANGE", ingroup_choices=" TEST_IN -", close_window_link="1") == (
        "ERROR: user is not allowed to change agent in-groups - 6666\n" + CLOSE
    )
    assert command_of(db) == UNTOUCHED
    assert log_of(db.last_log()) == (
        "change_ingroups",
        "1000",
        "CHANGE",
        "ERROR",
        "user is not allowed to change agent in-groups",
        "",
    )


@pytest.mark.parametrize("dial_method", ["MANUAL", "INBOUND_MAN"])
def test_blended_needs_an_autodial_campaign(api, db, login, dial_method):
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, dial_method=dial_method)
    logged_in_with_groups(db, login)
    body = change(api, value="CHANGE", blended="YES", ingroup_choices=" TEST_IN -", close_window_link="1")
    assert body == ("ERROR: campaign dial_method does not allow outbound autodial - 1000|YES\n")  # EXIT
    assert command_of(db) == UNTOUCHED
    assert log_of(db.last_log()) == (
        "change_ingroups",
        "1000",
        "CHANGE",
        "ERROR",
        "campaign dial_method does not allow outbound autodial",
        "YES",
    )


def test_not_blended_in_a_manual_campaign(api, db, login):
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, dial_method="MANUAL")
    logged_in_with_groups(db, login)
    assert change(api, value="CHANGE", blended="NO", ingroup_choices=" TEST_IN -") == (
        "SUCCESS: change_ingroups function set - 6666|1000| TEST_IN -|NO|\n"
    )


def test_ingroup_does_not_exist(api, db, login):
    logged_in_with_groups(db, login)
    choices = " TEST_IN FAKE_IN SALESLINE NOPE -"
    assert change(api, value="CHANGE", ingroup_choices=choices, close_window_link="1") == (
        f"ERROR: ingroup does not exist - 1000|FAKE_IN|{choices}\n"
    )  # EXIT
    assert command_of(db) == UNTOUCHED
    assert set(live_inbound(db)) == {"TEST_IN", "TEST_IN2", "SALESLINE"}
    assert log_of(db.last_log()) == (
        "change_ingroups",
        "1000",
        "CHANGE",
        "ERROR",
        "ingroup does not exist",
        f"FAKE_IN|{choices}",
    )


def test_ingroup_ids_are_case_sensitive(api, db, login):
    logged_in_with_groups(db, login)
    assert change(api, value="CHANGE", ingroup_choices=" test_in -") == (
        "ERROR: ingroup does not exist - 1000|test_in| test_in -\n"
    )


@pytest.mark.parametrize("value", ["ADD", "REMOVE"])
def test_add_and_remove_need_choices(api, db, login, value):
    logged_in_with_groups(db, login)
    assert change(api, value=value, close_window_link="1") == (
        f"ERROR: ingroup_choices are required for ADD and REMOVE values - 1000|{value}|\n"
    )  # EXIT
    assert command_of(db) == UNTOUCHED
    assert log_of(db.last_log()) == (
        "change_ingroups",
        "1000",
        value,
        "ERROR",
        "ingroup_choices are required for ADD and REMOVE values",
        f"{value}|",
    )


# --- change_ingroups: the changes ------------------------------------------------------------------
def test_change(api, db, login):
    logged_in_with_groups(db, login)
    db.update(
        "vicidial_inbound_group_agents",
        {"user": "1000", "group_id": "TEST_IN3"},
        group_weight=5,
        calls_today=7,
        group_grade=9,
        calls_today_filtered=2,
        daily_limit=40,
    )
    body = change(api, value="CHANGE", blended="YES", ingroup_choices=" TEST_IN TEST_IN3 -")
    assert body == "SUCCESS: change_ingroups function set - 6666|1000| TEST_IN TEST_IN3 -|YES|\n"
    assert command_of(db) == (" TEST_IN TEST_IN3 -", "1", "6666", "SET")
    assert agent(db)["closer_campaigns"] == CURRENT  # the session copies it when it applies the command
    assert live_inbound(db) == {
        "TEST_IN": (0, 0, 1, 0, -1, EARLIER),  # existing row: settings overwritten, times kept
        "TEST_IN3": (5, 7, 9, 2, 40, NOW),  # new row: the agent's in-group settings, daily_limit included
    }
    assert db.row("vicidial_users", user="1000")["closer_campaigns"] == " TEST_IN SALESLINE -"  # not default
    assert db.rows("vicidial_admin_log") == []
    assert log_of(db.last_log()) == (
        "change_ingroups",
        "1000",
        "CHANGE",
        "SUCCESS",
        "change_ingroups function set",
        " TEST_IN TEST_IN3 -|YES|",
    )


def test_change_to_nothing_clears_every_group(api, db, login):
    logged_in_with_groups(db, login)
    assert change(api, value="CHANGE") == "SUCCESS: change_ingroups function set - 6666|1000||NO|\n"
    assert command_of(db) == ("", "0", "6666", "SET")
    assert live_inbound(db) == {}


def test_change_without_agent_settings_uses_the_defaults(api, db, login):
    """Upstream gave grade 0 when the agent had no in-group settings; we use the schema default 1."""
    logged_in_with_groups(db, login)
    db.delete("vicidial_inbound_group_agents", user="1000", group_id="TRAINING_IN")
    change(api, value="CHANGE", ingroup_choices=" TRAINING_IN -")
    assert live_inbound(db) == {"TRAINING_IN": (0, 0, 1, 0, -1, NOW)}


def test_change_list_is_positional(api, db, login):
    """Upstream's list format: the first element (normally empty, before the leading space) is skipped."""
    logged_in_with_groups(db, login)
    assert change(api, value="CHANGE", ingroup_choices="TEST_IN SALESLINE -") == (
        "SUCCESS: change_ingroups function set - 6666|1000|TEST_IN SALESLINE -|NO|\n"
    )
    assert set(live_inbound(db)) == {"SALESLINE"}


def test_change_with_plus_separated_choices_in_a_post(api, db, login):
    logged_in_with_groups(db, login)
    response = api.post(
        "change_ingroups", agent_user="1000", value="CHANGE", blended="NO", ingroup_choices="+TEST_IN2+SALESLINE+-"
    )
    assert response.text == "SUCCESS: change_ingroups function set - 6666|1000| TEST_IN2 SALESLINE -|NO|\n"
    assert set(live_inbound(db)) == {"TEST_IN2", "SALESLINE"}


def test_add(api, db, login):
    logged_in_with_groups(db, login, groups=" TEST_IN -")
    assert change(api, value="ADD", ingroup_choices=" TEST_IN2 TEST_IN TEST_IN2 -") == (
        "SUCCESS: change_ingroups function set - 6666|1000| TEST_IN TEST_IN2 -|NO|\n"
    )
    assert command_of(db) == (" TEST_IN TEST_IN2 -", "0", "6666", "SET")
    assert set(live_inbound(db)) == {"TEST_IN", "TEST_IN2"}


def test_add_to_nothing(api, db, login):
    login("1000", closer_campaigns=None)
    assert change(api, value="ADD", ingroup_choices=" SALESLINE -") == (
        "SUCCESS: change_ingroups function set - 6666|1000| SALESLINE -|NO|\n"
    )
    assert set(live_inbound(db)) == {"SALESLINE"}


def test_remove(api, db, login):
    logged_in_with_groups(db, login)
    assert change(api, value="REMOVE", ingroup_choices=" TEST_IN2 TRAINING_IN -") == (
        "SUCCESS: change_ingroups function set - 6666|1000| TEST_IN SALESLINE -|NO|\n"
    )
    assert command_of(db) == (" TEST_IN SALESLINE -", "0", "6666", "SET")
    assert set(live_inbound(db)) == {"TEST_IN", "SALESLINE"}


def test_remove_from_nothing(api, db, login):
    login("1000", closer_campaigns=None)
    assert change(api, value="REMOVE", ingroup_choices=" TEST_IN -") == (
        "SUCCESS: change_ingroups function set - 6666|1000||NO|\n"
    )
    assert command_of(db) == ("", "0", "6666", "SET")


def test_set_as_default(api, db, login):
    logged_in_with_groups(db, login)
    body = change(api, value="CHANGE", blended="YES", ingroup_choices=" TEST_IN TEST_IN3 -", set_as_default="YES")
    assert body == (
        "SUCCESS: change_ingroups function set - 6666|1000| TEST_IN TEST_IN3 -|YES|User settings set as default\n"
    )
    user = db.row("vicidial_users", user="1000")
    assert (user["closer_campaigns"], user["closer_default_blended"]) == (" TEST_IN TEST_IN3 -", "1")
    [entry] = db.rows("vicidial_admin_log")
    columns = (
        "event_date",
        "user",
        "ip_address",
        "event_section",
        "event_type",
        "record_id",
        "event_code",
        "event_notes",
        "user_group",
    )
    assert {k: entry[k] for k in columns} == {
        "event_date": NOW,
        "user": "6666",
        "ip_address": "127.0.0.1",
        "event_section": "USERS",
        "event_type": "MODIFY",
        "record_id": "1000",
        "event_code": "API MODIFY USER",
        "event_notes": "",
        "user_group": "---ALL---",
    }
    settings = "group_weight=0 calls_today=0 group_grade=1 calls_today_filtered=0 daily_limit=-1"
    assert entry["event_sql"] == "|".join(
        [
            "vicidial_users 1000 set closer_campaigns=' TEST_IN TEST_IN3 -' closer_default_blended='1'",
            "",
            f"vicidial_live_inbound_agents 1000 TEST_IN set {settings}",
            f"vicidial_live_inbound_agents 1000 TEST_IN3 set {settings}",
            "vicidial_live_inbound_agents 1000 TEST_IN2 removed",
            "vicidial_live_inbound_agents 1000 SALESLINE removed",
        ]
    )
    assert log_of(db.last_log()) == (
        "change_ingroups",
        "1000",
        "CHANGE",
        "SUCCESS",
        "change_ingroups function set",
        " TEST_IN TEST_IN3 -|YES|User settings set as default",
    )


@pytest.mark.parametrize("set_as_default", ["NO", "Y", ""])
def test_set_as_default_only_when_yes(api, db, login, set_as_default):
    logged_in_with_groups(db, login)
    assert change(api, value="CHANGE", ingroup_choices=" TEST_IN -", set_as_default=set_as_default) == (
        "SUCCESS: change_ingroups function set - 6666|1000| TEST_IN -|NO|\n"
    )
    assert db.row("vicidial_users", user="1000")["closer_campaigns"] == " TEST_IN SALESLINE -"
    assert db.rows("vicidial_admin_log") == []


def test_change_touches_only_that_agent(api, db, login):
    logged_in_with_groups(db, login)
    login("1001", closer_campaigns=" TEST_IN -")
    db.insert("vicidial_live_inbound_agents", user="1001", group_id="TEST_IN", last_call_time=EARLIER)
    change(api, value="CHANGE")
    assert command_of(db, "1001") == UNTOUCHED
    assert set(live_inbound(db, "1001")) == {"TEST_IN"}


# --- calls_in_queue_count --------------------------------------------------------------------------
def queued_call(db, campaign_id, status="LIVE", agent_only=""):
    db.insert(
        "vicidial_auto_calls",
        server_ip="10.10.10.15",
        campaign_id=campaign_id,
        status=status,
        lead_id=1,
        callerid=f"V{campaign_id[:10]}",
        call_time=NOW,
        call_type="IN",
        agent_only=agent_only,
    )


def count_for(api, **params):
    return api("calls_in_queue_count", value="DISPLAY", **params)


def queued_email(db, group_id, status="NEW"):
    db.insert("vicidial_email_list", group_id=group_id, status=status, email_date=NOW)


def test_calls_in_queue_count_zero(api, db, login):
    login("1000", closer_campaigns=" TEST_IN -")
    response = api.get("calls_in_queue_count", agent_user="1000", value="DISPLAY")
    assert response.text == "SUCCESS: calls_in_queue_count - 0"  # no line feed
    assert log_of(db.last_log()) == (
        "calls_in_queue_count",
        "1000",
        "DISPLAY",
        "SUCCESS",
        "SUCCESS: calls_in_queue_count - 0",
        "",
    )


def test_calls_in_queue_count_counts_what_the_agent_could_take(api, db, login):
    login("1000", closer_campaigns=" TEST_IN SALESLINE AGENTDIRECT -")
    queued_call(db, "TESTCAMP")  # the agent's campaign
    queued_call(db, "TEST_IN")
    queued_call(db, "SALESLINE")
    queued_call(db, "AGENTDIRECT", agent_only="1000")
    queued_call(db, "AGENTDIRECT", agent_only="1001")  # for someone else
    queued_call(db, "TEST_IN2")  # not the agent's group
    queued_call(db, "TEST_IN", status="CLOSER")  # already answered
    queued_call(db, "TEST_IN", status="IVR")
    queued_email(db, "TEST_IN")
    queued_email(db, "SALESLINE", status="QUEUE")
    queued_email(db, "SALESLINE", status="DONE")
    queued_email(db, "TESTCAMP")  # the campaign is not an email group
    assert api("calls_in_queue_count", agent_user="1000", value="DISPLAY", close_window_link="1") == (
        "SUCCESS: calls_in_queue_count - 6" + CLOSE
    )


def test_calls_in_queue_count_agentdirect_groups_count_only_the_agents_calls(api, db, login):
    """Upstream cut `AGENTDIRECT` out of every id, so AGENTDIRECT_CHAT became `_CHAT` (hazard)."""
    login("1000", closer_campaigns=" AGENTDIRECT_CHAT -", campaign_id="MANCAMP")
    queued_call(db, "AGENTDIRECT_CHAT", agent_only="1000")
    queued_call(db, "AGENTDIRECT_CHAT", agent_only="1001")
    queued_call(db, "_CHAT")
    queued_call(db, "")  # the empty id upstream's list held
    assert count_for(api, agent_user="1000") == "SUCCESS: calls_in_queue_count - 1"


def test_calls_in_queue_count_in_any_agent_state(api, db, login):
    login("1000", status="INCALL", closer_campaigns=None)
    queued_call(db, "TESTCAMP")
    assert count_for(api, agent_user="1000") == "SUCCESS: calls_in_queue_count - 1"


@pytest.mark.parametrize(
    ("params", "shown"),
    [
        ({"agent_user": "1000", "value": "display"}, "display|1000"),
        ({"agent_user": "1000", "value": "DISPLAYS"}, "DISPLAYS|1000"),
        ({"value": "DISPLAY", "alt_user": "7"}, "DISPLAY|"),
    ],
)
def test_calls_in_queue_count_not_valid(api, db, login, params, shown):
    login("1000")
    assert api("calls_in_queue_count", close_window_link="1", **params) == (
        f"ERROR: calls_in_queue_count not valid - {shown}\n" + CLOSE
    )
    value, agent_user = shown.split("|")
    assert log_of(db.last_log()) == (
        "calls_in_queue_count",
        agent_user,
        value,
        "ERROR",
        "calls_in_queue_count not valid",
        "",
    )


def test_calls_in_queue_count_permission_denied(api, db, login):
    login("1000")
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" send_dtmf ")
    assert api("calls_in_queue_count", agent_user="1000", value="DISPLAY") == (
        "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION - DISPLAY|6666|calls_in_queue_count|ADMIN\n"
    )


def test_calls_in_queue_count_alt_user(api, db, login):
    login("1000")
    queued_call(db, "TESTCAMP")
    assert api("calls_in_queue_count", agent_user="1000", alt_user="99999", value="DISPLAY") == (
        "ERROR: no user found - 99999\n"
    )
    assert [log_of(r) for r in db.logs()] == [("calls_in_queue_count", "1000", "DISPLAY", "ERROR", "no user found", "")]
    assert count_for(api, alt_user="71000") == "SUCCESS: calls_in_queue_count - 1"


def test_calls_in_queue_count_not_logged_in(api, db):
    assert api("calls_in_queue_count", agent_user="1000", value="DISPLAY") == (
        "ERROR: agent_user is not logged in - 1000\n"
    )
    assert log_of(db.last_log()) == (
        "calls_in_queue_count",
        "1000",
        "DISPLAY",
        "ERROR",
        "agent_user is not logged in",
        "",
    )


def test_calls_in_queue_count_json(api, db, login):
    login("1000")
    assert api.get("calls_in_queue_count", agent_user="1000", value="DISPLAY", format="json").json()["details"] == ["0"]
