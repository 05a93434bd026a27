"""force_fronter_leave_3way and force_fronter_audio_stop (spec part 3 §8–9), with a fake remote cluster.

The remote cluster is a real HTTP server (Starlette on uvicorn in a thread) that records each request
and answers what the test tells it to, so the CCC path makes a real hop over a socket.
"""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openagc.api.functions.transfer import COMMAND_IDS
from tests.support import FROZEN_AT, LiveServer, last_log_of

EPOCH = int(FROZEN_AT.timestamp())
SERVER_IP = "10.10.10.15"
LEAVE = "force_fronter_leave_3way"
AUDIO = "force_fronter_audio_stop"
DENIED = "ERROR: auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION"
PLAYER = "IAX2/ASTplay-0000a1b2"


class FakeCluster:
    """A remote VICIdial cluster's `/agc/api.php`: records queries, answers `reply` (after `delay`)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.reply = "SUCCESS: force_fronter_leave_3way SENT - 2001"
        self.status = 200
        self.delay = 0.0
        self.server = LiveServer(Starlette(routes=[Route("/agc/api.php", self.api)]))
        self.url = f"{self.server.base_url}/agc/api.php?source=ccc&user=6666&pass=secret"

    async def api(self, request: Request) -> Response:
        self.requests.append(dict(request.query_params))
        if self.delay:
            await asyncio.sleep(self.delay)
        return Response(self.reply, status_code=self.status, media_type="text/html")


@pytest.fixture(scope="module")
def cluster() -> Iterator[FakeCluster]:
    fake = FakeCluster()
    yield fake
    fake.server.stop()


@pytest.fixture
def remote(backend, cluster) -> Iterator[FakeCluster]:
    """The fake cluster configured as this system's remote cluster for the test."""
    settings = backend.services.settings
    saved = settings.remote_cluster_url, settings.remote_cluster_timeout
    settings.remote_cluster_url, settings.remote_cluster_timeout = cluster.url, 5.0
    cluster.requests.clear()
    cluster.reply, cluster.status, cluster.delay = "SUCCESS: force_fronter_leave_3way SENT - 2001", 200, 0.0
    yield cluster
    settings.remote_cluster_url, settings.remote_cluster_timeout = saved


def on_lead(login, user, lead=12345, minutes_ago=0, **overrides):
    started = FROZEN_AT - timedelta(minutes=minutes_ago)
    return login(user, lead_id=lead, status="INCALL", last_call_time=started, **overrides)


def ccc_link(db, lead=12345, remote_lead=77, container="test_ccc"):
    db.insert(
        "vicidial_ccc_log",
        call_date=FROZEN_AT,
        lead_id=lead,
        remote_lead_id=remote_lead,
        container_id=container,
        remote_call_id="R1",
        local_call_id="L1",
    )


def transferconf(db, user) -> str:
    return db.row("vicidial_live_agents", user=user)["external_transferconf"]


# ==================================================================================================
# force_fronter_leave_3way
# ==================================================================================================
def test_leave_3way_sent_to_the_oldest_other_agent_on_the_lead(api, db, login):
    on_lead(login, "1000", minutes_ago=1)
    on_lead(login, "6667", minutes_ago=5)
    on_lead(login, "1001", minutes_ago=3)
    on_lead(login, "1028", lead=12346, minutes_ago=9)
    text = api(LEAVE, agent_user="1000", value="LOCAL_ONLY")
    assert text == "SUCCESS: force_fronter_leave_3way SENT - 6667"  # no newline, as upstream
    assert transferconf(db, "6667") == f"LEAVE_3WAY_CALL---------NO------------{COMMAND_IDS.last}"
    assert re.fullmatch(rf"{EPOCH}\.\d{{4,}}", COMMAND_IDS.last)
    assert [transferconf(db, u) for u in ("1000", "1001", "1028")] == ["", "", ""]
    assert last_log_of(db) == (
        "force_fronter_leave_",
        "1000",
        "LOCAL_ONLY",
        "SUCCESS",
        "force_fronter_leave_3way SENT - 6667",
        "",
    )


def test_leave_3way_local_first_with_local_and_ccc(api, db, login, remote):
    on_lead(login, "1000")
    on_lead(login, "6667", minutes_ago=2)
    ccc_link(db)
    text = api(LEAVE, agent_user="1000", value="LOCAL_AND_CCC")
    assert text == "SUCCESS: force_fronter_leave_3way SENT - 6667"
    assert remote.requests == []
    assert db.count("vicidial_url_log") == 0


