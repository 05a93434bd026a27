"""send_notification (spec part 3 §10)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support import FROZEN_AT, last_log_of

DENIED = "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION"


def send(api, **params) -> str:
    return api("send_notification", **params)


def notification(db) -> dict:
    row = db.row("vicidial_agent_notifications")
    del row["entry_date"]
    return row


def cols(row: dict, *names: str) -> tuple:
    return tuple(row[n] for n in names)


def queued(recipient, kind, notification_id) -> str:
    return f"SUCCESS: notification queued - {recipient}|{kind}|{notification_id}\n"


TEXT_DEFAULTS = {
    "notification_text": None,
    "text_size": 12,
    "text_font": "Arial",
    "text_weight": "bold",
    "text_color": None,
}
NO_CONFETTI = {"show_confetti": "N", "confetti_options": None}


def restricted_api_user(db, user_group="AGENTS") -> None:
    """API user 6670 in a user group that sees only its own campaigns and group."""
    db.insert(
        "vicidial_users",
        **{
            "user": "6670",
            "pass": "1234",
            "user_level": 8,
            "user_group": user_group,
            "active": "Y",
            "vdc_agent_api_access": "1",
        },
    )


def as_6670(api, **params) -> str:
    credentials = {"source": "test", "user": "6670", "pass": "1234"}
    return api.get("send_notification", auth=False, **credentials, **params).text


# --- the three documented examples ------------------------------------------------------------------
def test_confetti_for_a_user(api, db):
    text = send(api, recipient="6666", recipient_type="USER", show_confetti="Y")
    row = notification(db)
    assert text == queued("6666", "USER", row["notification_id"])
    assert row == {
        "notification_id": row["notification_id"],
        "recipient": "6666",
        "recipient_type": "USER",
        "notification_date": FROZEN_AT,
        "notification_retry": "N",
        "notification_status": "QUEUED",
        **TEXT_DEFAULTS,
        "show_confetti": "Y",
        "confetti_options": "2,2350,60",
    }
    assert last_log_of(db) == ("send_notification", "6666", "USER", "SUCCESS", "notification queued", "")


def test_text_for_a_user_group(api, db):
    text = send(
        api,
        recipient="AGENTS",
        recipient_type="USER_GROUP",
        show_confetti="N",
        notification_text="Ten+minutes+to+closing",
        text_size="36",
        text_color="9900FF",
        text_weight="bold,italic,underline",
    )
    row = notification(db)
    assert text == queued("AGENTS", "USER_GROUP", row["notification_id"])
    assert row == {
        "notification_id": row["notification_id"],
        "recipient": "AGENTS",
        "recipient_type": "USER_GROUP",
        "notification_date": FROZEN_AT,
        "notification_retry": "N",
        "notification_status": "QUEUED",
        "notification_text": "Ten minutes to closing",
        "text_size": 36,
        "text_font": "Arial",
        "text_weight": "bold,italic,underline",
        "text_color": "#9900FF",
        **NO_CONFETTI,
    }
    assert last_log_of(db) == ("send_notification", "AGENTS", "USER_GROUP", "SUCCESS", "notification queued", "")


def test_text_and_confetti_for_a_campaign(api, db):
    text = send(
        api,
        recipient="TESTCAMP",
        recipient_type="CAMPAIGN",
        show_confetti="Y",
        duration="4",
        maxParticleCount="3000",
        particleSpeed="50",
        notification_text="YOU+ARE+FIRED",
        text_weight="underline",
        text_size="48",
        text_color="red",
        notification_retry="y",
    )
    row = notification(db)
    assert text == queued("TESTCAMP", "CAMPAIGN", row["notification_id"])
    assert cols(row, "notification_text", "text_size", "text_weight", "text_color", "text_font") == (
        "YOU ARE FIRED",
        48,
        "underline",
        "red",
        "Arial",
    )
    assert cols(row, "show_confetti", "confetti_options", "notification_retry") == ("Y", "4,3000,50", "Y")


# --- recipient_type inference ---------------------------------------------------------------------
def test_inference_with_an_invalid_date_documented_output(api, db):
    text = send(api, recipient="6666", notification_date="2024", notification_text="hi")
    row = notification(db)
    assert text == (
        "Invalid recipient_type (), NOTICE: found 6666 as USER<BR>\n"
        "NOTICE: Invalid notification date 2024, changing to now"
        f"SUCCESS: notification queued - 6666|USER|{row['notification_id']}\n"
    )
    assert (row["recipient_type"], row["notification_date"]) == ("USER", FROZEN_AT)
    assert db.count("vicidial_api_log") == 1  # the NOTICE fragments are not logged
    assert last_log_of(db) == ("send_notification", "6666", "USER", "SUCCESS", "notification queued", "")


@pytest.mark.parametrize(
    ("recipient", "given", "kind"),
    [("AGENTS", "user", "USER_GROUP"), ("TESTCAMP", "ALT_DISPLAY", "CAMPAIGN"), ("1000", "USERS", "USER")],
)
def test_inference_finds_each_type(api, db, recipient, given, kind):
    text = send(api, recipient=recipient, recipient_type=given, show_confetti="Y")
    row = notification(db)
    assert text == (
        f"Invalid recipient_type ({given}), NOTICE: found {recipient} as {kind}<BR>\n"
        + queued(recipient, kind, row["notification_id"])
    )
    assert row["recipient_type"] == kind


def test_inference_prefers_a_user_over_a_group_of_the_same_name(api, db):
    db.insert("vicidial_users", user="AGENTS", **{"pass": "x"}, user_group="AGENTS")
    text = send(api, recipient="AGENTS", show_confetti="Y")
    assert text.startswith("Invalid recipient_type (), NOTICE: found AGENTS as USER<BR>\n")


def test_inference_finds_nothing(api, db):
    assert send(api, recipient="NOBODY", recipient_type="x", show_confetti="Y") == (
        "Invalid recipient_type (x), ERROR: no matching recipient found in users, user_groups, or campaigns - NOBODY\n"
    )
    assert last_log_of(db) == (
        "send_notification",
        "NOBODY",
        "",
        "ERROR",
        "no matching recipient found in users, user_groups, or campaigns",
        "",
    )
    assert db.count("vicidial_agent_notifications") == 0


@pytest.mark.parametrize(("recipient", "kind"), [("", "USER"), ("", ""), ("0", ""), ("0", "USER")])
def test_missing_recipient(api, db, recipient, kind):
    assert send(api, recipient=recipient, recipient_type=kind, show_confetti="Y") == (
        f"ERROR: Missing recipient or recipient_type - {recipient}|{kind}\n"
    )
    assert last_log_of(db) == ("send_notification", recipient, kind, "ERROR", "Missing recipient or recipient_type", "")
    assert db.count("vicidial_agent_notifications") == 0


# --- existence and access -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "table"),
    [("USER", "vicidial_users"), ("USER_GROUP", "vicidial_user_groups"), ("CAMPAIGN", "vicidial_campaigns")],
)
def test_recipient_does_not_exist(api, db, kind, table):
    assert send(api, recipient="GHOST", recipient_type=kind, show_confetti="Y", value="v1") == (
        f"ERROR: GHOST DOES NOT EXIST in {table} - v1|GHOST\n"
    )
    assert last_log_of(db) == ("send_notification", "", "v1", "ERROR", f"GHOST DOES NOT EXIST in {table}", "")
    assert db.count("vicidial_agent_notifications") == 0


def test_campaign_access(api, db):
    restricted_api_user(db)
    db.insert("vicidial_campaigns", campaign_id="OTHERC", campaign_name="Other", active="Y")
    assert as_6670(api, recipient="OTHERC", recipient_type="CAMPAIGN", show_confetti="Y") == (
        "ERROR: ACCESS TO CAMPAIGN OTHERC NOT ALLOWED FOR USER 6670 ( TESTCAMP MANCAMP -) - |OTHERC\n"
    )
    assert last_log_of(db) == (
        "send_notification",
        "",
        "",
        "ERROR",
        "ACCESS TO CAMPAIGN OTHERC NOT ALLOWED FOR USER 6670 ( TESTCAMP MANCAMP -)",
        "",
    )
    assert db.count("vicidial_agent_notifications") == 0
    text = as_6670(api, recipient="TESTCAMP", recipient_type="CAMPAIGN", show_confetti="Y")
    assert text == queued("TESTCAMP", "CAMPAIGN", notification(db)["notification_id"])


def test_user_group_access(api, db):
    restricted_api_user(db)
    assert as_6670(api, recipient="ADMIN", recipient_type="USER_GROUP", show_confetti="Y") == (
        "ERROR: ACCESS TO USER GROUP ADMIN NOT ALLOWED FOR USER 6670 - |ADMIN\n"
    )
    assert last_log_of(db) == (
        "send_notification",
        "",
        "",
        "ERROR",
        "ACCESS TO USER GROUP ADMIN NOT ALLOWED FOR USER 6670",
        "",
    )
    assert db.count("vicidial_agent_notifications") == 0
    text = as_6670(api, recipient="AGENTS", recipient_type="USER_GROUP", show_confetti="Y")
    assert text == queued("AGENTS", "USER_GROUP", notification(db)["notification_id"])


def test_user_access_follows_the_users_group(api, db):
    """Hazard H10 fixed: upstream let any API user notify any user; now the user's group must be viewable."""
    restricted_api_user(db)
    assert as_6670(api, recipient="6666", recipient_type="USER", show_confetti="Y") == (
        "ERROR: ACCESS TO USER 6666 NOT ALLOWED FOR USER 6670 - |6666\n"
    )
    assert last_log_of(db) == (
        "send_notification",
        "",
        "",
        "ERROR",
        "ACCESS TO USER 6666 NOT ALLOWED FOR USER 6670",
        "",
    )
    assert as_6670(api, recipient="6666", show_confetti="Y") == (
        "Invalid recipient_type (), NOTICE: found 6666 as USER<BR>\n"
        "ERROR: ACCESS TO USER 6666 NOT ALLOWED FOR USER 6670 - |6666\n"
    )
    assert db.count("vicidial_agent_notifications") == 0
    text = as_6670(api, recipient="1000", recipient_type="USER", show_confetti="Y")
    assert text == queued("1000", "USER", notification(db)["notification_id"])


