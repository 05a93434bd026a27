"""Drop-in mode (engine off): upstream's agent screens carry commands out; a command's record ends `delivered`
when the screen clears its column, `expired` (and the column cleared) past its validity."""

from __future__ import annotations

import threading

from tests.support import AUTH, FROZEN_AT


def json_call(api, function: str, **params: str) -> dict:
    r = api.client.get("/agc/api.php", params=AUTH | {"function": function, "format": "json"} | params)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_command_the_screen_takes_is_delivered_and_wakes_a_waiting_caller(api, db, login):
    login("1000")
    doc = json_call(api, "external_dial", agent_user="1000", value="3125551002", phone_code="1", search="YES",
                    preview="NO", focus="YES")
    assert db.row("openagc_commands", command_id=doc["command_id"])["state"] == "queued"
    answer: dict = {}

    def wait() -> None:
        r = api.client.get(f"/agc/commands/{doc['command_id']}", params={"user": "6666", "pass": "1234",
                                                                          "wait": "10000"})
        answer.update(r.json())

    waiting = threading.Thread(target=wait)
    waiting.start()
    db.update("vicidial_live_agents", {"user": "1000"}, external_dial="")  # upstream's screen took it
    waiting.join(15)
    assert (answer["state"], answer["ended_by"], answer["source"]) == ("delivered", "api", "api")


def test_a_command_nobody_takes_expires_and_leaves_its_column(api, db, login, backend):
    login("1000")
    doc = json_call(api, "external_hangup", agent_user="1000", value="1")
    backend.services.clock.advance(11)
    r = api.client.get(f"/agc/commands/{doc['command_id']}", params={"user": "6666", "pass": "1234",
                                                                      "wait": "10000"})
    assert (r.json()["state"], r.json()["reason"]) == ("expired", "not taken within 10 s")
    assert db.row("vicidial_live_agents", user="1000")["external_hangup"] == "0"


def test_the_watcher_runs_only_where_no_engine_serves_the_database():
    from openagc.api.delivery import watching
    from openagc.config import Settings

    assert watching(Settings(command_watch="auto", redis_url=""))  # drop-in: upstream's screens act
    assert not watching(Settings(command_watch="auto", redis_url="redis://127.0.0.1:6379/0"))  # with an engine
    assert watching(Settings(command_watch="on", redis_url="redis://127.0.0.1:6379/0"))
    assert not watching(Settings(command_watch="off"))


def _one_pass(backend) -> tuple[list[dict], list[str]]:
    """One watcher pass on a server of its own (drop-in settings): the records it ended and its statements."""
    import asyncio

    import sqlalchemy as sa

    from openagc.api.delivery import settle_once
    from openagc.config import Settings
    from openagc.services import Services
    from openagc.store import command_records as records
    from openagc.store.database import Database

    services = Services(settings=Settings(database=backend.url, engine=False), db=Database(backend.url))
    services.clock.freeze(FROZEN_AT)
    statements: list[str] = []
    sa.event.listen(services.db.engine.sync_engine, "before_cursor_execute",
                    lambda _c, _cur, sql, *_: statements.append(" ".join(sql.split()).upper()))

    async def one_pass() -> list[dict]:
        try:
            return await settle_once(services, records.parse_validity(""))
        finally:
            await services.db.dispose()

    ended = asyncio.run(one_pass())
    return ended, [s for s in statements if not s.startswith("BEGIN")]  # SQLite's BEGIN, deferred or immediate


def test_a_pass_reads_all_queued_records_in_two_statements_and_writes_nothing_when_none_is_due(api, db, login,
                                                                                              backend):
    """The watcher's cost per pass does not grow with the queued records: one read of the records, one of their
    agents' columns; no write transaction while every command still waits in its column."""
    for user in ("1000", "1001", "1028"):
        login(user)
        json_call(api, "external_pause", agent_user=user, value="PAUSE")
        json_call(api, "external_status", agent_user=user, value="A")
    ended, statements = _one_pass(backend)
    assert ended == []
    assert len(statements) == 2, statements
    assert statements[0].startswith("SELECT") and "FROM OPENAGC_COMMANDS" in statements[0]
    assert statements[1].startswith("SELECT") and "FROM VICIDIAL_LIVE_AGENTS" in statements[1]
    assert db.count("openagc_commands", state="queued") == 6


def test_a_pass_that_ends_records_first_locks_them_as_api_php_does(api, db, login, backend):
    """Before ending a due record, the pass locks the queued records of its agent's column through their index,
    as api.php's tails do where `vicidial_live_agents` cannot roll back (tests/test_non_transactional.py)."""
    login("1000")
    doc = json_call(api, "external_pause", agent_user="1000", value="PAUSE")
    db.update("vicidial_live_agents", {"user": "1000"}, external_pause="")  # the screen took it
    ended, statements = _one_pass(backend)
    assert [e["command_id"] for e in ended] == [doc["command_id"]]
    writing = statements[2:]  # after the pass's two reads
    assert writing[0].startswith("SELECT OPENAGC_COMMANDS.COMMAND_ID FROM OPENAGC_COMMANDS"), writing
    assert writing[0].endswith("FOR UPDATE") == (backend.kind == "mariadb")
    assert any(s.startswith("UPDATE OPENAGC_COMMANDS") for s in writing[1:])