def test_leave_3way_through_alt_user(api, db, login):
    on_lead(login, "1000")
    on_lead(login, "6667", minutes_ago=2)
    assert api(LEAVE, alt_user="71000", value="LOCAL_ONLY") == "SUCCESS: force_fronter_leave_3way SENT - 6667"


@pytest.mark.parametrize("value", ["LOCAL", "local_only", "LOCAL_ONLYX", "CCC"])
def test_leave_3way_not_valid(api, db, login, value):
    on_lead(login, "1000")
    on_lead(login, "6667", minutes_ago=2)
    text = api(LEAVE, agent_user="1000", value=value)
    assert text == f"ERROR: force_fronter_leave_3way not valid - {value}|1000\n"
    assert transferconf(db, "6667") == ""
    assert last_log_of(db) == ("force_fronter_leave_", "1000", value, "ERROR", "force_fronter_leave_3way not valid", "")


def test_leave_3way_needs_an_agent(api, db):
    assert api(LEAVE, value="LOCAL_ONLY") == "ERROR: force_fronter_leave_3way not valid - LOCAL_ONLY|\n"


def test_leave_3way_permission(api, db, login):
    on_lead(login, "1000")
    on_lead(login, "6667", minutes_ago=2)
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version ")
    assert api(LEAVE, agent_user="1000", value="LOCAL_ONLY") == (
        f"{DENIED} - LOCAL_ONLY|6666|force_fronter_leave_3way|ADMIN\n"
    )
    assert transferconf(db, "6667") == ""
    assert last_log_of(db) == (
        "force_fronter_leave_",
        "1000",
        "LOCAL_ONLY",
        "ERROR",
        "auth USER DOES NOT HAVE PERMISSION TO USE THIS FUNCTION",
        "",
    )


def test_leave_3way_agent_not_logged_in(api, db, login):
    on_lead(login, "6667")
    assert api(LEAVE, agent_user="1000", value="LOCAL_ONLY") == "ERROR: agent_user is not logged in - 1000\n"
    assert last_log_of(db) == ("force_fronter_leave_", "1000", "LOCAL_ONLY", "ERROR", "agent_user is not logged in", "")
    assert transferconf(db, "6667") == ""


def test_leave_3way_agent_not_on_a_call(api, db, login):
    login("1000", lead_id=0)
    login("6667", lead_id=0)
    text = api(LEAVE, agent_user="1000", value="LOCAL_ONLY")
    assert text == "ERROR: agent_user is not on a phone call - 1000\n"
    assert last_log_of(db) == (
        "force_fronter_leave_",
        "1000",
        "LOCAL_ONLY",
        "ERROR",
        "agent_user is not on a phone call",
        "",
    )
    assert transferconf(db, "6667") == ""


def test_leave_3way_no_fronter(api, db, login, remote):
    on_lead(login, "1000")
    on_lead(login, "6667", lead=12346)
    ccc_link(db)
    assert api(LEAVE, agent_user="1000", value="LOCAL_ONLY") == "ERROR: no fronter found - 1000\n"
    assert last_log_of(db) == ("force_fronter_leave_", "1000", "LOCAL_ONLY", "ERROR", "no fronter found", "")
    assert remote.requests == []


def test_leave_3way_local_and_ccc_without_a_ccc_link(api, db, login, remote):
    on_lead(login, "1000")
    assert api(LEAVE, agent_user="1000", value="LOCAL_AND_CCC") == "ERROR: no fronter found - 1000\n"
    assert remote.requests == []
    assert db.count("vicidial_url_log") == 0


def test_leave_3way_sent_over_ccc(api, db, login, remote):
    on_lead(login, "1000")
    ccc_link(db)
    assert api(LEAVE, agent_user="1000", value="LOCAL_AND_CCC") == (
        "SUCCESS: force_fronter_leave_3way command sent over CCC - test_ccc\n"
    )
    assert remote.requests == [
        {
            "source": "ccc",
            "user": "6666",
            "pass": "secret",
            "function": LEAVE,
            "value": "CCC_REMOTE",
            "lead_id": "77",
            "agent_user": "CCC_REMOTE",
        }
    ]
    url_log = db.row("vicidial_url_log")
    assert (url_log["uniqueid"], url_log["url_date"], url_log["url_type"], url_log["response_sec"]) == (
        "",
        FROZEN_AT,
        "start",
        0,
    )
    assert url_log["url"] == (
        f"{remote.server.base_url}/agc/api.php?source=ccc&user=6666&pass=XXXXXXXX"
        f"&function={LEAVE}&value=CCC_REMOTE&lead_id=77&agent_user=CCC_REMOTE"
    )
    assert url_log["url_response"] == "SUCCESS: force_fronter_leave_3way SENT - 2001"
    assert last_log_of(db) == (
        "force_fronter_leave_",
        "1000",
        "LOCAL_AND_CCC",
        "SUCCESS",
        "force_fronter_leave_3way command sent over CCC",
        "",
    )