@pytest.mark.parametrize("kind", ["USER", "USER_GROUP", "CAMPAIGN"])
def test_api_users_group_does_not_exist(api, db, kind):
    restricted_api_user(db, user_group="NOGROUP")
    recipient = {"USER": "1000", "USER_GROUP": "AGENTS", "CAMPAIGN": "TESTCAMP"}[kind]
    assert as_6670(api, recipient=recipient, recipient_type=kind, show_confetti="Y", value="v") == (
        "ERROR: user_group DOES NOT EXIST - v|NOGROUP\n"
    )
    assert last_log_of(db) == ("send_notification", "", "v", "ERROR", "user_group DOES NOT EXIST", "")
    assert db.count("vicidial_agent_notifications") == 0


# --- gates -----------------------------------------------------------------------------------------
def test_notifications_disabled(api, db):
    db.update("system_settings", {}, agent_notifications="0")
    assert send(api, recipient="6666", recipient_type="USER", show_confetti="Y") == (
        "ERROR: Agent API Notifications are disabled on this system - 0\n"
    )
    assert last_log_of(db) == (
        "send_notification",
        "6666",
        "USER",
        "ERROR",
        "Agent API Notifications are disabled on this system",
        "",
    )
    assert db.count("vicidial_agent_notifications") == 0


