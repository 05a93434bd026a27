"""One Settings object for the whole service, from arguments, `OPENAGC_*` environment variables and a TOML file."""

from __future__ import annotations

import os
import socket
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

DEFAULT_SQLITE = Path("var") / "openagc.db"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"OPENAGC_{name}", default)


def _int(name: str, default: int) -> int:
    text = _env(name, str(default))
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"OPENAGC_{name}={text!r} is not a whole number") from None


def _float(name: str, default: float) -> float:
    text = _env(name, str(default))
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"OPENAGC_{name}={text!r} is not a number") from None


@dataclass
class Settings:
    """Service settings. Every field can be set by an `OPENAGC_<NAME>` environment variable."""

    database: str = field(default_factory=lambda: _env("DATABASE", str(DEFAULT_SQLITE)))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _int("PORT", 8080))
    engine: bool = field(default_factory=lambda: _env("ENGINE", "on") == "on")
    # How the server runs (`openagc serve`): worker processes, TLS, the proxies whose X-Forwarded-* are trusted.
    workers: int = field(default_factory=lambda: _int("WORKERS", 1))
    ssl_certfile: str = field(default_factory=lambda: _env("SSL_CERTFILE", ""))
    ssl_keyfile: str = field(default_factory=lambda: _env("SSL_KEYFILE", ""))
    forwarded_allow_ips: str = field(default_factory=lambda: _env("FORWARDED_ALLOW_IPS", "127.0.0.1"))
    # Facts the api log records about this web server (upstream: SERVER_NAME and the host name).
    server_name: str = field(default_factory=lambda: _env("SERVER_NAME", ""))
    hostname: str = field(default_factory=lambda: _env("HOSTNAME", socket.gethostname()))
    # Remote cluster for force_fronter_* LOCAL_AND_CCC / CCC_REMOTE.
    remote_cluster_url: str = field(default_factory=lambda: _env("REMOTE_CLUSTER_URL", ""))
    remote_cluster_timeout: float = field(default_factory=lambda: _float("REMOTE_CLUSTER_TIMEOUT", 5.0))
    # Redis for cross-process wake-ups (empty: in-process only).
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", ""))
    # Engine sweep period for commands written by plain SQL.
    sweep_seconds: float = field(default_factory=lambda: _float("SWEEP_SECONDS", 0.5))
    # Engines sharing one database divide the agents into `engine_shards` shards (the same number in every engine),
    # each leased by one engine for `engine_lease_seconds`, renewed every `engine_renew_seconds` (engine/shards.py):
    # a dead engine's agents are taken over within the lease time plus one renewal.
    engine_shards: int = field(default_factory=lambda: _int("ENGINE_SHARDS", 64))
    engine_lease_seconds: float = field(default_factory=lambda: _float("ENGINE_LEASE_SECONDS", 6.0))
    engine_renew_seconds: float = field(default_factory=lambda: _float("ENGINE_RENEW_SECONDS", 1.0))
    # An engine's agents' transitions in the database at once: at most `engine_transactions` transactions (each
    # holds a pooled connection; they commit one after another on the event log's sequence row, so more only queue
    # there), each committing up to `engine_group_commit` agents' transitions that queued together (1: each its own).
    engine_transactions: int = field(default_factory=lambda: _int("ENGINE_TRANSACTIONS", 4))
    engine_group_commit: int = field(default_factory=lambda: _int("ENGINE_GROUP_COMMIT", 8))
    # The switch the engine drives: "simulated" (default) or "asterisk" (AMI at `ami_url`,
    # e.g. ami://cron:1234@127.0.0.1:5038).
    switch: str = field(default_factory=lambda: _env("SWITCH", "simulated"))
    ami_url: str = field(default_factory=lambda: _env("AMI_URL", ""))
    # Simulated callers a minute ringing the demo in-groups on the simulated switch (0: off; engine/demo_centre.py).
    # `openagc serve` turns them on for the embedded demo database unless told otherwise (--no-demo-callers).
    demo_callers: float = field(default_factory=lambda: _float("DEMO_CALLERS", 0.0))
    # Group commit of api.php requests (store/group_commit.py): at most `group_commit` requests' writes in one
    # transaction (1: each request its own), in up to `group_commit_lanes` such transactions at once (SQLite: one).
    group_commit: int = field(default_factory=lambda: _int("GROUP_COMMIT", 16))
    group_commit_lanes: int = field(default_factory=lambda: _int("GROUP_COMMIT_LANES", 2))
    # How long system_settings and the active-server check may be reused (0: read on every request).
    cache_seconds: float = field(default_factory=lambda: _float("CACHE_SECONDS", 1.0))

    # How long a command may wait before it is carried out, per family, over the defaults (dial=10, call=10,
    # pause=3600, status=3600, screen=60 seconds; store/command_records.py), e.g. "dial=5,pause=1800".
    command_validity: str = field(default_factory=lambda: _env("COMMAND_VALIDITY", ""))
    # Who ends command records when this process runs no engine: "on" — upstream's agent screens act (drop-in),
    # so this process marks commands delivered / expired; "off" — an openagc engine process serves the database;
    # "auto" (default) — on unless a Redis URL is set (API processes in front of an engine share Redis).
    command_watch: str = field(default_factory=lambda: _env("COMMAND_WATCH", "auto"))
    # The longest `wait` (milliseconds) an api.php call may ask for its command's outcome.
    command_wait_max_ms: int = field(default_factory=lambda: _int("COMMAND_WAIT_MAX_MS", 30_000))
    # How long integrators' events are kept (`/api/v1/events`, webhooks); older ones are pruned (docs/events.md).
    event_retention_hours: float = field(default_factory=lambda: _float("EVENT_RETENTION_HOURS", 72.0))
    # Webhooks (docs/webhooks.md): this process runs a dispatcher (on / off; several may share a database); one
    # attempt's timeout (s); retries after `webhook_backoff_min` doubling up to `webhook_backoff_max` seconds (with
    # jitter); failures in a row that disable a subscription; subscriptions one dispatcher delivers at once.
    webhooks: bool = field(default_factory=lambda: _env("WEBHOOKS", "on") == "on")
    webhook_timeout: float = field(default_factory=lambda: _float("WEBHOOK_TIMEOUT", 10.0))
    webhook_backoff_min: float = field(default_factory=lambda: _float("WEBHOOK_BACKOFF_MIN", 1.0))
    webhook_backoff_max: float = field(default_factory=lambda: _float("WEBHOOK_BACKOFF_MAX", 600.0))
    webhook_max_failures: int = field(default_factory=lambda: _int("WEBHOOK_MAX_FAILURES", 20))
    webhook_concurrency: int = field(default_factory=lambda: _int("WEBHOOK_CONCURRENCY", 8))

    # --- limits and the browser origin (docs/security.md lists each with its default) ---------------------------
    # Largest request body read; a larger one is answered 413 before it is read.
    max_body_bytes: int = field(default_factory=lambda: _int("MAX_BODY_BYTES", 1_048_576))
    # Form fields read from one urlencoded body (later ones are ignored, as PHP's max_input_vars does).
    max_form_fields: int = field(default_factory=lambda: _int("MAX_FORM_FIELDS", 1000))
    # A request's line and headers must arrive within this many seconds and bytes, else the connection closes.
    header_timeout: float = field(default_factory=lambda: _float("HEADER_TIMEOUT", 10.0))
    max_header_bytes: int = field(default_factory=lambda: _int("MAX_HEADER_BYTES", 65_536))
    # The whole body must arrive within this many seconds of the headers, else 408.
    body_timeout: float = field(default_factory=lambda: _float("BODY_TIMEOUT", 30.0))
    # An idle keep-alive connection is closed after this many seconds.
    keepalive_timeout: float = field(default_factory=lambda: _float("KEEPALIVE_TIMEOUT", 5.0))
    # Open connections plus requests in progress per process; beyond it requests are answered 503.
    max_connections: int = field(default_factory=lambda: _int("MAX_CONNECTIONS", 1000))
    # Event streams (/agent/events, /console/api/events) open at once per agent session and in all (429 beyond).
    streams_per_session: int = field(default_factory=lambda: _int("STREAMS_PER_SESSION", 4))
    streams_total: int = field(default_factory=lambda: _int("STREAMS_TOTAL", 500))
    # Characters kept of the request in vicidial_api_urls.url and of vicidial_api_log.data (upstream: all of it).
    api_log_chars: int = field(default_factory=lambda: _int("API_LOG_CHARS", 4096))
    # Failed logins: `lockout_failures` from one source address within `lockout_seconds` lock that user from that
    # address; `lockout_user_failures` from all addresses together lock the user everywhere (distributed attack).
    lockout_failures: int = field(default_factory=lambda: _int("LOCKOUT_FAILURES", 10))
    lockout_user_failures: int = field(default_factory=lambda: _int("LOCKOUT_USER_FAILURES", 50))
    lockout_seconds: int = field(default_factory=lambda: _int("LOCKOUT_SECONDS", 900))
    # Origins besides the service's own allowed to send state-changing requests to /agent/ and /console/
    # (comma-separated, e.g. https://agents.example.com).
    allowed_origins: str = field(default_factory=lambda: _env("ALLOWED_ORIGINS", ""))
    # API keys: requests a minute per key unless the key has its own rate (0: no limit; integrations/ratelimit.py).
    api_key_rate: int = field(default_factory=lambda: _int("API_KEY_RATE", 600))

    # --- observability (docs/metrics.md) ----------------------------------------------------------------------------
    # /metrics answers these client networks without a token (comma-separated; empty: none) …
    metrics_allowed_ips: str = field(default_factory=lambda: _env("METRICS_ALLOWED_IPS", "127.0.0.0/8,::1"))
    # … and anyone sending `Authorization: Bearer <metrics_token>` (empty: no token accepted).
    metrics_token: str = field(default_factory=lambda: _env("METRICS_TOKEN", ""))
    # Log lines as text (default) or one JSON object a line (`json`).
    log_format: str = field(default_factory=lambda: _env("LOG_FORMAT", "text"))

    @classmethod
    def resolve(cls, file_values: Mapping[str, Any] | None = None, given: Mapping[str, Any] | None = None) -> Settings:
        """Settings by precedence: `given` (the command line) > `OPENAGC_*` variable > `file_values` > default."""
        values = {k: v for k, v in (file_values or {}).items() if env_name(k) not in os.environ}
        return cls(**(values | dict(given or {})))

    def as_env(self) -> dict[str, str]:
        """Every field as the `OPENAGC_*` variable that gives it (worker processes rebuild Settings from them)."""
        return {env_name(f.name): _env_text(getattr(self, f.name)) for f in fields(self)}


