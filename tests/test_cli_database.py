"""A database that cannot be opened is one line, `error: cannot open database …: <reason>`, exit status 1, and
nothing created — for `openagc init-db`, `seed` and `serve` alike (run as a user runs them)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.cli_support import clean_env, free_port, openagc

COMMANDS = {
    "init-db": ("init-db",),
    "seed": ("seed", "--demo"),
    "serve": ("serve", "--engine", "off", "--port"),  # the port is added per test
}

BAD = {
    "unreachable": ("mysql+asyncmy://x:secret@127.0.0.1:1/z",
                    "cannot open database mysql+asyncmy://x:***@127.0.0.1:1/z: Can't connect to MySQL server on "
                    "'127.0.0.1'"),
    "unsupported": ("postgresql://u:secret@127.0.0.1/db",
                    "cannot open database postgresql://u:***@127.0.0.1/db: unsupported database 'postgresql' (use "
                    "an SQLite file path or a mysql+asyncmy:// URL)"),
    "no directory": ("{tmp}/missing/openagc.db",
                     "cannot open database {tmp}/missing/openagc.db: the directory {tmp}/missing does not exist"),
    "not a URL": ("::bad://",
                  "cannot open database ::bad://: Could not parse SQLAlchemy URL from given URL string"),
    "not a database": ("{tmp}/notes.txt", "cannot open database {tmp}/notes.txt: file is not a database"),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", BAD)
def test_a_bad_database_is_one_clear_line(tmp_path, command, case):
    (tmp_path / "notes.txt").write_text("not a database, " * 300)
    database, message = (text.format(tmp=tmp_path) for text in BAD[case])
    args = [*COMMANDS[command], *([str(free_port())] if command == "serve" else []), "--database", database]
    done = openagc(*args, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {message}"), done.stderr
    assert "secret" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]  # nothing created
    assert (tmp_path / "notes.txt").read_text() == "not a database, " * 300


def test_seed_needs_an_existing_database_file(tmp_path):
    done = openagc("seed", "--demo", "--database", str(tmp_path / "new.db"), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        1, f"error: cannot open database {tmp_path}/new.db: no such file (create it with openagc init-db)\n")
    assert list(tmp_path.iterdir()) == []


def test_seed_without_a_schema_says_so(tmp_path):
    (tmp_path / "empty.db").touch()
    done = openagc("seed", "--demo", "--database", str(tmp_path / "empty.db"), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        1, f"error: cannot seed database {tmp_path}/empty.db: no such table: system_settings "
        "(is its schema made? openagc init-db)\n")


def test_an_unknown_mariadb_database_is_one_clear_line(tmp_path, backend):
    if backend.kind != "mariadb":
        pytest.skip("MariaDB only")
    url = sa.make_url(backend.url).set(database="openagc_no_such_database")
    done = openagc("init-db", "--database", url.render_as_string(hide_password=False), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        1, f"error: cannot open database {url.render_as_string()}: Unknown database 'openagc_no_such_database'\n")


def test_version(tmp_path):
    from importlib.metadata import version

    done = openagc("--version", cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, f"openagc {version('openagc')}\n")


def test_serve_creates_the_embedded_database_only_when_it_starts(tmp_path):
    """A new SQLite file is not opened by the check: an error after it (demo callers without the engine) leaves no
    empty file behind that a later start would take for an initialised database."""
    done = openagc("serve", "--database", str(tmp_path / "new.db"), "--engine", "off", "--demo-callers", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        1, "error: demo callers need the engine on the simulated switch (--switch simulated, --engine on)\n")
    assert list(tmp_path.iterdir()) == []
    env = clean_env(OPENAGC_DEMO_CALLERS="many")  # a bad variable is refused before anything
    done = openagc("serve", "--database", str(tmp_path / "new.db"), cwd=tmp_path, env=env)
    assert (done.returncode, done.stderr) == (1, "error: OPENAGC_DEMO_CALLERS='many' is not a number\n")
    assert list(tmp_path.iterdir()) == []