def test_permission(api, db):
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version ")
    assert send(api, recipient="1000", recipient_type="USER", show_confetti="Y", value="x") == (
        f"{DENIED} - x|6666|send_notification|ADMIN\n"
    )
    assert last_log_of(db) == (
        "send_notification",
        "1000",
        "USER",
        "ERROR",
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION",
        "",
    )
    assert db.count("vicidial_agent_notifications") == 0


@pytest.mark.parametrize("confetti", ["", "N", "y"])
def test_invalid_request_without_text_or_confetti(api, db, confetti):
    """`show_confetti=y` is no confetti (upstream compares with uppercase `Y`)."""
    assert send(api, recipient="1000", recipient_type="USER", show_confetti=confetti) == (
        "ERROR: invalid request - 1000|USER\n"
    )
    assert last_log_of(db) == ("send_notification", "1000", "USER", "ERROR", "invalid request", "")
    assert db.count("vicidial_agent_notifications") == 0


# --- defaults, maxima, container -------------------------------------------------------------------
def test_text_defaults_and_colours(api, db):
    send(api, recipient="1000", recipient_type="USER", notification_text="Hello", text_size="0")
    row = notification(db)
    assert cols(row, "text_size", "text_font", "text_weight", "text_color", "show_confetti") == (
        12,
        "Arial",
        "bold",
        "black",
        "N",
    )
    db.delete("vicidial_agent_notifications")
    send(
        api,
        recipient="1000",
        recipient_type="USER",
        notification_text="Hi",
        text_color="FF0",
        text_size="300",
        text_font="Times New Roman",
    )
    row = notification(db)
    assert cols(row, "text_color", "text_size", "text_font") == ("#FF0", 255, "Times New Roman")
    db.delete("vicidial_agent_notifications")
    send(api, recipient="1000", recipient_type="USER", notification_text="Hi", text_color="ff0000")
    assert notification(db)["text_color"] == "ff0000"