def test_leave_3way_remote_error_is_reported_as_an_error(api, db, login, remote):
    """Hazard H11 fixed: upstream said SUCCESS whatever the remote answered."""
    on_lead(login, "1000")
    ccc_link(db)
    remote.reply = "ERROR: no fronter found - CCC_REMOTE\n"
    assert api(LEAVE, agent_user="1000", value="LOCAL_AND_CCC") == (
        "ERROR: force_fronter_leave_3way command failed over CCC - test_ccc|ERROR: no fronter found - CCC_REMOTE\n"
    )
    assert last_log_of(db) == (
        "force_fronter_leave_",
        "1000",
        "LOCAL_AND_CCC",
        "ERROR",
        "force_fronter_leave_3way command failed over CCC",
        "ERROR: no fronter found - CCC_REMOTE",
    )
    assert db.row("vicidial_url_log")["url_response"] == "ERROR: no fronter found - CCC_REMOTE\n"


def test_leave_3way_remote_http_failure_is_an_error(api, db, login, remote):
    on_lead(login, "1000")
    ccc_link(db)
    remote.reply, remote.status = "", 500
    assert api(LEAVE, agent_user="1000", value="LOCAL_AND_CCC") == (
        "ERROR: force_fronter_leave_3way command failed over CCC - test_ccc|HTTP 500\n"
    )


def test_leave_3way_remote_timeout(api, db, login, backend, remote):
    on_lead(login, "1000")
    ccc_link(db)
    # the answer comes late, the connection at once: a timeout long enough for a loaded machine to connect in
    # (50 ms once gave ConnectTimeout in a CI run), far shorter than the answer's delay
    remote.delay = 2.0
    backend.services.settings.remote_cluster_timeout = 0.4
    assert api(LEAVE, agent_user="1000", value="LOCAL_AND_CCC") == (
        "ERROR: force_fronter_leave_3way command failed over CCC - test_ccc|ReadTimeout\n"
    )
    assert db.row("vicidial_url_log")["url_response"].startswith("HTTP ERROR: ReadTimeout - ")


def test_leave_3way_remote_unreachable(api, db, login, backend, remote):
    on_lead(login, "1000")
    ccc_link(db)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend.services.settings.remote_cluster_url = f"http://127.0.0.1:{port}/agc/api.php?pass=x;y"
    assert api(LEAVE, agent_user="1000", value="LOCAL_AND_CCC") == (
        "ERROR: force_fronter_leave_3way command failed over CCC - test_ccc|ConnectError\n"
    )
    url_log = db.row("vicidial_url_log")
    assert url_log["url"].startswith(f"http://127.0.0.1:{port}/agc/api.php?pass=XXXXXXXX&function=")
    assert url_log["url_response"].startswith("HTTP ERROR: ConnectError - ")


@pytest.mark.parametrize("function", [LEAVE, AUDIO])
def test_ccc_without_a_configured_remote_cluster(api, db, login, function):
    on_lead(login, "1000")
    ccc_link(db)
    assert api(function, agent_user="1000", value="LOCAL_AND_CCC") == (
        f"ERROR: {function} CCC remote cluster URL is not configured - test_ccc|1000\n"
    )
    assert last_log_of(db) == (
        function[:20],
        "1000",
        "LOCAL_AND_CCC",
        "ERROR",
        f"{function} CCC remote cluster URL is not configured",
        "",
    )
    assert db.count("vicidial_url_log") == 0


def test_leave_3way_ccc_remote_acts_on_the_given_lead_without_a_local_agent(api, db, login):
    """The receiving side: a remote cluster names our lead; `agent_user=CCC_REMOTE` is no logged-in agent."""
    on_lead(login, "6667", lead=77, minutes_ago=2)
    on_lead(login, "1000", lead=12345)
    assert api(LEAVE, agent_user="CCC_REMOTE", value="CCC_REMOTE", lead_id="77") == (
        "SUCCESS: force_fronter_leave_3way SENT - 6667"
    )
    assert transferconf(db, "6667") == f"LEAVE_3WAY_CALL---------NO------------{COMMAND_IDS.last}"
    assert transferconf(db, "1000") == ""
    assert last_log_of(db) == (
        "force_fronter_leave_",
        "CCC_REMOTE",
        "CCC_REMOTE",
        "SUCCESS",
        "force_fronter_leave_3way SENT - 6667",
        "",
    )


