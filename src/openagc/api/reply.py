"""Replies are values: a handler returns `Line`s; this module alone turns them into text or JSON.

Upstream's wire format is one line per result: `RESULT: reason - field|field|…` + LF. A few answers
are not of that shape (version, webserver, webphone_url's raw URL); they carry a `body` that is
printed instead, while their result, reason and fields still feed the api log and JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

Translate = Callable[[str], str]
UNKNOWN_FUNCTION = "unknown function"  # the JSON reason for a function we do not serve (ours; text stays empty)


def _same(text: str) -> str:
    return text


@dataclass(frozen=True, slots=True)
class Line:
    """One printed result, and the api log row it produces."""

    result: str  # SUCCESS | ERROR | NOTICE
    reason: str
    fields: tuple[str, ...] | None = None
    data: str = ""  # vicidial_api_log.data
    body: Callable[[Translate], str] | None = None  # printed instead of the standard line
    exit: bool = False  # upstream's EXIT: nothing (no close-window link, no debug footer) follows
    logged: bool = True
    phrases: tuple[str, ...] = ()  # further translatable texts its `body` uses (looked up with the reason)
    # Set by the pipeline when the line is emitted: the log row's value and agent_user at that moment.
    log_value: str | None = None
    log_agent_user: str | None = None

    def text(self, t: Translate = _same) -> str:
        if self.body is not None:
            return self.body(t)
        head = f"{t(self.result)}: {t(self.reason)}"
        if self.fields is None:
            return head + "\n"
        return f"{head} - {'|'.join(self.fields)}\n"

    def json(self) -> dict:
        return {"result": self.result, "reason": self.reason, "details": list(self.fields or ())}

    def ends(self) -> Line:
        """This line, stopping the script at once (upstream's EXIT)."""
        return replace(self, exit=True)


def _fields(values: Sequence[object]) -> tuple[str, ...]:
    return tuple("" if v is None else str(v) for v in values)


def success(reason: str, *fields: object, data: str = "") -> Line:
    return Line("SUCCESS", reason, _fields(fields), data)


def error(reason: str, *fields: object, data: str = "") -> Line:
    return Line("ERROR", reason, _fields(fields), data)


def notice(reason: str, *fields: object, data: str = "") -> Line:
    return Line("NOTICE", reason, _fields(fields), data)


def bare(result: str, reason: str, data: str = "") -> Line:
    """A line with no ` - details` part (e.g. `ERROR: System API NOT ACTIVE`)."""
    return Line(result, reason, None, data)


def verbatim(result: str, reason: str, body: str | Callable[[Translate], str], *fields: object,
             data: str = "") -> Line:
    """A line printed as `body` (already final text, or a function of the translator)."""
    render = body if callable(body) else (lambda _t, _b=body: _b)
    return Line(result, reason, _fields(fields), data, body=render)


@dataclass
class Reply:
    """Everything a request prints, in order, plus how the HTTP response looks."""

    lines: list[Line] = field(default_factory=list)
    status: int = 200
    reason_phrase: str | None = None
    preamble: str = ""  # format=debug HTML head
    trailer: str = ""  # close-window link / debug footer (only when no line exits)
    unknown_function: str | None = None  # set when the request named no function we serve (text: empty body)

    @property
    def exited(self) -> bool:
        return any(line.exit for line in self.lines)

    def text(self, t: Translate = _same) -> str:
        body = "".join(line.text(t) for line in self.lines)
        return self.preamble + body + ("" if self.exited else self.trailer)

    def json(self, extra: dict | None = None) -> str:
        """`{"result", "reason", "details", "notices"}`: the last line is the result, earlier ones notices;
        `extra` adds fields of ours (a command's id and outcome). A function we do not serve prints nothing in
        text (upstream's empty body) but says so in JSON: `{"result": "ERROR", "reason": "unknown function"}`."""
        if not self.lines and self.unknown_function is not None:
            doc = {"result": "ERROR", "reason": UNKNOWN_FUNCTION, "details": [self.unknown_function], "notices": []}
            return json.dumps(doc | (extra or {}))
        if not self.lines:
            return json.dumps({"result": "", "reason": "", "details": [], "notices": []} | (extra or {}))
        *earlier, last = self.lines
        doc = last.json() | {"notices": [line.json() for line in earlier]}
        return json.dumps(doc | (extra or {}))
