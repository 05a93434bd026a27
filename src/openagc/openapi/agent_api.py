"""`/agc/api.php` in the OpenAPI document, derived from the code that answers it.

The functions are the pipeline's registry (`@api_function`) plus what the common layer answers itself (`version`,
the coffee functions); what each reads comes from its code (`scan`); every parameter's filter from
`params.PARAMETERS`; the JSON answer's shape from `reply.py` (the examples are rendered by it); the example URLs
and answers of the API document from `examples.json` (a copy of the document's examples, shipped in the package).

One path has one operation per method, so:

* `GET /agc/api.php` takes `function` (an enum of every function) and, flat, every parameter any function reads,
  each naming its functions (`x-functions`); generators turn it into one method with optional arguments;
* `POST /agc/api.php` takes a form whose schema is `oneOf` one schema per function (`ExternalDialForm` …),
  discriminated by `function`: generators that model unions get one type per function;
* `x-functions` on both operations maps each function to its parameters, triggers, shared steps, examples and
  the answers the document lists.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from openagc.api import app as api_app
from openagc.api import outcomes, pipeline
from openagc.api.params import PARAMETERS, Filter
from openagc.api.pipeline import REGISTRY, FunctionSpec
from openagc.api.reply import Line, Reply
from openagc.openapi import scan
from openagc.openapi.describe import (
    AGENT_API,
    API_CREDENTIALS,
    INTEGER,
    STRING,
    Schema,
    answer,
    component,
    obj,
)
from openagc.store.command_records import PUBLIC_SCHEMA

EXAMPLES = Path(__file__).with_name("examples.json")
PATH = "/agc/api.php"
HTML = "text/html; charset=utf-8"  # what api.php answers in text (upstream's type)
FORM = "application/x-www-form-urlencoded"
# The common layer (every request runs it); pipeline.run and the list restriction belong to the function called.
COMMON_LAYER = (api_app._api_php, api_app._dispatch, api_app._trailer, outcomes.wanted_wait_ms)
# read_caller and read_ahead read agent_user and alt_user only to read ahead what step D of a function that reads
# them needs
NOT_COMMON = (pipeline.run, pipeline.read_caller, pipeline.read_ahead, api_app._inert_list_restriction)
COMMON_NOTES = {
    "user": "The API user (also the security scheme `apiUser`; with an API key, the key's user instead).",
    "pass": "Its password (also the security scheme `apiPass`; not read with an API key).",
    "function": "The function to run.",
    "source": "Who is calling (at least 2 characters; every function but `version` needs it).",
    "format": "`json`: the JSON answer; `debug`: upstream's HTML wrapper around the text; else upstream's text.",
    "close_window_link": "A positive number adds upstream's close-window link after the answer.",
    "language": "The close-window link's language (`en`, `es`).",
    "wait": "With `format=json`: milliseconds to hold the answer until the command has an outcome (bounded by "
            "the server's `command_wait_max_ms`).",
    "value": "The function's main argument.",
    "agent_user": "The agent the function acts on.",
    "alt_user": "Another way to name the agent: the user whose `vicidial_users.custom_three` is this.",
}

LINE = component("AgentApiLine", obj({
    "result": {"enum": ["SUCCESS", "ERROR", "NOTICE"]},
    "reason": STRING,
    "details": {"type": "array", "items": STRING},
}, ["result", "reason", "details"], description="One line of upstream's text answer, as JSON."))
JSON_REPLY = component("AgentApiReply", obj({
    "result": {"enum": ["SUCCESS", "ERROR", "NOTICE", ""], "description": "The last line's result ('' when the "
               "function printed nothing)."},
    "reason": STRING,
    "details": {"type": "array", "items": STRING},
    "notices": {"type": "array", "items": LINE, "description": "The lines before the last one."},
    "command_id": {**INTEGER, "description": "The record of the command this call wrote (`/agc/commands/{id}`)."},
    "command_ids": {"type": "array", "items": INTEGER, "description": "When it wrote more than one."},
    "command": {"anyOf": [PUBLIC_SCHEMA, {"type": "null"}], "description": "After a `wait`: the record."},
}, ["result", "reason", "details", "notices"], description="The `format=json` answer (`api/reply.py`)."))


def describe_filter(f: Filter) -> str:
    """What `f` keeps, in words (filters delete characters, they never reject a request)."""
    if f.keep is None:
        kept = "any character" + (f" but `{' '.join(f.drop)}`" if f.drop else "")
    else:
        kept = f"`{f.keep}`" + (" and letters" if f.letters else "")
        if f.drop:
            kept += f" (`{' '.join(f.drop.strip())}` deleted first)" if f.drop.strip() else " (spaces deleted)"
    plus = {"before": "; `+` becomes a space first", "after": "; `+` becomes a space afterwards"}.get(f.plus or "", "")
    return f"Keeps {kept}{plus}; other characters are deleted."


def _filter_extension(f: Filter) -> dict[str, Any]:
    return {"keep": f.keep, "letters": f.letters, "drop": f.drop, "plus": f.plus}


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def form_name(function: str) -> str:
    return f"{_camel(function)}Form"


@functools.cache
def documented_examples() -> dict[str, dict[str, list[str]]]:
    """The document's example URLs and answers, by function."""
    return {e["function"]: {"urls": e["example_urls"], "responses": e["responses"]}
            for e in json.loads(EXAMPLES.read_text(encoding="utf-8"))}


