"""`openagc`: serve the Agent API, create and seed its database, write the Asterisk configuration."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, NoReturn

import click
import typer
from rich.console import Console
from typer.core import TyperCommand

from openagc.config import DEFAULT_SQLITE, ConfigError, Settings, read_config_file
from openagc.integrations.webhooks.cli import webhooks_app
from openagc.store.database import is_sqlite, make_sync_engine, sync_url

app = typer.Typer(
    help="openagc: the VICIdial Agent API (/agc/api.php) and agent session engine.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

DATABASE_HELP = "SQLite file path, or a URL such as mysql+asyncmy://user:pass@host:3306/asterisk."
CONFIG_HELP = ("TOML file of settings (keys: the OPENAGC_* variables' names in lower case). Precedence: command "
               "line > OPENAGC_* environment variable > this file > default.")


class OnOff(StrEnum):
    on = "on"
    off = "off"


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"openagc {version('openagc')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            from openagc import __version__

            typer.echo(f"openagc {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print openagc's version and exit."),
) -> None:
    pass


def _fail(message: str) -> NoReturn:
    """One line on stderr, exit status 1."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _settings(ctx: typer.Context, config: str, names: tuple[str, ...]) -> Settings:
    """Settings from the options of `names` given on the command line, OPENAGC_* variables and the config file."""
    try:
        file_values = read_config_file(config) if config else {}
    except ConfigError as exc:
        _fail(str(exc))
    given: dict[str, Any] = {}
    for name in names:
        source = ctx.get_parameter_source(name)  # an enum of click's, or of the click Typer carries
        if source is not None and source.name == "COMMANDLINE":
            value = ctx.params[name]
            given[name] = value is OnOff.on if isinstance(value, OnOff) else value
    try:
        return Settings.resolve(file_values, given)
    except ConfigError as exc:  # an OPENAGC_* variable that is not of its setting's type
        _fail(str(exc))


def _reason(exc: BaseException) -> str:
    """A driver's error as one line: `Can't connect to MySQL server on '127.0.0.1' (…)`, not the SQL and trace."""
    orig = getattr(exc, "orig", None) or exc
    args = getattr(orig, "args", ())
    text = args[1] if len(args) == 2 and isinstance(args[0], int) else str(orig)
    return " ".join(str(text).split()) or type(orig).__name__


def _shown(database: str) -> str:
    """The database as given, with a URL's password as ***."""
    import sqlalchemy as sa

    try:
        return sa.make_url(database).render_as_string() if "://" in database else database
    except sa.exc.ArgumentError:
        return database


def _open_database(database: str, *, must_exist: bool = False) -> bool:
    """Exit with `error: cannot open database …: <reason>` unless `database` is a database openagc can open.

    Only SQLite and MariaDB/MySQL are supported; an SQLite file's directory must exist (only the default `var/` is
    created), so a mistyped path is an error instead of a new database; with `must_exist` the file must exist too.
    The check creates nothing (but the default `var/`). True for an SQLite file that does not exist yet (it is not
    opened: the caller creates it).
    """
    import sqlalchemy as sa

    try:
        url = sa.make_url(database) if "://" in database else None
    except sa.exc.ArgumentError as exc:
        _fail(f"cannot open database {database}: {exc}")
    shown = _shown(database)
    kind = url.get_backend_name() if url is not None else "sqlite"
    if kind not in ("sqlite", "mysql", "mariadb"):
        _fail(f"cannot open database {shown}: unsupported database '{kind}' (use an SQLite file path or a "
              "mysql+asyncmy:// URL)")
    path = sync_url(database).database
    new_file = False
    if kind == "sqlite" and path not in (None, "", ":memory:"):
        file = Path(path).expanduser()
        if not file.parent.is_dir():
            if file != DEFAULT_SQLITE:
                _fail(f"cannot open database {shown}: the directory {file.parent} does not exist")
            file.parent.mkdir(parents=True)
        new_file = not file.exists()
        if new_file and must_exist:
            _fail(f"cannot open database {shown}: no such file (create it with openagc init-db)")
        if new_file:
            return True
    engine = None
    try:
        engine = make_sync_engine(database, poolclass=sa.pool.NullPool)  # imports the driver
        with engine.connect() as conn:
            conn.execute(sa.select(1))
    except (sa.exc.SQLAlchemyError, OSError, ImportError) as exc:
        _fail(f"cannot open database {shown}: {_reason(exc)}")
    finally:
        if engine is not None:
            engine.dispose()
    return new_file


