"""`openagc`: serve the Agent API, create and seed its database."""

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
) -> None:
    """Serve the Agent API on a real ASGI server (uvicorn)."""
    import uvicorn

    if is_sqlite(database) and not Path(sync_url(database).database or "").exists():
        console.print(f"creating the embedded database [bold]{database}[/bold] with demo data …")
        _init_db(database)
        _seed(database)
    settings = Settings(
        database=database,
        host=host,
        port=port,
        engine=engine is OnOff.on,
        redis_url=redis_url,
        switch=switch,
        ami_url=ami_url,
    )
    console.print(
        f"openagc serving the Agent API on [bold]http://{host}:{port}/agc/api.php[/bold] "
        f"(engine {engine.value}, database {database})"
    )
    if settings.engine:
        console.print(
            f"agent console: [bold]http://{host}:{port}/console/[/bold] (demo: phone 1000/test, agent 1000/1234)"
        )
    if workers > 1:
        if settings.engine:
            raise typer.BadParameter("--workers > 1 needs --engine off")
        import os

        os.environ.update(OPENAGC_DATABASE=database, OPENAGC_ENGINE="off", OPENAGC_REDIS_URL=redis_url)
        uvicorn.run(
            "openagc.service:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
        return
    from openagc.service import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning", access_log=False)


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


if __name__ == "__main__":
    app()
