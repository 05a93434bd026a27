"""Agent scenarios against a real Asterisk, through `/agc/api.php`, `/agent/` and plain SQL.

Each one asserts what Asterisk did (events read by the observer's read-everything AMI account, `confbridge list`,
files it wrote) and what the database says.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.asterisk.conftest import CONF, Tier, wait_for

pytestmark = pytest.mark.asterisk

ANSWERS = "3125551002"  # lead 12346; 1312555XXXX answers after 2 s and talks
BUSY, NO_ANSWER, HANGS_UP = "3125550486", "3125550487", "3125550488"
THIRD = "3125559999"


def dial_args(**kw: Any) -> dict[str, Any]:
    return {"agent_user": "1000", "search": "YES", "preview": "NO", "focus": "YES", "phone_code": "1"} | kw


def is_phone(user: str = "1000") -> Any:
    return lambda c: c.startswith(f"IAX2/{user}-")


def dialled(number: str) -> Any:
    """A channel of the Local dial `9 1 <number>` (either half)."""
    return lambda c: c.startswith(f"Local/91{number}@")


def customer_leg(tier: Tier, number: str, conf: str = CONF) -> str:
    """The customer's channel in the conference (`confbridge list`)."""
    legs = [m for m in tier.members(conf) if m.startswith(f"Local/91{number}@")]
    assert len(legs) == 1, tier.members(conf)
    return legs[0]


def manual_call(tier: Tier, number: str = ANSWERS) -> tuple[str, str]:
    """Log in, dial `number` manually and wait until the answered customer is in the conference.

    Returns (the agent's token, the customer's channel in the conference).
    """
    token = tier.login()
    mark = tier.observer.mark()
    body = tier.api("external_dial", value=number, **dial_args())
    assert body.startswith("SUCCESS"), body
    join = tier.observer.wait("ConfbridgeJoin", mark, 20, Conference=CONF, Channel=dialled(number))
    wait_for(lambda: tier.vla()["uniqueid"], what="the answered call in vicidial_live_agents")
    return token, join["Channel"]


# --------------------------------------------------------------------------------------------- session


def test_login_and_logout(tier: Tier) -> None:
    token = tier.login()
    phone = [m for m in tier.members() if is_phone()(m)]
    assert len(phone) == 1 and tier.members() == phone
    vla = tier.vla()
    assert (vla["status"], str(vla["conf_exten"]), vla["extension"]) == ("PAUSED", CONF, "IAX2/1000")
    wait_for(lambda: tier.state(token).get("phone") == "connected", what="the phone connected")
    mark = tier.observer.mark()
    assert tier.api("logout", agent_user="1000", value="LOGOUT").startswith("SUCCESS")
    tier.observer.wait("Hangup", mark, 15, Channel=is_phone())
    tier.observer.wait("ConfbridgeEnd", mark, 15, Conference=CONF)
    wait_for(lambda: tier.db.count("vicidial_live_agents", user="1000") == 0, what="the session row removed")
    assert tier.members() == []
    assert [r["event"] for r in tier.db.rows("vicidial_user_log", order_by="user_log_id", user="1000")] == [
        "LOGIN", "LOGOUT"]


# --------------------------------------------------------------------------------------------- manual dial


def test_manual_dial_answered(tier: Tier) -> None:
    token, leg = manual_call(tier)
    assert sorted(tier.members()) == sorted([leg, *[m for m in tier.members() if is_phone()(m)]])
    assert len(tier.members()) == 2
    vla = tier.vla()
    assert (vla["status"], vla["lead_id"], vla["comments"]) == ("INCALL", 12346, "MANUAL")
    log = tier.db.row("vicidial_log", uniqueid=vla["uniqueid"])
    assert (log["status"], log["user"], log["phone_number"]) == ("INCALL", "1000", ANSWERS)
    mark = tier.observer.mark()
    assert tier.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    tier.observer.wait("Hangup", mark, 15, Channel=leg)
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    assert [m for m in tier.members() if not is_phone()(m)] == []
    log = tier.db.row("vicidial_log", uniqueid=vla["uniqueid"])
    assert (log["status"], log["term_reason"]) == ("DISPO", "AGENT")
    assert tier.db.count("vicidial_auto_calls") == 0
    assert tier.api("external_status", agent_user="1000", value="NI").startswith("SUCCESS")
    wait_for(lambda: tier.db.row("vicidial_list", lead_id=12346)["status"] == "NI", what="the lead's status NI")


@pytest.mark.parametrize(("number", "cause", "reason"), [(BUSY, "17", "BUSY"), (NO_ANSWER, None, "NO ANSWER")],
                         ids=["busy", "no_answer"])
def test_manual_dial_fails(tier: Tier, number: str, cause: str | None, reason: str) -> None:
    tier.db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, dial_timeout=6)
    token = tier.login()
    events = tier.events(token)
    mark = tier.observer.mark()
    assert tier.api("external_dial", value=number, **dial_args()).startswith("SUCCESS")
    ended = tier.observer.wait("Hangup", mark, 30, Channel=dialled(number))
    if cause is not None:
        assert tier.observer.find("Hangup", mark, Cause=cause), "the far end was busy"
    else:
        assert not tier.observer.find("Newstate", mark, Channel=dialled(number), ChannelStateDesc="Up")
    assert ended and not tier.observer.find("ConfbridgeJoin", mark, Channel=dialled(number))
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    failed = wait_for(lambda: events.named("dial_failed"), what="a dial_failed event")
    assert failed[0]["reason"] == reason
    assert tier.db.count("vicidial_auto_calls") == 0
    assert tier.members() == [m for m in tier.members() if is_phone()(m)]


def test_customer_hangs_up(tier: Tier) -> None:
    token, leg = manual_call(tier, HANGS_UP)
    uniqueid = tier.vla()["uniqueid"]
    mark = tier.observer.mark()
    tier.observer.wait("ConfbridgeLeave", mark, 60, Conference=CONF, Channel=leg)
    tier.observer.wait("Hangup", mark, 15, Channel=leg)
    wait_for(lambda: tier.state(token)["dead"], what="the call shown dead")
    assert tier.api("external_hangup", agent_user="1000", value="1").startswith("SUCCESS")
    wait_for(lambda: tier.state(token)["phase"] == "DISPO", what="the disposition phase")
    log = tier.db.row("vicidial_log", uniqueid=uniqueid)
    assert log["term_reason"] == "CALLER"
    assert tier.members() == [m for m in tier.members() if is_phone()(m)]