@pytest.mark.parametrize("lead_id", ["", "0", "99999999999999"])
def test_leave_3way_ccc_remote_needs_a_real_lead(api, db, login, lead_id):
    """Hazard H12 fixed: upstream searched lead '' (= 0) and sent the command to an idle agent."""
    on_lead(login, "1000")
    login("6667", lead_id=0)
    assert api(LEAVE, agent_user="1000", value="CCC_REMOTE", lead_id=lead_id) == (
        "ERROR: agent_user is not on a phone call - 1000\n"
    )
    assert transferconf(db, "6667") == ""


def test_leave_3way_command_ids_differ_within_one_second(api, db, login):
    on_lead(login, "1000")
    on_lead(login, "6667", minutes_ago=2)
    api(LEAVE, agent_user="1000", value="LOCAL_ONLY")
    first = transferconf(db, "6667")
    api(LEAVE, agent_user="1000", value="LOCAL_ONLY")
    assert transferconf(db, "6667") != first


# ==================================================================================================
# force_fronter_audio_stop
# ==================================================================================================
def player(db, conf="8600052", server_ip=SERVER_IP, channel=PLAYER):
    db.insert("live_channels", channel=channel, server_ip=server_ip, extension=conf, channel_group="")


def test_audio_stop_hangs_up_the_fronters_player(api, db, login):
    on_lead(login, "1000")
    on_lead(login, "6667", minutes_ago=2, conf_exten="8600052")
    player(db, conf="8600051", channel="IAX2/ASTplay-other")  # the agent's own conference: untouched
    player(db, channel="SIP/not-a-player")
    player(db)
    assert api(AUDIO, agent_user="1000", value="LOCAL_ONLY", stage="s1") == (
        "SUCCESS: force_fronter_audio_stop function sent - LOCAL_ONLY|s1|1000|6667\n"
    )
    row = db.row("vicidial_manager")
    del row["man_id"]
    assert row == {
        "uniqueid": "",
        "entry_date": FROZEN_AT,
        "status": "NEW",
        "response": "N",
        "server_ip": SERVER_IP,
        "channel": "",
        "action": "Hangup",
        "callerid": "PLAYHU20260115103000",
        "cmd_line_b": f"Channel: {PLAYER}",
        **{f"cmd_line_{c}": "" for c in "cdefghijk"},
    }
    assert last_log_of(db) == (
        "force_fronter_audio_",
        "1000",
        "LOCAL_ONLY",
        "SUCCESS",
        "force_fronter_audio_stop function sent",
        str(EPOCH),
    )


def recent(db, user, call_date, conf_exten):
    db.insert(
        "vicidial_sessions_recent",
        lead_id=12345,
        server_ip=SERVER_IP,
        user=user,
        campaign_id="TESTCAMP",
        call_date=call_date,
        conf_exten=conf_exten,
    )


def test_audio_stop_finds_a_recent_session(api, db, login):
    on_lead(login, "1000")
    recent(db, "6667", FROZEN_AT - timedelta(minutes=2), "8600053")
    recent(db, "1001", FROZEN_AT - timedelta(minutes=4), "8600054")
    player(db, conf="8600053")
    assert api(AUDIO, agent_user="1000", value="LOCAL_AND_CCC") == (
        "SUCCESS: force_fronter_audio_stop function sent - LOCAL_AND_CCC||1000|6667\n"
    )
    assert db.row("vicidial_manager")["cmd_line_b"] == f"Channel: {PLAYER}"


def test_audio_stop_ignores_sessions_older_than_five_minutes(api, db, login):
    on_lead(login, "1000")
    recent(db, "6667", FROZEN_AT - timedelta(minutes=6), "8600053")
    player(db, conf="8600053")
    assert api(AUDIO, agent_user="1000", value="LOCAL_ONLY") == "ERROR: no fronter found - 1000\n"
    assert last_log_of(db) == ("force_fronter_audio_", "1000", "LOCAL_ONLY", "ERROR", "no fronter found", "")
    assert db.count("vicidial_manager") == 0


def test_audio_stop_no_fronter_session(api, db, login):
    on_lead(login, "1000")
    on_lead(login, "6667", minutes_ago=2, conf_exten="86000")
    assert api(AUDIO, agent_user="1000", value="LOCAL_ONLY", stage="<b>x</b>") == (
        "ERROR: force_fronter_audio_stop error - no fronter session found - <b>x</b>|1000|6667\n"
    )
    assert last_log_of(db) == (
        "force_fronter_audio_",
        "1000",
        "LOCAL_ONLY",
        "ERROR",
        "force_fronter_audio_stop error - no fronter session found",
        "<b>x</b>",
    )
    assert db.count("vicidial_manager") == 0