def example_query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def parse_line(text: str) -> Line | None:
    """A documented text line as the `Line` that prints it (None for lines of another shape)."""
    head, sep, fields = text.strip().partition(" - ")
    result, colon, reason = head.partition(": ")
    if not colon or result not in ("SUCCESS", "ERROR", "NOTICE"):
        return None
    return Line(result, reason, tuple(fields.split("|")) if sep else None)


@functools.cache
def common_parameters() -> tuple[str, ...]:
    """What the common layer reads, whatever the function (`user` and `pass` are the security schemes)."""
    return tuple(scan.loose_reads(COMMON_LAYER, skip=NOT_COMMON))


class Functions:
    """Every function api.php answers, with what each reads (built once per document)."""

    def __init__(self) -> None:
        scanner = scan.Scanner()
        self.reads: dict[str, scan.Reads] = {name: scan.function_reads(spec, scanner)
                                             for name, spec in sorted(REGISTRY.items())}
        self.common = common_parameters()
        self.names = sorted(set(REGISTRY) | api_app.KNOWN_FUNCTIONS)  # with version and the coffee functions

    def parameters(self, function: str) -> list[str]:
        """The function's own parameters (not the common ones), in the table's order."""
        own = self.reads[function].parameters if function in self.reads else []
        return [n for n in PARAMETERS if n in own and n not in self.common]

    def triggers(self, function: str) -> list[str]:
        return list(self.reads[function].triggers) if function in self.reads else []

    def readers(self, name: str) -> list[str]:
        return [f for f in self.names if name in self.parameters(f) or name in self.triggers(f)]

    def all_parameters(self) -> list[str]:
        used = {n for f in self.reads for n in self.parameters(f)}
        return [n for n in PARAMETERS if n in self.common or n in used]

    def all_triggers(self) -> list[str]:
        return list(dict.fromkeys(t for f in self.reads for t in self.triggers(f)))


def _kind(name: str, spec: FunctionSpec | None) -> dict[str, Any]:
    if spec is None:
        teapot = name in api_app.COFFEE
        return {"summary": "Answers 418 I'm a teapot (upstream's joke)." if teapot else
                "The API's version, build, date and epoch (no credentials needed).",
                "description": "", "answered_by": "the common layer", "credentials": not teapot and name != "version"}
    return {"summary": scan.first_line(spec.handler), "description": scan.docstring(spec.handler),
            "answered_by": f"{spec.handler.__module__}.{spec.handler.__name__}", "credentials": True}


def function_entry(functions: Functions, name: str) -> dict[str, Any]:
    """`x-functions[name]`: what a function reads and answers."""
    spec = REGISTRY.get(name)
    examples = documented_examples().get(name, {"urls": [], "responses": []})
    entry = _kind(name, spec) | {
        "parameters": functions.parameters(name),
        "triggers": functions.triggers(name),
        "form": {"$ref": f"#/components/schemas/{form_name(name)}"},
        "examples": [{"url": url, "query": example_query(url)} for url in examples["urls"]],
        "responses": examples["responses"],
    }
    if spec is not None:
        entry["steps"] = {"checks_its_values": spec.valid is not None, "resolves_alt_user": spec.alt_user,
                          "needs_a_logged_in_agent": spec.logged_in}
    return entry


def _parameter_schema(name: str, functions: Functions) -> Schema:
    if name == "function":
        return {"type": "string", "enum": functions.names}
    return STRING


def _query_parameter(name: str, functions: Functions) -> Schema:
    f = PARAMETERS[name]
    readers = functions.readers(name)
    note = COMMON_NOTES.get(name, "")
    who = "Every function." if name in functions.common else f"Read by: {', '.join(readers)}."
    found: Schema = {
        "name": name, "in": "query", "required": name == "function",
        "description": " ".join(p for p in (note, who, describe_filter(f)) if p),
        "schema": _parameter_schema(name, functions),
        "x-filter": _filter_extension(f),
    }
    if name not in functions.common:
        found["x-functions"] = readers
    return found


def _trigger_parameter(name: str, functions: Functions) -> Schema:
    readers = functions.readers(name)
    return {"name": name, "in": "query", "required": False, "allowEmptyValue": True, "schema": STRING,
            "description": f"Presence-only (any value, any letter case): {', '.join(readers)} act when it is sent.",
            "x-functions": readers, "x-trigger": True}


