"""callid_info: every answer line, call types (inbound from the closer log, outbound from the call log), the
customer's talk time, detail, stages, header, the caller's scope and JSON."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.companion.conftest import add_team, agent_log, log_row, logged
from tests.support import FROZEN_AT

UID = "1768473000.101"
DETAIL_HEADER = "call_id|custtime|call_date|phone|call_type|campaign_id|list_id|status|user"


def a_call(db, call_id: str, *, inbound: bool = False, user: str = "1000", log: bool = True) -> None:
    """A finished call as the engine logs it: its extended row, its call log row and the agent's talk time."""
    db.insert("vicidial_log_extended", uniqueid=UID, server_ip="10.10.10.15", call_date=FROZEN_AT, lead_id=12345,
              caller_code=call_id)
    row = {"lead_id": 12345, "list_id": 101, "call_date": FROZEN_AT, "start_epoch": 1768473000, "status": "SALE",
           "phone_code": "1", "phone_number": "3125551001", "user": user, "uniqueid": UID}
    if log and inbound:
        db.insert("vicidial_closer_log", **row, campaign_id="TEST_IN")
    elif log:
        db.insert("vicidial_log", **row, campaign_id="TESTCAMP")
    agent_log(db, user, uniqueid=UID, lead_id=12345, talk_sec=95, dead_sec=10)


@pytest.mark.parametrize("call_id", ["", "M" + "1" * 16, "X1150103000000012345", "M" + "1" * 39])
def test_invalid_call_ids(companion, db, call_id):
    """Empty, 17 characters, an unknown prefix, 40 characters."""
    reason = "callid_info INVALID SEARCH PARAMETERS"
    assert companion("callid_info", call_id=call_id) == f"ERROR: {reason}: 6666|{call_id}\n"
    assert log_row(db) == logged(db, "callid_info", "ERROR", reason, f"6666|{call_id}")


def test_the_shortest_and_longest_call_ids_are_searched(companion, db):
    for call_id in ("M" + "1" * 17, "M" + "1" * 38):
        assert companion("callid_info", call_id=call_id) == "ERROR: callid_info CALL NOT FOUND: 6666|\n"


def test_call_not_found(companion, db):
    assert companion("callid_info", call_id="M1150103000000012345", agent_user="1000") == (
        "ERROR: callid_info CALL NOT FOUND: 6666|1000\n")
    assert log_row(db) == logged(db, "callid_info", "ERROR", "callid_info CALL NOT FOUND", "6666|1000",
                                 agent_user="1000")


def test_call_log_not_found(companion, db):
    a_call(db, "M1150103000000012345", log=False)
    assert companion("callid_info", call_id="M1150103000000012345") == (
        "ERROR: callid_info CALL LOG NOT FOUND: 6666|\n")
    assert log_row(db) == logged(db, "callid_info", "ERROR", "callid_info CALL LOG NOT FOUND", "6666|")


def test_an_outbound_call_and_its_customer_time(companion, db):
    a_call(db, "M1150103000000012345")
    body = companion("callid_info", call_id="M1150103000000012345")
    assert body == "M1150103000000012345|85\n"
    assert log_row(db) == logged(db, "callid_info", "SUCCESS", f"callid_info {body}",
                                 "6666|M1150103000000012345|pipe")


@pytest.mark.parametrize(("call_id", "call_type"), [
    ("M1150103000000012345", "OUTBOUND_MANUAL"),
    ("V1150103000000012345", "OUTBOUND_AUTO"),
    ("DC115010300000012345", "OUTBOUND_OTHER"),
    ("S1150103000000012345", "OUTBOUND_OTHER"),
    ("XL115010300000012345", "OUTBOUND_OTHER"),
])
def test_detail_of_outbound_calls(companion, db, call_id, call_type):
    a_call(db, call_id)
    body = companion("callid_info", call_id=call_id, detail="YES", header="YES", stage="csv")
    assert body == (DETAIL_HEADER.replace("|", ",") + "\n"
                    f"{call_id},85,2026-01-15 10:30:00,3125551001,{call_type},TESTCAMP,101,SALE,1000\n")
    assert log_row(db)["data"] == f"6666|{call_id}|csv"


@pytest.mark.parametrize("call_id", ["Y1150103000000012345", "J1150103000000012345", "LP115010300000012345",
                                     "VH115010300000012345"])
def test_inbound_calls_come_from_the_closer_log(companion, db, call_id):
    a_call(db, call_id, inbound=True)
    # another closer-log row of the same call id at another time (a transfer's leg) is not this one
    db.insert("vicidial_closer_log", lead_id=12345, list_id=101, call_date=FROZEN_AT + timedelta(minutes=3),
              status="XFER", phone_number="3125551001", user="1001", uniqueid=UID, campaign_id="SALESLINE")
    assert companion("callid_info", call_id=call_id, detail="YES", stage="tab") == (
        f"{call_id}\t85\t2026-01-15 10:30:00\t3125551001\tINBOUND\tTEST_IN\t101\tSALE\t1000\n")


def test_without_an_agent_log_the_customer_time_is_zero(companion, db):
    a_call(db, "M1150103000000012345")
    db.delete("vicidial_agent_log")
    assert companion("callid_info", call_id="M1150103000000012345", header="YES") == (
        "call_id|custtime\nM1150103000000012345|0\n")


def test_a_restricted_caller_sees_the_calls_of_its_agents_only(companion, db):
    supervisor = add_team(db)
    a_call(db, "M1150103000000012345")
    assert companion("callid_info", auth=supervisor, call_id="M1150103000000012345") == (
        "ERROR: callid_info CALL LOG NOT FOUND: 7002|\n")
    db.update("vicidial_log", {"uniqueid": UID}, user="2001")
    db.update("vicidial_agent_log", {"user": "1000"}, user="2001")
    assert companion("callid_info", auth=supervisor, call_id="M1150103000000012345") == "M1150103000000012345|85\n"


def test_json(companion, db):
    a_call(db, "M1150103000000012345")
    assert companion.json("callid_info", call_id="M1150103000000012345", detail="YES") == {
        "result": "SUCCESS", "function": "callid_info", "data": [{
            "call_id": "M1150103000000012345", "custtime": 85, "call_date": "2026-01-15 10:30:00",
            "phone": "3125551001", "call_type": "OUTBOUND_MANUAL", "campaign_id": "TESTCAMP", "list_id": 101,
            "status": "SALE", "user": "1000"}]}
    assert companion.json("callid_info", call_id="M1") == {
        "result": "ERROR", "function": "callid_info", "reason": "callid_info INVALID SEARCH PARAMETERS",
        "details": ["6666", "M1"]}
