"""Event-stream slots: how many Server-Sent Events streams may be open per agent session and in all."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send


class StreamSlots:
    """Counts open streams; `take` gives a release function, or None when a limit is reached."""

    def __init__(self, per_session: Callable[[], int], total: Callable[[], int]) -> None:
        self._per_session = per_session
        self._total = total
        self.open: Counter[str] = Counter()

    def take(self, session: str) -> Callable[[], None] | None:
        if self.open[session] >= self._per_session() or sum(self.open.values()) >= self._total():
            return None
        self.open[session] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.open[session] -= 1
                if self.open[session] <= 0:
                    del self.open[session]

        return release


class SlotStreamingResponse(StreamingResponse):
    """A streaming response that gives its slot back however it ends (finished, failed or never started)."""

    def __init__(self, content: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
