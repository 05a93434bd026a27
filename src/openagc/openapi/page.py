"""`/docs`: the OpenAPI document as one server-rendered HTML page (no script; the project's CSP holds as it is)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from openagc.openapi.describe import Schema

HERE = Path(__file__).parent
ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")), autoescape=True,
                         trim_blocks=True, lstrip_blocks=True)
_CODE = re.compile(r"`([^`]+)`")
MAX_EXAMPLES = 12  # examples shown per answer (the document has them all)


def inline(text: str) -> Markup:
    """Escaped text with `code` spans."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


ENV.filters["inline"] = inline


def schema_text(schema: Schema | None) -> str:
    """A schema in a few words: `string`, `one of A, B`, `ExternalDialForm`, `array of integer` …"""
    if not schema:
        return "any"
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if "const" in schema:
        return f"= {schema['const']}"
    if "enum" in schema:
        values = [str(v) if v != "" else "''" for v in schema["enum"]]
        return "one of " + (", ".join(values) if len(values) <= 8 else f"{len(values)} values")
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(schema_text(s) for s in schema[key])
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if kind == "array":
        return f"array of {schema_text(schema.get('items'))}"
    return str(kind)


@dataclass
class Row:
    name: str
    where: str
    required: bool
    kind: str
    description: str


@dataclass
class Answer:
    code: str
    description: str
    media: list[str]
    kind: str
    examples: list[str] = field(default_factory=list)


@dataclass
class Entry:
    """One operation as the page shows it."""

    anchor: str
    method: str
    path: str
    summary: str
    description: str
    security: list[str]
    parameters: list[Row]
    body: list[Row]
    body_media: list[str]
    answers: list[Answer]
    websocket: bool


@dataclass
class Function:
    """One api.php function (`x-functions`)."""

    name: str
    summary: str
    description: str
    parameters: list[str]
    triggers: list[str]
    steps: list[str]
    examples: list[str]
    responses: list[str]


class View:
    """What the template shows, read off the document."""

    def __init__(self, document: Schema) -> None:
        self.document = document
        self.components = document.get("components", {}).get("schemas", {})
        self.sections: dict[str, list[Entry]] = {t["name"]: [] for t in document.get("tags", [])}
        self.tag_text = {t["name"]: t.get("description", "") for t in document.get("tags", [])}
        self.functions: list[Function] = []
        for path, item in document["paths"].items():
            for method, op in item.items():
                entry = self._entry(path, method, op)
                for tag in op.get("tags", ["Other"]):
                    self.sections.setdefault(tag, []).append(entry)
                if "x-functions" in op and not self.functions:
                    self.functions = self._functions(op["x-functions"])
        self.count = sum(len(item) for item in document["paths"].values())

    def _resolve(self, schema: Schema | None) -> Schema:
        while schema and "$ref" in schema:
            schema = self.components.get(schema["$ref"].rsplit("/", 1)[1], {})
        return schema or {}

    def _entry(self, path: str, method: str, op: Schema) -> Entry:
        parameters = [Row(p["name"], p["in"], bool(p.get("required")), schema_text(p.get("schema")),
                          p.get("description", "")) for p in op.get("parameters", [])]
        body: list[Row] = []
        body_media: list[str] = []
        if "requestBody" in op:
            content = op["requestBody"].get("content", {})
            body_media = list(content)
            schema = self._resolve(next(iter(content.values()), {}).get("schema"))
            required = set(schema.get("required", []))
            if "oneOf" in schema:
                body = [Row(schema_text(s), "body", False, "one function's form", "") for s in schema["oneOf"]]
            for name, prop in schema.get("properties", {}).items():
                body.append(Row(name, "body", name in required, schema_text(prop), prop.get("description", "")))
        answers = []
        for code, response in op.get("responses", {}).items():
            content = response.get("content", {})
            first = next(iter(content.values()), {})
            examples = [self._example(e.get("value")) for media in content.values()
                        for e in media.get("examples", {}).values()][:MAX_EXAMPLES]
            examples += [self._example(media["example"]) for media in content.values() if "example" in media]
            answers.append(Answer(code, response.get("description", ""), list(content),
                                  schema_text(first.get("schema")) if content else "", examples))
        security = [" + ".join(req) or "none" for req in op.get("security", [])] or ["none"]
        anchor = op.get("operationId") or re.sub(r"[^a-z0-9]+", "-", f"{method} {path}".lower()).strip("-")
        return Entry(anchor, method.upper(), path, op.get("summary", ""), op.get("description", ""), security,
                     parameters, body, body_media, answers, bool(op.get("x-websocket")))

    @staticmethod
    def _example(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value, indent=1)

    @staticmethod
    def _functions(entries: dict[str, Any]) -> list[Function]:
        found = []
        for name, e in entries.items():
            steps = [label for key, label in (("checks_its_values", "checks its values"),
                                              ("resolves_alt_user", "resolves alt_user"),
                                              ("needs_a_logged_in_agent", "needs a logged-in agent"))
                     if e.get("steps", {}).get(key)]
            found.append(Function(name, e.get("summary", ""), e.get("description", ""), e.get("parameters", []),
                                  e.get("triggers", []), steps, [x["url"] for x in e.get("examples", [])],
                                  e.get("responses", [])))
        return found


def render(document: Schema) -> str:
    return ENV.get_template("docs.html").render(view=View(document), info=document["info"])
