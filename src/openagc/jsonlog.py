"""Log lines as one JSON object each (`openagc serve --log-format json`), for log shippers.

    {"time": "2026-01-15T10:30:00.123+00:00", "level": "WARNING", "logger": "openagc.bus",
     "message": "Redis bridge back after 1.2 s", "process": 4242}

plus `exception` (the formatted traceback) when there is one, and any `extra={…}` fields given to the call.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

FORMATS = ("text", "json")
# Attributes every LogRecord has; anything else on a record came from `extra` and is logged as a field.
# (uvicorn's `color_message` is its message again with terminal colours: left out.)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_") and name not in doc:
                doc[name] = value
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            doc["exception"] = record.exc_text
        return json.dumps(doc, default=str, ensure_ascii=False)


def uvicorn_log_config(log_format: str) -> dict[str, Any] | None:
    """uvicorn's `log_config` for `log_format` (None: uvicorn's own text format). In JSON every logger — uvicorn's
    and openagc's — writes JSON lines to stderr; levels stay as they are (uvicorn's `log_level`, root WARNING)."""
    if log_format not in FORMATS:
        raise ValueError(f"unknown log format {log_format!r} (text or json)")
    if log_format == "text":
        return None
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "loggers": {
            "uvicorn": {"handlers": ["json"], "propagate": False},
            "uvicorn.error": {"propagate": True},
            "uvicorn.access": {"handlers": ["json"], "propagate": False},
        },
        "root": {"handlers": ["json"], "level": "WARNING"},
    }