def _init_db(database: str) -> None:
    from openagc.store.migrate import upgrade

    upgrade(sync_url(database).render_as_string(hide_password=False))


def _seed(database: str) -> bool:
    from openagc.store.demo import seed_demo

    engine = make_sync_engine(database)
    try:
        with engine.begin() as conn:
            return seed_demo(conn) is not False
    finally:
        engine.dispose()


@app.command("init-db")
def init_db(
    ctx: typer.Context,
    database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP),
    config: str = typer.Option("", "--config", "-c", envvar="OPENAGC_CONFIG", help=CONFIG_HELP),
) -> None:
    """Create the schema, or bring it up to date (Alembic migrations; tables that already exist are left alone)."""
    import sqlalchemy as sa

    database = _settings(ctx, config, ("database",)).database
    _open_database(database)
    try:
        _init_db(database)
    except sa.exc.SQLAlchemyError as exc:
        _fail(f"cannot create the schema in {_shown(database)}: {_reason(exc)}")
    console.print(f"[green]schema ready[/green] on {sync_url(database).render_as_string()}")


@app.command()
def seed(
    ctx: typer.Context,
    demo: bool = typer.Option(False, "--demo", help="Load the demo centre (API user 6666/1234, agents 1000/1001…)."),
    database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP),
    config: str = typer.Option("", "--config", "-c", envvar="OPENAGC_CONFIG", help=CONFIG_HELP),
) -> None:
    """Load data into an existing schema (made by `openagc init-db`)."""
    import sqlalchemy as sa

    if not demo:
        raise typer.BadParameter("nothing to seed: pass --demo")
    database = _settings(ctx, config, ("database",)).database
    _open_database(database, must_exist=True)
    try:
        _seed(database)
    except sa.exc.SQLAlchemyError as exc:
        _fail(f"cannot seed database {_shown(database)}: {_reason(exc)} "
              "(is its schema made? openagc init-db)")
    console.print("[green]demo data loaded[/green] (skipped if the database already had settings)")


def _demo_callers(flag: bool | None, config: str, settings: Settings) -> float:
    """Demo callers a minute for serve: the flag, else OPENAGC_DEMO_CALLERS or the config file, else on only for the
    embedded demo database on the simulated switch (engine/callers.py `demo_rate`)."""
    import os

    from openagc.engine.callers import demo_rate

    given = os.environ.get("OPENAGC_DEMO_CALLERS")
    if given is None and config and "demo_callers" in read_config_file(config):
        given = str(settings.demo_callers)
    database = settings.database
    try:
        return demo_rate(flag, given, simulated=settings.switch == "simulated", engine=settings.engine,
                         embedded=is_sqlite(database) and Path(database).resolve() == DEFAULT_SQLITE.resolve())
    except ValueError as exc:
        _fail(str(exc))


SERVE_OPTIONS = ("host", "port", "database", "engine", "workers", "switch", "ami_url", "redis_url", "ssl_certfile",
                 "ssl_keyfile", "forwarded_allow_ips", "log_format", "engine_shards", "engine_lease_seconds",
                 "engine_renew_seconds")