def test_confetti_maxima_are_enforced(api, db):
    send(
        api,
        recipient="1000",
        recipient_type="USER",
        show_confetti="Y",
        duration="50",
        maxParticleCount="123456",
        particleSpeed="500",
    )
    assert notification(db)["confetti_options"] == "10,9999,100"


def test_confetti_settings_container(api, db):
    db.insert(
        "vicidial_settings_containers",
        container_id="CONFETTI_SETTINGS",
        container_type="OTHER",
        container_entry="; confetti defaults\n;particleSpeed => 9\nduration => 5\n"
        "maxParticleCount => 20000\nparticleSpeed=>7\nbogus => 1\n",
    )
    send(api, recipient="1000", recipient_type="USER", show_confetti="Y", duration="3", particleSpeed="0")
    assert notification(db)["confetti_options"] == "3,9999,60"
    db.delete("vicidial_agent_notifications")
    send(api, recipient="1000", recipient_type="USER", show_confetti="Y")
    assert notification(db)["confetti_options"] == "5,9999,60"


def test_text_keeps_quotes_and_markup_as_data(api, db):
    send(api, recipient="1000", recipient_type="USER", notification_text='it\'s "<b>done</b>"; #1')
    assert notification(db)["notification_text"] == 'it\'s "<b>done</b>" 1'


# --- notification_date ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2026-02-01 08:00:00", datetime(2026, 2, 1, 8, 0, 0)),
        ("2026-2-1 8:5", datetime(2026, 2, 1, 8, 5, 0)),
        ("26-02-01 08:00", datetime(2026, 2, 1, 8, 0, 0)),
        ("2026-02-0108:00:30", datetime(2026, 2, 1, 8, 0, 30)),
    ],
)
def test_notification_date_accepted(api, db, given, stored):
    text = send(api, recipient="1000", recipient_type="USER", show_confetti="Y", notification_date=given)
    row = notification(db)
    assert text == queued("1000", "USER", row["notification_id"])
    assert row["notification_date"] == stored


@pytest.mark.parametrize("given", ["2026-02-01", "2026-02-30 10:00", "2026-13-01 10:00", "10:00", "2026"])
def test_notification_date_replaced_by_now(api, db, given):
    text = send(api, recipient="1000", recipient_type="USER", show_confetti="Y", notification_date=given)
    row = notification(db)
    assert text == (
        f"NOTICE: Invalid notification date {given}, changing to now" + queued("1000", "USER", row["notification_id"])
    )
    assert row["notification_date"] == FROZEN_AT


def test_json_format_carries_the_notices(api, db):
    body = api.get(
        "send_notification", recipient="6666", show_confetti="Y", notification_date="2024", format="json"
    ).json()
    notification_id = notification(db)["notification_id"]
    assert body == {
        "result": "SUCCESS",
        "reason": "notification queued",
        "details": ["6666", "USER", str(notification_id)],
        "notices": [
            {"result": "NOTICE", "reason": "Invalid recipient_type", "details": [""]},
            {"result": "NOTICE", "reason": "found", "details": ["6666", "USER"]},
            {"result": "NOTICE", "reason": "Invalid notification date", "details": ["2024"]},
        ],
    }
