"""Readers of the integrators' event stream for the tests: `/api/v1/events` (SSE) and `/api/v1/events/ws`, each
read in a thread through a real connection."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from openagc.store import event_log
from openagc.store.database import Database
from openagc.store.event_log import NewEvent
from tests.support import FROZEN_AT, wait_for

API_USER = ("6666", "1234")


class SseReader:
    """`GET /api/v1/events` read line by line: `messages` holds each message as {id, event, data, comment}."""

    def __init__(self, base_url: str, *, auth: tuple[str, str] | None = API_USER, params: Any = None,
                 headers: dict[str, str] | None = None) -> None:
        self.messages: list[dict[str, Any]] = []
        self.status: int | None = None
        self.body = ""
        self.ended = threading.Event()
        self._socket: socket.socket | None = None
        self._client = httpx.Client(base_url=base_url, timeout=None, auth=auth)
        self._thread = threading.Thread(target=self._run, args=(params, headers or {}), daemon=True)
        self._thread.start()
        wait_for(lambda: self.status is not None, what="the stream's answer")

    def _run(self, params: Any, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", "/api/v1/events", params=params, headers=headers) as response:
                self._socket = response.extensions["network_stream"].get_extra_info("socket")
                if response.status_code != 200:
                    self.body = response.read().decode()
                    self.status = response.status_code
                    return
                self.status = 200
                message: dict[str, Any] = {}
                for line in response.iter_lines():
                    if line == "":
                        if message:
                            self.messages.append(message)
                        message = {}
                    elif line.startswith(":"):
                        message["comment"] = line[1:].strip()
                    else:
                        name, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        message[name] = json.loads(value) if name == "data" else value
        except (httpx.HTTPError, RuntimeError, OSError):  # closed under the reader
            pass
        finally:
            self.ended.set()

    @property
    def events(self) -> list[dict[str, Any]]:
        """The event messages' data (what `Event.public()` gives), in the order received."""
        return [m["data"] for m in list(self.messages) if "data" in m and m.get("event") != "reset"]

    def named(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in list(self.messages) if m.get("event") == kind]

    def wait(self, check: Callable[[list[dict[str, Any]]], Any], what: str, timeout: float = 10.0,
             step: Callable[[], None] | None = None) -> Any:
        return wait_for(lambda: check(self.events), timeout=timeout, what=what, step=step)

    def close(self) -> None:
        """End the connection from the client's side."""
        if self._socket is not None:
            with contextlib.suppress(OSError):
                self._socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()


class WsReader:
    """`/api/v1/events/ws` read in a thread: `messages` holds every JSON message."""

    def __init__(self, base_url: str, *, auth: tuple[str, str] = API_USER, query: str = "",
                 headers: dict[str, str] | None = None) -> None:
        url = base_url.replace("http://", "ws://") + "/api/v1/events/ws" + (f"?{query}" if query else "")
        token = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        self.messages: list[dict[str, Any]] = []
        self.close_code: int | None = None
        self.ended = threading.Event()
        self._ws = ws_connect(url, additional_headers={"Authorization": token, **(headers or {})},
                              open_timeout=10)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            with self._ws:
                for text in self._ws:
                    self.messages.append(json.loads(text))
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self._ws.close_code
            self.ended.set()

    @property
    def events(self) -> list[dict[str, Any]]:
        return [m for m in list(self.messages) if m.get("type") != "reset"]

    def send(self, message: str | bytes) -> None:
        self._ws.send(message)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._ws.close()
        self._thread.join(5)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def append(backend: Any, events: list[NewEvent], *, at: datetime = FROZEN_AT) -> list[int]:
    """Append events to the log as a writer in another process would (its own connection; no bus)."""
    async def go() -> list[int]:
        database = Database(backend.url)
        try:
            async with database.begin() as conn:
                return await event_log.append(conn, events, int(at.timestamp() * 1000))
        finally:
            await database.dispose()

    return asyncio.run(go())


def api_user(db: Any, user: str, *, level: int = 7, group: str = "AGENTS", view_reports: str = "1") -> None:
    """A user of the integrator API: its level, group and report permission."""
    db.insert("vicidial_users", user=user, full_name=f"Integrator {user}", user_level=level, user_group=group,
              active="Y", vdc_agent_api_access="1", api_allowed_functions=" ALL_FUNCTIONS ", view_reports=view_reports,
              **{"pass": "1234"})
