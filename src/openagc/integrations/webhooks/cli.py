"""`openagc webhooks add|list|remove|enable|test`: subscriptions managed on the database directly (no server
needed; a running dispatcher picks changes up within its poll interval)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import typer

from openagc.config import DEFAULT_SQLITE

T = TypeVar("T")
DATABASE_HELP = "SQLite file path, or a URL such as mysql+asyncmy://user:pass@host:3306/asterisk."
CONFIG_HELP = "TOML file of settings (as for openagc serve)."

webhooks_app = typer.Typer(
    help="Webhook subscriptions: events POSTed, signed, to an integrator's URL (docs/webhooks.md).",
    no_args_is_help=True, add_completion=False)


def _database(ctx: typer.Context, config: str) -> Any:
    """The settings of the command (database from --database, OPENAGC_DATABASE or the config file), checked."""
    from openagc import cli

    settings = cli._settings(ctx, config, ("database",))
    cli._open_database(settings.database, must_exist=True)
    return settings


def _run(database: str, body: Callable[[Any], Awaitable[T]]) -> T:
    """Run `body(Database)`; a database error is one line (the schema may predate webhooks: init-db)."""
    import sqlalchemy as sa

    from openagc import cli
    from openagc.store.database import Database

    async def go() -> T:
        db = Database(database)
        try:
            return await body(db)
        finally:
            await db.dispose()

    try:
        return asyncio.run(go())
    except sa.exc.SQLAlchemyError as exc:
        cli._fail(f"cannot use the webhooks of {cli._shown(database)}: {cli._reason(exc)} "
                  "(is its schema up to date? openagc init-db)")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _values(values: frozenset[str] | None) -> str:
    return ",".join(sorted(values)) if values else "*"


def _line(sub: Any) -> str:
    from openagc.integrations.webhooks.store import iso

    state = "on" if sub.active else "off"
    text = (f"#{sub.id} {state} {sub.url} owner={sub.owner} kinds={_values(sub.kinds)} "
            f"campaigns={_values(sub.campaigns)} user_groups={_values(sub.user_groups)} agents={_values(sub.agents)} "
            f"cursor={sub.last_event_id} delivered={sub.delivered} failed={sub.failed} failures={sub.failures}")
    if sub.active and sub.next_attempt_ms:
        text += f" next_attempt={iso(sub.next_attempt_ms)}"
    if not sub.active:
        text += f" disabled={iso(sub.disabled_ms or 0)} ({sub.disabled_reason})"
    return text


DATABASE = typer.Option(str(DEFAULT_SQLITE), "--database", "-d", metavar="PATH|URL", help=DATABASE_HELP)
CONFIG = typer.Option("", "--config", "-c", envvar="OPENAGC_CONFIG", metavar="FILE", help=CONFIG_HELP)


@webhooks_app.command("add")
def add(
    ctx: typer.Context,
    url: str = typer.Argument(..., metavar="URL", help="Where events are POSTed (http:// or https://)."),
    owner: str = typer.Option(..., "--owner", metavar="USER", help="The API user whose view deliveries carry "
                              "(its user group's allowed campaigns and viewable user groups)."),
    kind: list[str] = typer.Option([], "--kind", metavar="KIND",
                                   help="An event kind, e.g. agent.state (repeatable; default: all)."),
    campaign: list[str] = typer.Option([], "--campaign", metavar="CAMPAIGN",
                                       help="A campaign id (repeatable; default: all)."),
    user_group: list[str] = typer.Option([], "--user-group", metavar="GROUP",
                                         help="An agent's user group (repeatable; default: all)."),
    agent: list[str] = typer.Option([], "--agent", metavar="USER", help="An agent's user (repeatable; default: all)."),
    secret: str = typer.Option("", "--secret", metavar="SECRET",
                               help="The signing secret, whsec_<base64 of 24 to 64 bytes> (default: a new one)."),
    database: str = DATABASE,
    config: str = CONFIG,
) -> None:
    """Subscribe a URL to the events appended from now on; prints the secret once."""
    from openagc.integrations.webhooks import store
    from openagc.integrations.webhooks.scope import NotPermitted

    settings = _database(ctx, config)
    fields = {"url": url, "secret": secret or None, "kinds": kind or None, "campaigns": campaign or None,
              "user_groups": user_group or None, "agents": agent or None}
    try:
        new = store.new_subscription(owner, fields)
    except store.Invalid as exc:
        _fail(str(exc))

    async def body(db: Any) -> Any:
        async with db.begin() as conn:
            return await store.create(conn, new, int(time.time() * 1000))

    try:
        created = _run(settings.database, body)
    except NotPermitted as exc:
        _fail(str(exc))
    typer.echo(f"webhook {created.id} added: events after {created.last_event_id} go to {created.url}")
    typer.echo(f"secret (shown only now; receivers verify signatures with it): {new.secret}")


@webhooks_app.command("list")
def list_(ctx: typer.Context, database: str = DATABASE, config: str = CONFIG) -> None:
    """Every subscription: state, filter, cursor, deliveries and failed attempts (never the secrets)."""
    from openagc.integrations.webhooks import store

    settings = _database(ctx, config)

    async def body(db: Any) -> Any:
        async with db.connect() as conn:
            return await store.listed(conn)

    found = _run(settings.database, body)
    if not found:
        typer.echo("no webhooks")
    for sub in found:
        typer.echo(_line(sub))


@webhooks_app.command("remove")
def remove(ctx: typer.Context, webhook_id: int = typer.Argument(..., metavar="ID"), database: str = DATABASE,
           config: str = CONFIG) -> None:
    """Remove a subscription and its attempt log."""
    from openagc.integrations.webhooks import store

    settings = _database(ctx, config)

    async def body(db: Any) -> bool:
        async with db.begin() as conn:
            return await store.remove(conn, webhook_id)

    if not _run(settings.database, body):
        _fail(f"no webhook {webhook_id}")
    typer.echo(f"webhook {webhook_id} removed")


@webhooks_app.command("enable")
def enable(ctx: typer.Context, webhook_id: int = typer.Argument(..., metavar="ID"), database: str = DATABASE,
           config: str = CONFIG) -> None:
    """Make a disabled subscription active again: delivery resumes after its cursor, failures start from 0."""
    from openagc.integrations.webhooks import store

    settings = _database(ctx, config)

    async def body(db: Any) -> Any:
        async with db.begin() as conn:
            return await store.enable(conn, webhook_id) if await store.get(conn, webhook_id) else None

    enabled = _run(settings.database, body)
    if enabled is None:
        _fail(f"no webhook {webhook_id}")
    typer.echo(f"webhook {webhook_id} enabled: delivery resumes after event {enabled.last_event_id}")


@webhooks_app.command("test")
def test(ctx: typer.Context, webhook_id: int = typer.Argument(..., metavar="ID"), database: str = DATABASE,
         config: str = CONFIG) -> None:
    """POST a signed `webhook.test` event to the subscription's URL now (logged as an attempt for event 0)."""
    import httpx

    from openagc.integrations.webhooks import sender, store

    settings = _database(ctx, config)

    async def body(db: Any) -> Any:
        async with db.connect() as conn:
            sub = await store.get(conn, webhook_id)
            secret = await store.secret_of(conn, webhook_id)
        if sub is None or secret is None:
            return None
        now = int(time.time() * 1000)
        event = {"id": 0, "type": "webhook.test", "time": store.iso(now), "agent": "", "campaign": "",
                 "user_group": "", "data": {"webhook": sub.id}}
        async with httpx.AsyncClient() as client:
            outcome = await sender.post(client, sub.url, secret, f"test-{uuid.uuid4().hex[:16]}",
                                        sender.body_of(event), settings.webhook_timeout)
        async with db.begin() as conn:
            number = await store.attempts_of(conn, sub.id, 0) + 1
            await store.log_attempt(conn, webhook_id=sub.id, event_id=0, attempt=number, at_ms=outcome.at_ms,
                                    status=outcome.status, error=outcome.error, duration_ms=outcome.duration_ms,
                                    dispatcher="openagc webhooks test")
        return sub, outcome

    result = _run(settings.database, body)
    if result is None:
        _fail(f"no webhook {webhook_id}")
    sub, outcome = result
    if not outcome.ok:
        _fail(f"webhook {webhook_id}: the test delivery to {sub.url} failed: {outcome.describe()}")
    typer.echo(f"webhook {webhook_id}: {sub.url} answered HTTP {outcome.status} in {outcome.duration_ms} ms")