class ConfigError(ValueError):
    """A configuration file that cannot be used (the message is one line naming the file)."""


def env_name(name: str) -> str:
    """The environment variable of a Settings field: `OPENAGC_` and the name in capitals."""
    return f"OPENAGC_{name.upper()}"


def _env_text(value: Any) -> str:
    if isinstance(value, bool):  # bool fields (`engine`, `webhooks`): their variables say on / off
        return "on" if value else "off"
    return str(value)


_KINDS: dict[str, tuple[type, ...]] = {"str": (str,), "int": (int,), "float": (int, float), "bool": (bool,)}


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML file whose top-level keys are Settings field names (`engine` may be on / off)."""
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration file {path}: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    known = {f.name: str(f.type) for f in fields(Settings)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} "
                          "(keys are the names of the OPENAGC_* variables in lower case, e.g. database, port)")
    values: dict[str, Any] = {}
    for key, value in data.items():
        kind = known[key]
        if kind == "bool" and value in ("on", "off"):
            value = value == "on"
        if isinstance(value, bool) and kind != "bool" or not isinstance(value, _KINDS[kind]):
            wanted = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true, false, on or off"}
            raise ConfigError(f"{path}: {key} must be {wanted[kind]}, not {value!r}")
        values[key] = float(value) if kind == "float" else value
    return values