@app.command()
def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8080, help="TCP port."),
    database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP),
    engine: OnOff = typer.Option(OnOff.on, help="Run the agent session engine (off: API only, drop-in)."),
    workers: int = typer.Option(1, help="Worker processes (engine must be off for more than one)."),
    switch: str = typer.Option(
        "simulated", help="Telephony the engine drives: simulated (default) or asterisk (with --ami-url)."
    ),
    ami_url: str = typer.Option("", "--ami-url", help="Asterisk Manager Interface: ami://user:secret@host:5038."),
    redis_url: str = typer.Option(
        "", "--redis-url", help="Redis URL for wake-ups between processes (an API and an engine process)."
    ),
    ssl_certfile: str = typer.Option("", "--ssl-certfile", help="Serve HTTPS with this certificate (PEM)."),
    ssl_keyfile: str = typer.Option("", "--ssl-keyfile", help="The certificate's private key (PEM)."),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1", "--forwarded-allow-ips",
        help="Proxies whose X-Forwarded-For/-Proto are trusted (client address, https); see docs/security.md."),
    log_format: str = typer.Option("text", "--log-format", help="Log lines as text or json (one object a line)."),
    engine_shards: int = typer.Option(
        64, "--engine-shards", min=1,
        help="Engines sharing a database divide the agents into this many shards (the same in every engine)."),
    engine_lease_seconds: float = typer.Option(
        6.0, "--engine-lease", min=0.2,
        help="An engine's lease on its shards lasts this long unrenewed: a dead engine's agents are taken over "
        "within it."),
    engine_renew_seconds: float = typer.Option(
        1.0, "--engine-renew", min=0.05, help="How often an engine renews its leases (at most half the lease)."),
    config: str = typer.Option("", "--config", "-c", envvar="OPENAGC_CONFIG", help=CONFIG_HELP),
    demo_callers: bool | None = typer.Option(
        None, "--demo-callers/--no-demo-callers", show_default=False, metavar="",
        help="Simulated callers ring the demo in-groups (default: on for the embedded demo database on the simulated "
        "switch; OPENAGC_DEMO_CALLERS=<calls a minute>, 0 = off)."),
) -> None:
    """Serve the Agent API on a real ASGI server (uvicorn).

    Every option, and every limit (body size, timeouts, connections, event streams, lockout; docs/security.md),
    can also come from an OPENAGC_* environment variable or the --config file (docs/deployment.md).
    """
    from openagc.jsonlog import uvicorn_log_config
    from openagc.server import serve as run_server

    settings = _settings(ctx, config, SERVE_OPTIONS)
    try:
        log_config = uvicorn_log_config(settings.log_format)
    except ValueError as exc:
        _fail(str(exc))
    if settings.workers > 1 and settings.engine:
        _fail("--workers > 1 needs --engine off (one engine process serves the API processes through Redis)")
    if settings.switch not in ("simulated", "asterisk"):
        _fail(f"unknown switch {settings.switch!r} (simulated or asterisk)")
    if settings.engine and settings.switch == "asterisk":
        import importlib.util

        if importlib.util.find_spec("panoramisk") is None:
            _fail("--switch asterisk needs the asterisk extra: pip install 'openagc[asterisk]'")
    database = settings.database
    fresh = _open_database(database)  # a new SQLite file: the embedded database of `make run`
    settings.demo_callers = _demo_callers(demo_callers, config, settings)
    if fresh:
        import sqlalchemy as sa

        console.print(f"creating the embedded database [bold]{_shown(database)}[/bold] with demo data …")
        try:
            _init_db(database)
            _seed(database)
        except sa.exc.SQLAlchemyError as exc:
            _fail(f"cannot create the database {_shown(database)}: {_reason(exc)}")
    host, port = settings.host, settings.port
    scheme = "https" if settings.ssl_certfile else "http"
    console.print(
        f"openagc serving the Agent API on [bold]{scheme}://{host}:{port}/agc/api.php[/bold] "
        f"(engine {'on' if settings.engine else 'off'}, database {_shown(database)})"
    )
    if settings.engine:
        console.print(
            f"agent console: [bold]{scheme}://{host}:{port}/console/[/bold] (demo: phone 1000/test, agent 1000/1234)"
        )
    if settings.demo_callers:
        console.print(f"demo callers on: a simulated caller about every {60 / settings.demo_callers:.0f} s into "
                      "TEST_IN/SALESLINE (off: --no-demo-callers or OPENAGC_DEMO_CALLERS=0)")
    uvicorn_options = dict(host=host, port=port, log_level="warning", access_log=False,
                           forwarded_allow_ips=settings.forwarded_allow_ips,
                           ssl_certfile=settings.ssl_certfile or None, ssl_keyfile=settings.ssl_keyfile or None,
                           **({"log_config": log_config} if log_config else {}))
    if settings.workers > 1:
        import os

        from openagc.web.metrics import prepare_multiprocess

        os.environ.update(settings.as_env())  # each worker builds the same Settings from the environment
        cleanup = prepare_multiprocess(settings.workers)  # /metrics sums the workers (docs/metrics.md)
        try:
            run_server("openagc.service:app_from_env", settings, factory=True, workers=settings.workers,
                       **uvicorn_options)
        finally:
            cleanup()
        return
    from openagc.service import app_for_server

    run_server(app_for_server(settings), settings, **uvicorn_options)


