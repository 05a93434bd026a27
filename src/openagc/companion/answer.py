"""Answers are values: what a request prints (upstream's exact text), its api log row and its JSON form.

non_agent_api.php prints one answer per request and writes at most one `vicidial_api_log` row for it. A failure's
JSON is `{"result": "ERROR", "function", "reason", "details"}`; a success's is `{"result": "SUCCESS",
"function", "data"}` with one object per record, named as upstream's header row names the columns.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True)
class Answer:
    """One printed answer and the log row it writes."""

    text: str
    result: str  # SUCCESS | ERROR
    reason: str  # vicidial_api_log.result_reason
    data: str = ""  # vicidial_api_log.data
    details: tuple[str, ...] = ()  # a failure's fields (JSON)
    records: tuple[Record, ...] | None = None  # a success's records (JSON)
    logged: bool = True
    status: int = 200

    def json(self, function: str) -> str:
        if self.result == "SUCCESS":
            return json.dumps({"result": "SUCCESS", "function": function, "data": list(self.records or ())})
        return json.dumps({"result": self.result, "function": function, "reason": self.reason,
                           "details": list(self.details)})


def failure(reason: str, text: str, *details: object, data: str = "", logged: bool = True,
            status: int = 200) -> Answer:
    """An ERROR answer printed as `text` (upstream's lines differ in shape from function to function)."""
    return Answer(text, "ERROR", reason, data, tuple("" if d is None else str(d) for d in details), logged=logged,
                  status=status)


def refusal(reason: str, *fields: object) -> Answer:
    """The common `ERROR: {reason}: {f1}|{f2}…` line, its fields also the log row's data."""
    data = "|".join("" if f is None else str(f) for f in fields)
    return failure(reason, f"ERROR: {reason}: {data}\n", *fields, data=data)


def denied(reason: str, user: str) -> Answer:
    """A permission refusal: `ERROR: {reason}: |{user}|0|` (upstream prints its count of matching users)."""
    return failure(reason, f"ERROR: {reason}: |{user}|0|\n", user, 0, data="0")


def delimiter(stage: str) -> str:
    """The column separator of `stage`: csv, tab, or pipe (also for anything else)."""
    return {"csv": ",", "tab": "\t"}.get(stage, "|")


def table(columns: Sequence[str], rows: Iterable[Sequence[object]], *, stage: str, header: str) -> str:
    """Delimited rows, with the header row first when `header` is exactly `YES`."""
    sep = delimiter(stage)
    lines = [sep.join(columns)] if header == "YES" else []
    lines += [sep.join("" if v is None else str(v) for v in row) for row in rows]
    return "".join(f"{line}\n" for line in lines)


def records(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> tuple[Record, ...]:
    """The rows as objects keyed by column name (JSON)."""
    return tuple(dict(zip(columns, row, strict=True)) for row in rows)


def success(text: str, reason: str, data: str, found: Iterable[Mapping[str, Any]]) -> Answer:
    return Answer(text, "SUCCESS", reason, data, records=tuple(dict(r) for r in found))
