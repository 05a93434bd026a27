"""Which agents an in-group call may go to: a live inbound row for the group and the group among the agent's
selected in-groups (`closer_campaigns`), both, as upstream checks them; the group matched as a whole word."""

from __future__ import annotations

import pytest

from openagc.engine import routing

CALL = {"call_type": "IN", "campaign_id": "TEST_IN"}


def free_for_test_in(eng) -> str | None:
    async def find() -> str | None:
        async with eng.services.db.connect() as conn:
            return await routing.free_agent(conn, CALL)

    return eng.run(find())


@pytest.mark.parametrize("closer, found", [
    (" TEST_IN SALESLINE -", "1000"),
    (" SALESLINE TEST_IN -", "1000"),
    (" SALESLINE -", None),  # its live inbound row says TEST_IN; its selection no longer does
    (" TESTXIN -", None),  # `_` is a plain character, not a wildcard
    (" TEST_INBOUND -", None),  # a whole word, not a prefix
])
def test_an_in_group_call_goes_to_an_agent_who_selected_its_group(eng, db, closer, found):
    token = eng.login()
    assert eng.agent("ready", token).status_code == 200
    eng.settle()
    assert {r["group_id"] for r in db.rows("vicidial_live_inbound_agents", user="1000")} >= {"TEST_IN"}
    db.update("vicidial_live_agents", {"user": "1000"}, closer_campaigns=closer)
    assert free_for_test_in(eng) == found
