"""`openagc`: serve the Agent API, create and seed its database, write the Asterisk configuration."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console

from openagc.config import DEFAULT_SQLITE, Settings
from openagc.store.database import is_sqlite, make_sync_engine, sync_url

app = typer.Typer(
    help="openagc: the VICIdial Agent API (/agc/api.php) and agent session engine.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()

DATABASE_HELP = "SQLite file path, or a URL such as mysql+asyncmy://user:pass@host:3306/asterisk."


class OnOff(StrEnum):
    on = "on"
    off = "off"


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
    database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP),
) -> None:
    """Create the schema (tables that already exist are left untouched)."""
    _init_db(database)
    console.print(f"[green]schema ready[/green] on {sync_url(database).render_as_string()}")


@app.command()
def seed(
    demo: bool = typer.Option(False, "--demo", help="Load the demo centre (API user 6666/1234, agents 1000/1001…)."),
    database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP),
) -> None:
    """Load data into an existing schema."""
    if not demo:
        raise typer.BadParameter("nothing to seed: pass --demo")
    _seed(database)
    console.print("[green]demo data loaded[/green] (skipped if the database already had settings)")


@app.command()
def serve(
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
    demo_callers: bool | None = typer.Option(
        None, "--demo-callers/--no-demo-callers", show_default=False,
        help="Simulated callers ring the demo in-groups (default: on for the embedded demo database on the simulated "
        "switch; OPENAGC_DEMO_CALLERS=<calls a minute>, 0 = off)."),
) -> None:
    """Serve the Agent API on a real ASGI server (uvicorn).

    Limits (body size, timeouts, connections, event streams, lockout) come from OPENAGC_* environment
    variables; docs/security.md lists each with its default.
    """
    from openagc.server import serve as run_server

    if is_sqlite(database) and not Path(sync_url(database).database or "").exists():
        console.print(f"creating the embedded database [bold]{database}[/bold] with demo data …")
        _init_db(database)
        _seed(database)
    import os

    from openagc.engine.callers import demo_rate

    try:
        demo = demo_rate(demo_callers, os.environ.get("OPENAGC_DEMO_CALLERS"), simulated=switch == "simulated",
                         engine=engine is OnOff.on,
                         embedded=is_sqlite(database) and Path(database).resolve() == DEFAULT_SQLITE.resolve())
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = Settings(
        database=database,
        host=host,
        port=port,
        engine=engine is OnOff.on,
        redis_url=redis_url,
        switch=switch,
        ami_url=ami_url,
        demo_callers=demo,
    )
    scheme = "https" if ssl_certfile else "http"
    console.print(
        f"openagc serving the Agent API on [bold]{scheme}://{host}:{port}/agc/api.php[/bold] "
        f"(engine {engine.value}, database {database})"
    )
    if settings.engine:
        console.print(
            f"agent console: [bold]{scheme}://{host}:{port}/console/[/bold] (demo: phone 1000/test, agent 1000/1234)"
        )
    if demo:
        console.print(f"demo callers on: a simulated caller about every {60 / demo:.0f} s into TEST_IN/SALESLINE "
                      "(off: --no-demo-callers or OPENAGC_DEMO_CALLERS=0)")
    uvicorn_options = dict(host=host, port=port, log_level="warning", access_log=False,
                           forwarded_allow_ips=forwarded_allow_ips, ssl_certfile=ssl_certfile or None,
                           ssl_keyfile=ssl_keyfile or None)
    if workers > 1:
        if settings.engine:
            raise typer.BadParameter("--workers > 1 needs --engine off")
        os.environ.update(OPENAGC_DATABASE=database, OPENAGC_ENGINE="off", OPENAGC_REDIS_URL=redis_url)
        run_server("openagc.service:app_from_env", settings, factory=True, workers=workers, **uvicorn_options)
        return
    from openagc.service import create_app

    run_server(create_app(settings), settings, **uvicorn_options)


@app.command()
def simulate(
    agents: int = typer.Option(5, "--agents", min=1, help="Agents to log in (1000, 1001, then 2000…)."),
    calls_per_minute: float = typer.Option(6.0, "--calls-per-minute", min=0.1, help="Inbound calls a minute."),
    minutes: float = typer.Option(10.0, "--minutes", help="Simulated minutes to run."),
    speed: float = typer.Option(20.0, "--speed", min=0.1, help="Simulated seconds per real second."),
    seed: int = typer.Option(1, "--seed", help="Seed of the callers' and agents' random choices."),
    database: str = typer.Option("var/simulate.db", "--database", "-d", help=DATABASE_HELP),
) -> None:
    """Drive a whole demo centre (engine + simulated switch + agent bots) and show its progress."""
    import asyncio

    from rich.live import Live
    from rich.table import Table

    from openagc.engine.simulate import Centre

    if is_sqlite(database) and not Path(sync_url(database).database or "").exists():
        _init_db(database)
        _seed(database)

    def table(stats, elapsed: float) -> Table:
        t = Table(title=f"openagc simulation — {elapsed / 60:.1f} of {minutes:g} simulated minutes")
        for name in ("offered", "handled", "waiting", "READY/CLOSER", "INCALL", "DISPO", "PAUSED"):
            t.add_column(name, justify="right")
        p = stats.phases
        t.add_row(
            str(stats.calls_offered),
            str(stats.calls_handled),
            str(stats.waiting),
            str(p["READY"] + p["CLOSER"]),
            str(p["INCALL"]),
            str(p["DISPO"]),
            str(p["PAUSED"]),
        )
        return t

    async def run() -> None:
        centre = Centre(database, agents=agents, calls_per_minute=calls_per_minute, speed=speed, seed=seed)
        await centre.start()
        try:
            with Live(table(await centre.snapshot(), 0), console=console, refresh_per_second=4) as live:
                elapsed = 0.0
                while elapsed < minutes * 60:
                    await asyncio.sleep(0.5)
                    elapsed += 0.5 * speed
                    live.update(table(await centre.snapshot(), elapsed))
            totals = await centre.totals()
            console.print(f"dispositions: {dict(centre.stats.dispositions)}")
            console.print(f"agent time (s): {totals}")
        finally:
            await centre.stop()

    asyncio.run(run())



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
