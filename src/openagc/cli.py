"""`openagc`: serve the Agent API, create and seed its database."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import typer
from rich.console import Console

from openagc.config import DEFAULT_SQLITE, Settings
from openagc.store.database import is_sqlite, make_sync_engine, sync_url

app = typer.Typer(help="openagc: the VICIdial Agent API (/agc/api.php) and agent session engine.",
                  no_args_is_help=True, add_completion=False)
console = Console()

DATABASE_HELP = "SQLite file path, or a URL such as mysql+asyncmy://user:pass@host:3306/asterisk."


class OnOff(str, Enum):
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
def init_db(database: str = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", help=DATABASE_HELP)) -> None:
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
) -> None:
    """Serve the Agent API on a real ASGI server (uvicorn)."""
    import uvicorn

    if is_sqlite(database) and not Path(sync_url(database).database or "").exists():
        console.print(f"creating the embedded database [bold]{database}[/bold] with demo data …")
        _init_db(database)
        _seed(database)
    settings = Settings(database=database, host=host, port=port, engine=engine is OnOff.on)
    console.print(f"openagc serving on [bold]http://{host}:{port}/agc/api.php[/bold] "
                  f"(engine {engine.value}, database {database})")
    if workers > 1:
        if settings.engine:
            raise typer.BadParameter("--workers > 1 needs --engine off")
        import os

        os.environ.update(OPENAGC_DATABASE=database, OPENAGC_ENGINE="off")
        uvicorn.run("openagc.service:app_from_env", factory=True, host=host, port=port, workers=workers,
                    log_level="warning")
        return
    from openagc.service import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


if __name__ == "__main__":
    app()