def test_audio_stop_no_audio_playing(api, db, login):
    on_lead(login, "1000")
    on_lead(login, "6667", minutes_ago=2, conf_exten="8600052")
    player(db, server_ip="10.10.10.16")
    assert api(AUDIO, agent_user="1000", value="LOCAL_ONLY", stage="s1", close_window_link="1") == (
        "ERROR: force_fronter_audio_stop error - no audio playing in other agent session - "
        f"8600052|{SERVER_IP}|s1|1000|6667\n"
    )  # EXIT: no close-window link
    assert last_log_of(db) == (
        "force_fronter_audio_",
        "1000",
        "LOCAL_ONLY",
        "ERROR",
        "force_fronter_audio_stop error - no audio playing in other agent session",
        f"8600052|{SERVER_IP}|s1",
    )
    assert db.count("vicidial_manager") == 0


def test_audio_stop_sent_over_ccc(api, db, login, remote):
    on_lead(login, "1000")
    ccc_link(db, remote_lead=88, container="east")
    remote.reply = "SUCCESS: force_fronter_audio_stop function sent - CCC_REMOTE||CCC_REMOTE|2001\n"
    assert api(AUDIO, agent_user="1000", value="LOCAL_AND_CCC") == (
        "SUCCESS: force_fronter_audio_stop command sent over CCC - east\n"
    )
    assert remote.requests == [
        {
            "source": "ccc",
            "user": "6666",
            "pass": "secret",
            "function": AUDIO,
            "value": "CCC_REMOTE",
            "lead_id": "88",
            "agent_user": "CCC_REMOTE",
        }
    ]
    assert db.row("vicidial_url_log")["url_response"] == remote.reply
    assert db.count("vicidial_manager") == 0


def test_audio_stop_remote_error(api, db, login, remote):
    on_lead(login, "1000")
    ccc_link(db)
    remote.reply = "ERROR: agent_user is not on a phone call - CCC_REMOTE\n"
    assert api(AUDIO, agent_user="1000", value="LOCAL_AND_CCC") == (
        "ERROR: force_fronter_audio_stop command failed over CCC - test_ccc|"
        "ERROR: agent_user is not on a phone call - CCC_REMOTE\n"
    )


def test_audio_stop_ccc_remote_on_the_given_lead(api, db, login):
    on_lead(login, "6667", lead=77, conf_exten="8600052")
    player(db)
    assert api(AUDIO, agent_user="CCC_REMOTE", value="CCC_REMOTE", lead_id="77") == (
        "SUCCESS: force_fronter_audio_stop function sent - CCC_REMOTE||CCC_REMOTE|6667\n"
    )


def test_audio_stop_ccc_remote_needs_a_real_lead(api, db, login):
    login("6667", lead_id=0, conf_exten="8600052")
    player(db)
    assert api(AUDIO, agent_user="CCC_REMOTE", value="CCC_REMOTE") == (
        "ERROR: agent_user is not on a phone call - CCC_REMOTE\n"
    )
    assert db.count("vicidial_manager") == 0


def test_audio_stop_validation_permission_login_and_call(api, db, login):
    text = api(AUDIO, agent_user="1000", value="STOP")
    assert text == "ERROR: force_fronter_audio_stop not valid - STOP|1000\n"
    assert last_log_of(db) == (
        "force_fronter_audio_",
        "1000",
        "STOP",
        "ERROR",
        "force_fronter_audio_stop not valid",
        "",
    )
    assert api(AUDIO, agent_user="1000", value="LOCAL_ONLY") == "ERROR: agent_user is not logged in - 1000\n"
    login("1000", lead_id=0)
    text = api(AUDIO, agent_user="1000", value="LOCAL_ONLY")
    assert text == "ERROR: agent_user is not on a phone call - 1000\n"
    text = api(AUDIO, agent_user="1000", alt_user="99999", value="LOCAL_ONLY")
    assert text == "ERROR: no user found - 99999\n"
    assert last_log_of(db) == ("force_fronter_audio_", "1000", "LOCAL_ONLY", "ERROR", "no user found", "")
    db.update("vicidial_users", {"user": "6666"}, api_allowed_functions=" version ")
    assert api(AUDIO, agent_user="1000", value="LOCAL_AND_CCC") == (
        f"{DENIED} - LOCAL_AND_CCC|6666|force_fronter_audio_stop|ADMIN\n"
    )
    assert db.count("vicidial_manager") == 0
