"""The campaign row a transaction's context carries: reused for `Settings.cache_seconds`, read-only, and read
fresh by a login's checks (docs/compatibility.md)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.engine.conftest import LOGIN


@pytest.fixture
def ttl(eng) -> Iterator:
    """Set the engine's cache time-to-live for one test (the test servers run with 0)."""
    settings = eng.services.settings
    before = settings.cache_seconds

    def set_ttl(seconds: float) -> None:
        settings.cache_seconds = seconds

    yield set_ttl
    settings.cache_seconds = before
    eng.services.clear_caches()


def context_campaign(eng) -> dict:
    """What a transaction of agent 1000 sees of its campaign."""
    async def read(ctx):
        with pytest.raises(TypeError):
            ctx.campaign["dial_timeout"] = 1  # shared by the transactions of its time to live: read-only
        return dict(ctx.campaign)

    return eng.run(eng.engine.transact("1000", read))


def test_a_campaign_change_reaches_the_engine_after_the_time_to_live(eng, db, ttl):
    eng.login()
    eng.settle()
    before = context_campaign(eng)["dial_timeout"]
    ttl(3600)
    assert context_campaign(eng)["dial_timeout"] == before
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, dial_timeout=before + 7)
    assert context_campaign(eng)["dial_timeout"] == before  # the row read within the time to live
    ttl(0)
    assert context_campaign(eng)["dial_timeout"] == before + 7


def test_a_login_checks_the_campaign_as_it_is_now(eng, db, ttl):
    eng.login()
    eng.settle()
    ttl(3600)
    assert context_campaign(eng)["active"] == "Y"  # cached
    db.update("vicidial_campaigns", {"campaign_id": "TESTCAMP"}, active="N")
    r = eng.client.post("/agent/login", json=LOGIN | {"user": "1001", "phone_login": "1001"})
    assert (r.status_code, r.json()) == (404, {"error": "campaign not found or inactive"}), r.text
