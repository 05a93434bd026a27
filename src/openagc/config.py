"""One Settings object for the whole service, from arguments and `OPENAGC_*` environment variables."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SQLITE = Path("var") / "openagc.db"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"OPENAGC_{name}", default)


@dataclass
class Settings:
    """Service settings. Every field can be set by an `OPENAGC_<NAME>` environment variable."""

    database: str = field(default_factory=lambda: _env("DATABASE", str(DEFAULT_SQLITE)))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: int(_env("PORT", "8080")))
    engine: bool = field(default_factory=lambda: _env("ENGINE", "on") == "on")
    # Facts the api log records about this web server (upstream: SERVER_NAME and the host name).
    server_name: str = field(default_factory=lambda: _env("SERVER_NAME", ""))
    hostname: str = field(default_factory=lambda: _env("HOSTNAME", socket.gethostname()))
    # Remote cluster for force_fronter_* LOCAL_AND_CCC / CCC_REMOTE.
    remote_cluster_url: str = field(default_factory=lambda: _env("REMOTE_CLUSTER_URL", ""))
    remote_cluster_timeout: float = field(default_factory=lambda: float(_env("REMOTE_CLUSTER_TIMEOUT", "5")))
    # Redis for cross-process wake-ups (empty: in-process only).
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", ""))
    # Engine sweep period for commands written by plain SQL.
    sweep_seconds: float = field(default_factory=lambda: float(_env("SWEEP_SECONDS", "0.5")))
    # The switch the engine drives: "simulated" (default) or "asterisk" (AMI at `ami_url`,
    # e.g. ami://cron:1234@127.0.0.1:5038).
    switch: str = field(default_factory=lambda: _env("SWITCH", "simulated"))
    ami_url: str = field(default_factory=lambda: _env("AMI_URL", ""))
    # How long system_settings and the active-server check may be reused (0: read on every request).
    cache_seconds: float = field(default_factory=lambda: float(_env("CACHE_SECONDS", "1")))