class _PlainFlags(TyperCommand):
    """A command whose help shows no `<bool>` type beside `--help` (its options name their values with metavars)."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


@app.command(cls=_PlainFlags)
def simulate(
    agents: int = typer.Option(5, "--agents", min=1, metavar="N", help="Agents to log in (1000, 1001, then 2000…)."),
    calls_per_minute: float = typer.Option(6.0, "--calls-per-minute", min=0.1, metavar="RATE",
                                           help="Inbound calls a minute (Poisson arrivals)."),
    minutes: float = typer.Option(10.0, "--minutes", min=0.1, metavar="MINUTES", help="Simulated minutes to run."),
    speed: float = typer.Option(20.0, "--speed", min=0.1, metavar="X", help="Simulated seconds per real second."),
    seed: int = typer.Option(1, "--seed", metavar="SEED", help="Seed of the callers' and agents' random choices."),
    database: str = typer.Option("", "--database", "-d", metavar="PATH|URL", show_default=False,
                                 help=f"{DATABASE_HELP} Default: a fresh SQLite file in the run's directory."),
) -> None:
    """Drive a whole demo centre (engine + simulated switch + callers + agent bots) and show its progress.

    Each run gets a directory under the system's temporary directory (printed) holding its fresh database, the
    engine's log (refused switch operations are counted in the table and written there) and its recordings.
    """
    import asyncio
    import tempfile

    from rich.console import Group
    from rich.live import Live
    from rich.table import Table

    from openagc.engine.simulate import Centre, log_to_file

    run_dir = Path(tempfile.mkdtemp(prefix="openagc-simulate-"))
    database = database or str(run_dir / "simulate.db")
    log_path = run_dir / "simulate.log"
    if is_sqlite(database) and not Path(sync_url(database).database or "").exists():
        _init_db(database)
        _seed(database)
    console.print(f"run directory [bold]{run_dir}[/bold] (database {database}, log {log_path.name})")

    def table(stats, elapsed: float) -> Group:
        """Two narrow tables (calls, then agents) so each fits an 80-column terminal."""
        title = f"openagc simulation — {elapsed / 60:.1f} of {minutes:g} simulated minutes"
        calls = Table(title=title, caption="offered = waiting + talking + handled + abandoned")
        for name in ("offered", "waiting", "talking", "handled", "abandoned", "switch errors"):
            calls.add_column(name, justify="right")
        c, p = stats.calls, stats.phases
        calls.add_row(*map(str, (c.offered, c.waiting, c.talking, c.handled, c.abandoned, stats.switch_errors)))
        agents = Table(title="agents by state")
        for name in ("ready", "in call", "disposition", "paused"):
            agents.add_column(name, justify="right")
        agents.add_row(*map(str, (p["READY"] + p["CLOSER"], p["INCALL"], p["DISPO"], p["PAUSED"])))
        return Group(calls, agents)

    async def run() -> None:
        with log_to_file(log_path) as errors:
            centre = Centre(database, agents=agents, calls_per_minute=calls_per_minute, speed=speed, seed=seed,
                            recordings_dir=run_dir / "recordings", errors=errors)
            await centre.start()
            try:
                with Live(table(await centre.snapshot(), 0), console=console, refresh_per_second=4) as live:
                    while centre.elapsed() < minutes * 60:
                        await asyncio.sleep(0.25)
                        live.update(table(await centre.snapshot(), min(centre.elapsed(), minutes * 60)))
                totals = await centre.totals()
                stats = await centre.snapshot()
            finally:
                await centre.stop()
        if not console.is_terminal:
            console.line()  # Rich's Live leaves its last frame unterminated when the output is not a terminal
        console.print(f"dispositions: {dict(stats.dispositions)}")
        console.print("agent time, simulated seconds summed over all agents (vicidial_agent_log): "
                      + ", ".join(f"{k} {v}" for k, v in totals.items()))
        console.print(f"log: {log_path} ({stats.switch_errors} switch operations refused, "
                      f"{stats.other_errors} other errors)", soft_wrap=True)

    asyncio.run(run())


call_app = typer.Typer(help="Put a simulated call into a running server (simulated switch only).",
                       no_args_is_help=True, add_completion=False)
app.add_typer(call_app, name="call")
app.add_typer(webhooks_app, name="webhooks")  # docs/webhooks.md
keys_app = typer.Typer(help="API keys for integrators: Authorization: Bearer <key> (docs/api-keys.md).",
                       no_args_is_help=True, add_completion=False)
app.add_typer(keys_app, name="keys")


def _keys_database(ctx: typer.Context, config: str) -> Any:
    """A sync engine on the configured database (which must exist and have its schema)."""
    database = _settings(ctx, config, ("database",)).database
    _open_database(database, must_exist=True)
    return make_sync_engine(database)


@keys_app.command("create")
def keys_create(
    ctx: typer.Context,
    user: str = typer.Option(..., "--user", metavar="USER", help="The vicidial_users user the key acts as."),
    name: str = typer.Option("", "--name", metavar="TEXT", help="What the key is for (shown by keys list)."),
    rate: int | None = typer.Option(None, "--rate", metavar="N", show_default=False,
                                    help="Requests a minute (default: the api_key_rate setting; 0: no limit)."),
    database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP),
    config: str = typer.Option("", "--config", "-c", envvar="OPENAGC_CONFIG", help=CONFIG_HELP),
) -> None:
    """Make a key and print it (on stdout, alone): it is shown this once and never stored."""
    from openagc.integrations import keys

    engine = _keys_database(ctx, config)
    try:
        with engine.begin() as conn:
            key_id, token = keys.create(conn, user=user, name=name, rate=rate)
    except keys.KeyProblem as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"key {key_id} for user {user}: store it now, it is not shown again", err=True)
    typer.echo(token)


@keys_app.command("list")
def keys_list(
    ctx: typer.Context,
    database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP),
    config: str = typer.Option("", "--config", "-c", envvar="OPENAGC_CONFIG", help=CONFIG_HELP),
) -> None:
    """Every key: id, user, name, prefix, created, last used, revoked, rate (never the key itself)."""
    from openagc.integrations import keys

    engine = _keys_database(ctx, config)
    try:
        with engine.connect() as conn:
            rows = keys.listing(conn)
    finally:
        engine.dispose()
    typer.echo(keys.table(rows))


@keys_app.command("revoke")
def keys_revoke(
    ctx: typer.Context,
    key_id: int = typer.Argument(..., metavar="ID", help="The key's id (keys list)."),
    database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP),
    config: str = typer.Option("", "--config", "-c", envvar="OPENAGC_CONFIG", help=CONFIG_HELP),
) -> None:
    """Revoke a key: every process refuses it from its next request."""
    from openagc.integrations import keys

    engine = _keys_database(ctx, config)
    try:
        with engine.begin() as conn:
            already = keys.revoke(conn, key_id)
    except keys.KeyProblem as exc:
        _fail(str(exc))
    finally:
        engine.dispose()
    typer.echo(f"key {key_id} was already revoked on {already}" if already else f"key {key_id} revoked")


@call_app.command("inbound", cls=_PlainFlags)
def call_inbound(
    ingroup: str = typer.Option(..., "--ingroup", metavar="GROUP", help="In-group the caller rings, e.g. TEST_IN."),
    phone: str = typer.Option("3125551234", "--phone", metavar="NUMBER", help="The caller's number."),
    url: str = typer.Option("http://127.0.0.1:8080", "--url", metavar="URL", help="The running openagc serve."),
    user: str = typer.Option("6666", "--user", metavar="USER", help="API user (user_level 8 or more)."),
    password: str = typer.Option("1234", "--pass", metavar="PASS", help="Its password."),
) -> None:
    """A caller rings an in-group of a running server (POST /simulate/inbound); says who took the call."""
    import httpx

    try:
        response = httpx.post(f"{url.rstrip('/')}/simulate/inbound", timeout=30,
                              data={"user": user, "pass": password, "ingroup": ingroup, "phone_number": phone})
    except httpx.HTTPError as exc:
        typer.echo(f"error: cannot reach {url}: {exc}", err=True)
        raise typer.Exit(1) from None
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    if response.status_code != 200:
        typer.echo(f"error: refused ({response.status_code}): {body.get('error', body)}", err=True)
        raise typer.Exit(1)
    fate = (f"taken by agent {body['agent_user']}" if body["status"] == "taken"
            else "waiting for an agent" if body["status"] == "waiting" else "already ended")
    console.print(f"call {body['call_id']} (uniqueid {body['uniqueid']}) from {body['phone_number']} "
                  f"into {body['ingroup']}: {fate}", markup=False, soft_wrap=True)


def _pairs(values: list[str], what: str) -> list[tuple[str, str]]:
    out = []
    for value in values:
        key, sep, val = value.partition("=")
        if not sep or not key or not val:
            raise typer.BadParameter(f"{what}: {value!r} is not KEY=VALUE")
        out.append((key, val))
    return out


@app.command("asterisk-config")
def asterisk_config(
    out: Path = typer.Option(..., "--out", help="Directory to write the files into (created if missing)."),
    ami_user: str = typer.Option("openagc", "--ami-user", help="The AMI account openagc logs in with."),
    ami_secret: str = typer.Option("", "--ami-secret", help="Its secret (default: a new random one, printed)."),
    ami_port: int = typer.Option(5038, "--ami-port", help="AMI TCP port."),
    bind: str = typer.Option("127.0.0.1", "--bind", help="AMI address."),
    ami_permit: list[str] = typer.Option(
        [], "--ami-permit", help="Network allowed to log in to the AMI, e.g. 10.0.0.5/255.255.255.255 "
        "(repeatable; default 127.0.0.1 only)."),
    phone: list[str] = typer.Option(
        [], "--phone", help="An agent phone as PROTOCOL/EXTENSION, IAX2/1000 or PJSIP/1000 (repeatable)."),
    trunk: str = typer.Option(
        "", "--trunk", help="Dial() target of the trunk with ${NUMBER}, e.g. 'PJSIP/${NUMBER}@mytrunk' "
        "(default: a marked place in extensions.conf to fill in)."),
    did: list[str] = typer.Option([], "--did", help="An inbound number as DID=INGROUP (repeatable)."),
    remote_agent: list[str] = typer.Option(
        [], "--remote-agent", help="A remote agent's conf_exten as EXTEN=NUMBER dialled through the trunk."),
    iax_port: int = typer.Option(4569, "--iax-port", help="IAX2 UDP port."),
    sip_port: int = typer.Option(5060, "--sip-port", help="PJSIP UDP port (when a phone is PJSIP)."),
    moh_dir: Path = typer.Option(Path("/usr/share/asterisk/moh"), "--moh-dir", help="Hold music files."),
    modules_dir: Path | None = typer.Option(None, "--modules-dir", help="asterisk.conf astmoddir (if not the "
                                            "built-in one)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="asterisk.conf astdatadir: holds sounds/ and "
                                         "documentation/ (if not the built-in one)."),
    test_customers: bool = typer.Option(
        False, "--test-customers", help="Tests: the trunk reaches fake customers (answer, busy, no answer…)."),
    loopback_phones: bool = typer.Option(
        False, "--loopback-phones", help="Tests: each IAX2 phone is a call back into this Asterisk that answers."),
    force: bool = typer.Option(False, "--force", help="Overwrite files that already exist."),
) -> None:
    """Write the Asterisk 22 configuration openagc's adapter expects (dialplan, ConfBridge, AMI, phones)."""
    from openagc.switch.asterisk_config import (
        TEMPLATES,
        AsteriskConfigOptions,
        AsteriskDirectories,
        Phone,
    )

    existing = [name for name in TEMPLATES if (out / name).exists()]
    if existing and not force:
        raise typer.BadParameter(f"{out} already holds {', '.join(existing)} (use --force to overwrite)")
    phones = []
    for value in phone:
        protocol, sep, extension = value.partition("/")
        if not sep:
            raise typer.BadParameter(f"--phone {value!r}: write PROTOCOL/EXTENSION, e.g. IAX2/1000")
        try:
            phones.append(Phone(extension=extension, protocol=protocol))
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    extra = {"ami_secret": ami_secret} if ami_secret else {}
    if ami_permit:
        extra["ami_permit"] = ami_permit
    try:
        options = AsteriskConfigOptions(
            ami_user=ami_user, ami_port=ami_port, bind=bind, phones=phones, trunk=trunk,
            dids=_pairs(did, "--did"), remote_agents=_pairs(remote_agent, "--remote-agent"), iax_port=iax_port,
            sip_port=sip_port, moh_dir=moh_dir, test_customers=test_customers, loopback_phones=loopback_phones,
            directories=AsteriskDirectories(etc=out.resolve(), modules=modules_dir, data=data_dir), **extra)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    from openagc.switch.asterisk_config import write_config

    for path in write_config(out, options):
        console.print(f"wrote {path}")
    if not ami_secret:
        console.print(f"AMI secret of [bold]{ami_user}[/bold] (generated): {options.ami_secret}")
    for p in options.phone_list:
        console.print(f"phone {p.protocol}/{p.extension}: secret {p.secret}")
    host = bind if bind != "0.0.0.0" else "127.0.0.1"
    console.print(f"start Asterisk with: asterisk -C {out.resolve()}/asterisk.conf", soft_wrap=True)
    console.print(f"then: openagc serve --switch asterisk --ami-url 'ami://{ami_user}:<secret>@{host}:{ami_port}'",
                  soft_wrap=True, markup=False)


if __name__ == "__main__":
    app()
