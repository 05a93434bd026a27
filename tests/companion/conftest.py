"""Fixtures of the companion status API tests: `/vicidial/non_agent_api.php` over HTTP, and the users and rows the
answers are made of (engine off; rows arranged as the engine writes them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support import FROZEN_AT, Db, live_agent_row

PATH = "/vicidial/non_agent_api.php"
AUTH = {"source": "test", "user": "6666", "pass": "1234"}
LOG_FIELDS = ("function", "user", "agent_user", "value", "result", "result_reason", "data", "api_script", "source")


class Companion:
    """Calls the companion API with the demo API user's credentials unless told otherwise."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def get(self, function: str | None = None, *, auth: dict[str, str] | None = AUTH, **params: Any) -> httpx.Response:
        query = (auth or {}) | ({"function": function} if function else {}) | params
        return self.client.get(PATH, params={k: str(v) for k, v in query.items()})

    def __call__(self, function: str | None = None, **params: Any) -> str:
        return self.get(function, **params).text

    def json(self, function: str, **params: Any) -> dict[str, Any]:
        response = self.get(function, format="json", **params)
        assert response.headers["content-type"] == "application/json"
        return response.json()


@pytest.fixture
def companion(backend, db: Db) -> Companion:
    return Companion(backend.client)


def log_row(db: Db) -> dict[str, Any]:
    """The newest vicidial_api_log row, with the fields the companion writes."""
    row = db.last_log()
    return {k: row[k] for k in LOG_FIELDS}


def logged(db: Db, function: str, result: str, reason: str, data: str, *, agent_user: str = "",
           user: str = "6666") -> dict[str, Any]:
    """The log row the companion writes for one answer (upstream's non-agent row: value is always empty)."""
    return {"function": function, "user": user, "agent_user": agent_user, "value": "", "result": result,
            "result_reason": reason, "data": data, "api_script": "non-agent", "source": "test"}


def add_user(db: Db, user: str, *, group: str = "ADMIN", level: int = 7, **extra: Any) -> dict[str, str]:
    """A reporting user (password 1234) with API access and view_reports; its credentials."""
    row = {"user": user, "pass": "1234", "full_name": f"User {user}", "user_level": level, "user_group": group,
           "active": "Y", "vdc_agent_api_access": "1", "view_reports": "1", "modify_users": "0",
           "api_allowed_functions": " ALL_FUNCTIONS "} | extra
    db.insert("vicidial_users", **row)
    return {"source": "test", "user": user, "pass": "1234"}


def add_team(db: Db) -> dict[str, str]:
    """A second team: group TEAM2 (campaign MANCAMP only, sees only TEAM2), its agent 2001 logged in to MANCAMP,
    and its supervisor 7002 (level 8, every report permission). Returns the supervisor's credentials."""
    db.insert("vicidial_user_groups", user_group="TEAM2", group_name="Team 2", allowed_campaigns=" MANCAMP -",
              admin_viewable_groups=" TEAM2 -", agent_status_viewable_groups=" TEAM2 ", group_shifts="")
    add_user(db, "2001", group="TEAM2", level=1, full_name="Agent 2001")
    db.insert("vicidial_live_agents", **live_agent_row("2001", campaign_id="MANCAMP", conf_exten="8600052",
                                                        random_id=2001))
    return add_user(db, "7002", group="TEAM2", level=8, modify_users="1")


def agent_log(db: Db, user: str, **values: Any) -> int:
    """A vicidial_agent_log row of `user`; its id."""
    row = {"user": user, "server_ip": "10.10.10.15", "event_time": FROZEN_AT, "lead_id": 0,
           "campaign_id": "TESTCAMP", "user_group": "AGENTS"} | values
    return int(db.insert("vicidial_agent_log", **row))


def auto_call(db: Db, callerid: str, **values: Any) -> None:
    """A vicidial_auto_calls row (a live call) with this caller id."""
    row = {"server_ip": "10.10.10.15", "campaign_id": "TESTCAMP", "status": "XFER", "lead_id": 12345,
           "uniqueid": "1768473000.1", "callerid": callerid, "channel": "SIP/trunk-00000001", "phone_code": "1",
           "phone_number": "3125551001", "call_time": FROZEN_AT, "call_type": "OUT"} | values
    db.insert("vicidial_auto_calls", **row)


def login_log(db: Db, user: str, ip: str, at: datetime) -> None:
    db.insert("vicidial_user_log", user=user, event="LOGIN", campaign_id="TESTCAMP", event_date=at,
              event_epoch=int(at.timestamp()), user_group="AGENTS", computer_ip=ip)