def _form_schema(name: str, functions: Functions) -> Schema:
    properties: dict[str, Schema] = {"function": {"const": name}}
    for parameter in (*functions.common, *functions.parameters(name)):
        if parameter != "function":
            properties[parameter] = {**STRING, "description": describe_filter(PARAMETERS[parameter])}
    for trigger in functions.triggers(name):
        properties[trigger] = {**STRING, "description": "Presence-only (any value)."}
    kind = _kind(name, REGISTRY.get(name))
    return obj(properties, ["function"], description=f"`{name}`: {kind['summary']}")


def _text_examples() -> dict[str, Schema]:
    found: dict[str, Schema] = {}
    for function, entry in documented_examples().items():
        for i, line in enumerate(entry["responses"], 1):
            found[f"{function}-{i}"] = {"summary": f"{function}: {line[:80]}", "value": line + "\n"}
    return found


def _json_examples() -> dict[str, Schema]:
    """The document's lines rendered by `reply.py`, as `format=json` answers them."""
    found: dict[str, Schema] = {}
    for function, entry in documented_examples().items():
        for i, text in enumerate(entry["responses"], 1):
            line = parse_line(text)
            if line is not None:
                found[f"{function}-{i}"] = {"summary": f"{function}: {text[:80]}",
                                            "value": json.loads(Reply(lines=[line]).json())}
    return found


def _responses() -> dict[str, Schema]:
    rate_headers = {"Retry-After": {"description": "Seconds until the key's bucket has a request again.",
                                    "schema": INTEGER}}
    return {
        "200": answer(
            "The function's answer: upstream's text lines (`RESULT: reason - field|field…`, one per line), or "
            "with `format=json` the same lines as JSON. Errors of the API (bad credentials, invalid values, an "
            "agent not logged in …) are answered with 200, as upstream does.",
            {HTML: {"schema": STRING, "examples": _text_examples()},
             "application/json": {"schema": JSON_REPLY, "examples": _json_examples()}}),
        "418": answer("A coffee function: `ERROR: Coffee: <function>|Error 418 I'm a teapot`.",
                      {HTML: {"schema": STRING}, "application/json": {"schema": JSON_REPLY}}),
        "429": answer("The API key's rate limit: nothing was done (`ERROR: rate limit exceeded …`).",
                      {HTML: {"schema": STRING}, "application/json": {"schema": JSON_REPLY}}, rate_headers),
        "503": answer("The database kept refusing the request's transaction: nothing was written.",
                      {"text/plain": {"schema": STRING, "example": api_app.BUSY}}),
    }


DESCRIPTION = """Upstream VICIdial's Agent API. `function` names what to do; the parameters it reads are listed in
`x-functions` (and each parameter names its functions). Parameters are read from the query string first, then
from a POSTed form, name by name; each is filtered (characters it may not hold are deleted, never rejected).
Credentials: `user` and `pass` (query or form), or an API key as `Authorization: Bearer`. Answers are upstream's
text (`text/html`, byte-compatible), or JSON with `format=json`. See docs/openapi.md for how this is modelled."""


def operation(method: str) -> Schema:
    """The operation of `GET` or `POST /agc/api.php`."""
    functions = Functions()
    entries = {name: function_entry(functions, name) for name in functions.names}
    for name in functions.names:
        component(form_name(name), _form_schema(name, functions))
    found: Schema = {
        "tags": [AGENT_API],
        "summary": "Run an Agent API function",
        "description": DESCRIPTION,
        "operationId": f"agentApi{method.capitalize()}",
        "security": [dict(s) for s in API_CREDENTIALS] + ([{}] if "version" in functions.names else []),
        "responses": _responses(),
        "x-functions": entries,
    }
    if method == "GET":
        found["parameters"] = [_query_parameter(n, functions) for n in functions.all_parameters()]
        found["parameters"] += [_trigger_parameter(n, functions) for n in functions.all_triggers()]
    else:
        refs = {name: f"#/components/schemas/{form_name(name)}" for name in functions.names}
        schema = {"oneOf": [{"$ref": r} for r in refs.values()],
                  "discriminator": {"propertyName": "function", "mapping": refs}}
        examples = {f"{name}-{i}": {"summary": example["url"], "value": example["query"]}
                    for name, entry in entries.items() for i, example in enumerate(entry["examples"], 1)}
        found["requestBody"] = {"required": True, "description": "One function's form (`multipart/form-data` is "
                                "read too; documenting both types trips generators that then make the body optional).",
                                "content": {FORM: {"schema": schema, "examples": examples}}}
    return found


def get_operation() -> Schema:
    return operation("GET")


def post_operation() -> Schema:
    return operation("POST")
