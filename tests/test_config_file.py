"""The TOML configuration file (`--config`, `OPENAGC_CONFIG`): its keys, its errors, and the precedence
command line > OPENAGC_* environment variable > file > default."""

from __future__ import annotations

from dataclasses import fields

import pytest

from openagc.config import ConfigError, Settings, env_name, read_config_file
from tests.cli_support import clean_env, free_port, openagc, serving


def write(tmp_path, text: str):
    path = tmp_path / "openagc.toml"
    path.write_text(text)
    return path


@pytest.fixture
def no_env(monkeypatch):
    for f in fields(Settings):
        monkeypatch.delenv(env_name(f.name), raising=False)
    return monkeypatch


def test_a_file_gives_typed_settings(tmp_path):
    path = write(tmp_path, 'database = "mysql+asyncmy://u:p@db:3306/asterisk"\nport = 8081\nengine = "off"\n'
                           'cache_seconds = 0\nworkers = 4\nforwarded_allow_ips = "10.0.0.1"\n')
    assert read_config_file(path) == {"database": "mysql+asyncmy://u:p@db:3306/asterisk", "port": 8081,
                                      "engine": False, "cache_seconds": 0.0, "workers": 4,
                                      "forwarded_allow_ips": "10.0.0.1"}
    assert read_config_file(write(tmp_path, "engine = true\n")) == {"engine": True}


@pytest.mark.parametrize(("text", "message"), [
    ('prot = 8080\nhots = "x"\n', "openagc.toml: unknown settings hots, prot (keys are the names"),
    ('[server]\nport = 1\n', "openagc.toml: unknown setting server (keys are the names"),
    ('port = "8080"\n', "openagc.toml: port must be an integer, not '8080'"),
    ('port = true\n', "openagc.toml: port must be an integer, not True"),
    ('cache_seconds = "1"\n', "openagc.toml: cache_seconds must be a number, not '1'"),
    ('engine = "maybe"\n', "openagc.toml: engine must be true, false, on or off, not 'maybe'"),
    ('database = 5\n', "openagc.toml: database must be a string, not 5"),
    ('port = \n', "openagc.toml is not valid TOML: "),
])
def test_a_bad_file_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError) as caught:
        read_config_file(write(tmp_path, text))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_missing_file_is_one_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the configuration file .*nope.toml: No such file"):
        read_config_file(tmp_path / "nope.toml")


def test_every_setting_has_its_environment_variable(no_env):
    samples = {"str": "from-env", "int": 7, "float": 2.5, "bool": False}
    for f in fields(Settings):
        value = samples[str(f.type)]
        no_env.setenv(env_name(f.name), "off" if value is False else str(value))
        assert getattr(Settings(), f.name) == value, f.name


def test_precedence_command_line_environment_file_default(no_env):
    file_values = {"port": 9001, "host": "0.0.0.0", "redis_url": "redis://file", "cache_seconds": 5.0}
    no_env.setenv("OPENAGC_HOST", "10.0.0.9")
    no_env.setenv("OPENAGC_REDIS_URL", "redis://env")
    s = Settings.resolve(file_values, {"redis_url": "redis://cli"})
    assert (s.redis_url, s.host, s.port, s.cache_seconds, s.switch) == (
        "redis://cli", "10.0.0.9", 9001, 5.0, "simulated")  # cli, env, file, file, default


def test_worker_environment_rebuilds_the_same_settings(no_env):
    settings = Settings.resolve({"engine": False, "workers": 3, "cache_seconds": 0.5, "lockout_failures": 4})
    for name, value in settings.as_env().items():
        no_env.setenv(name, value)
    assert Settings() == settings


def test_init_db_takes_the_database_by_precedence(tmp_path):
    config = write(tmp_path, f'database = "{tmp_path / "file.db"}"\n')
    assert openagc("init-db", "--config", str(config), cwd=tmp_path).returncode == 0
    assert (tmp_path / "file.db").exists()
    env = clean_env(OPENAGC_CONFIG=str(config), OPENAGC_DATABASE=str(tmp_path / "env.db"))
    assert openagc("init-db", cwd=tmp_path, env=env).returncode == 0
    assert (tmp_path / "env.db").exists()
    assert openagc("init-db", "--database", str(tmp_path / "cli.db"), cwd=tmp_path, env=env).returncode == 0
    assert (tmp_path / "cli.db").exists()
    assert sorted(p.name for p in tmp_path.glob("*.db")) == ["cli.db", "env.db", "file.db"]
    assert not (tmp_path / "var").exists()  # the default was never used


def test_serve_reads_the_file_named_by_openagc_config(tmp_path):
    port = free_port()
    config = write(tmp_path, f'database = "{tmp_path / "served.db"}"\nport = {port}\nengine = "off"\n')
    url = f"http://127.0.0.1:{port}/agc/api.php?function=version"
    with serving(cwd=tmp_path, url=url, env=clean_env(OPENAGC_CONFIG=str(config))) as first:
        assert first.text.startswith("VERSION: 2.14-82|BUILD: 250122-1010|")
    assert (tmp_path / "served.db").exists()
    assert "engine off" in (tmp_path / "serve.log").read_text()


def test_serve_with_an_unknown_key_is_one_error_line_and_creates_nothing(tmp_path):
    config = write(tmp_path, f'database = "{tmp_path / "never.db"}"\nprot = 8080\n')
    done = openagc("serve", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"error: {config}: unknown setting prot (keys are the names of the "
                                        "OPENAGC_* variables in lower case, e.g. database, port)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["openagc.toml"]


def test_serve_with_an_unknown_switch_is_one_error_line(tmp_path):
    config = write(tmp_path, f'database = "{tmp_path / "never.db"}"\nswitch = "asterix"\n')
    done = openagc("serve", "--config", str(config), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (1, "error: unknown switch 'asterix' (simulated or asterisk)\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["openagc.toml"]


def test_a_bad_environment_value_is_one_error_line(tmp_path):
    env = clean_env(OPENAGC_CACHE_SECONDS="soon")
    done = openagc("serve", "--database", str(tmp_path / "never.db"), cwd=tmp_path, env=env)
    assert (done.returncode, done.stderr) == (1, "error: OPENAGC_CACHE_SECONDS='soon' is not a number\n")
    assert list(tmp_path.iterdir()) == []
