"""The settings cache (`OPENAGC_CACHE_SECONDS`): 0 reads `system_settings` on every request; above 0 a change
waits for the time-to-live (docs/compatibility.md, common layer)."""

from __future__ import annotations

import pytest

PAUSED = "SUCCESS: external_pause function set - PAUSE|"
API_OFF = "ERROR: System API NOT ACTIVE\n"


@pytest.fixture
def ttl(backend):
    """Set the server's cache time-to-live for one test (the session's servers run with 0)."""
    settings = backend.services.settings
    before = settings.cache_seconds

    def set_ttl(seconds: float) -> None:
        settings.cache_seconds = seconds
        backend.services.clear_caches()

    yield set_ttl
    settings.cache_seconds = before
    backend.services.clear_caches()


def test_with_zero_a_settings_change_is_seen_by_the_next_request(api, db, login, ttl):
    ttl(0)
    login("1000")
    assert api("external_pause", agent_user="1000", value="PAUSE").startswith(PAUSED)
    db.update("system_settings", {}, vdc_agent_api_active="0")
    assert api("external_pause", agent_user="1000", value="PAUSE") == API_OFF
    db.update("system_settings", {}, vdc_agent_api_active="1")
    assert api("external_pause", agent_user="1000", value="PAUSE").startswith(PAUSED)


def test_with_a_time_to_live_a_settings_change_waits_for_it(api, db, login, ttl):
    ttl(3600)
    login("1000")
    assert api("external_pause", agent_user="1000", value="PAUSE").startswith(PAUSED)
    db.update("system_settings", {}, vdc_agent_api_active="0")
    assert api("external_pause", agent_user="1000", value="PAUSE").startswith(PAUSED)  # the cached row
    ttl(0)
    assert api("external_pause", agent_user="1000", value="PAUSE") == API_OFF
