"""How an endpoint documents itself: `@operation(...)` written beside it, and the pieces its answers are made of.

    @operation("GET", summary="Health of this process", tags=[OPERATIONS],
               responses={200: json_answer("healthy or degraded", HEALTH), 503: json_answer("no database", HEALTH)})
    async def healthz(request: Request) -> JSONResponse: ...

The decorator only records the operation on the endpoint (`__openapi__`, one per HTTP method; stack it for a
second method); `openapi.document` finds it through the app's routes, also behind a wrapper that keeps the
endpoint in a closure (`_handler(fn)`) or as `__wrapped__` (`functools.wraps`). A route nobody documented is
missing from the document, and `tests/openapi/test_coverage.py` fails naming it. An operation's description is
the endpoint's docstring unless given. Schemas are JSON Schema 2020-12 (OpenAPI 3.1); `component` names one
for `#/components/schemas`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

Schema = dict[str, Any]
T = TypeVar("T")

ATTRIBUTE = "__openapi__"  # on an endpoint: {METHOD: Operation | generator of the rendered operation}

# --- tags (the document's sections, in this order) --------------------------------------------------------------
AGENT_API = "Agent API (api.php)"
AGENT_SESSION = "Agent session (/agent)"
CONSOLE = "Console"
INTEGRATIONS = "Integrations (/api/v1)"
NON_AGENT_API = "Non-agent API"
OPERATIONS = "Operations"
SIMULATION = "Simulation"
DOCUMENTATION = "Documentation"
TAGS: dict[str, str] = {
    AGENT_API: "Upstream VICIdial's Agent API: one endpoint, the function named by `function`; text answers "
               "byte-compatible with upstream, JSON with `format=json`.",
    AGENT_SESSION: "The agent-side JSON API of a session in the engine (what the console uses).",
    CONSOLE: "The agent console: its page, static files and its own JSON endpoints.",
    INTEGRATIONS: "openagc's integrator API.",
    NON_AGENT_API: "Upstream VICIdial's non-agent API (`/vicidial/non_agent_api.php`).",
    OPERATIONS: "Health, metrics and the records of commands.",
    SIMULATION: "The simulated centre of a server on the simulated switch.",
    DOCUMENTATION: "This document and its rendered page.",
}

# --- security schemes and requirements ---------------------------------------------------------------------------
SECURITY_SCHEMES: dict[str, Schema] = {
    "apiUser": {"type": "apiKey", "in": "query", "name": "user",
                "description": "A VICIdial user allowed to use the API (`vicidial_users.vdc_agent_api_access`). "
                               "In the query string, or in a POSTed form (the query string wins)."},
    "apiPass": {"type": "apiKey", "in": "query", "name": "pass",
                "description": "That user's password (upstream's lockout applies to failures)."},
    "apiKey": {"type": "http", "scheme": "bearer",
               "description": "An integrator API key, `Authorization: Bearer <key>`; it stands for its user, "
                              "whatever `user` says (`pass` is not read)."},
    "basicAuth": {"type": "http", "scheme": "basic",
                  "description": "A VICIdial user and password, checked as api.php checks them."},
    "agentSession": {"type": "http", "scheme": "bearer",
                     "description": "The session token `POST /agent/login` answers."},
    "agentCookie": {"type": "apiKey", "in": "cookie", "name": "openagc_agent",
                    "description": "The same token as the cookie `POST /agent/login` sets (a POST with it also "
                                   "needs `X-CSRF-Token`)."},
    "metricsToken": {"type": "http", "scheme": "bearer",
                     "description": "The `metrics_token` setting; without it, clients in `metrics_allowed_ips`."},
}
NO_AUTH: tuple[Mapping[str, list], ...] = ()
API_CREDENTIALS = ({"apiUser": [], "apiPass": []}, {"apiKey": []})
USER_PASSWORD = ({"apiUser": [], "apiPass": []},)
INTEGRATOR = ({"basicAuth": []}, {"apiKey": []})
AGENT = ({"agentSession": []}, {"agentCookie": []})
METRICS = ({"metricsToken": []}, {})  # `{}`: from an allowed address, no credentials

# --- schemas -----------------------------------------------------------------------------------------------------
COMPONENTS: dict[str, Schema] = {}
STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}


def component(name: str, schema: Schema) -> Schema:
    """Register `schema` as `#/components/schemas/{name}` and answer its reference."""
    if COMPONENTS.get(name, schema) != schema:
        raise ValueError(f"schema {name} defined twice, differently")
    COMPONENTS[name] = schema
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: Mapping[str, Schema], required: Iterable[str] = (), **more: Any) -> Schema:
    """A JSON object schema (other properties allowed unless `additionalProperties` says otherwise)."""
    schema: Schema = {"type": "object", "properties": dict(properties)}
    names = list(required)
    if names:
        schema["required"] = names
    return schema | more


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


ERROR = component("Error", obj({"error": STRING}, ["error"], description="A refusal, in words."))

# --- parameters, bodies, answers ---------------------------------------------------------------------------------


def param(where: str, name: str, description: str, schema: Schema | None = None, *, required: bool = False,
          example: Any = None) -> Schema:
    found: Schema = {"name": name, "in": where, "description": description, "required": required or where == "path",
                     "schema": schema or STRING}
    if example is not None:
        found["example"] = example
    return found


def query(name: str, description: str, schema: Schema | None = None, **options: Any) -> Schema:
    return param("query", name, description, schema, **options)


def header(name: str, description: str, schema: Schema | None = None, **options: Any) -> Schema:
    return param("header", name, description, schema, **options)


def body(properties: Mapping[str, Schema], required: Sequence[str] = (), *, description: str = "",
         media: Sequence[str] = ("application/json", "application/x-www-form-urlencoded"),
         example: Mapping[str, Any] | None = None) -> Schema:
    """A request body of named fields, in each of `media` (a flat JSON object or an HTML form)."""
    schema = obj(properties, required)
    content = {m: {"schema": schema} | ({"example": dict(example)} if example else {}) for m in media}
    found: Schema = {"content": content, "required": bool(required)}
    if description:
        found["description"] = description
    return found


def answer(description: str, content: Mapping[str, Schema] | None = None,
           headers: Mapping[str, Schema] | None = None) -> Schema:
    found: Schema = {"description": description}
    if content:
        found["content"] = dict(content)
    if headers:
        found["headers"] = dict(headers)
    return found


def json_answer(description: str, schema: Schema, *, example: Any = None,
                headers: Mapping[str, Schema] | None = None) -> Schema:
    media: Schema = {"schema": schema}
    if example is not None:
        media["example"] = example
    return answer(description, {"application/json": media}, headers)


def text_answer(description: str, media_type: str = "text/plain", *, example: str | None = None,
                headers: Mapping[str, Schema] | None = None) -> Schema:
    media: Schema = {"schema": STRING}
    if example is not None:
        media["example"] = example
    return answer(description, {media_type: media}, headers)


def refusal(description: str) -> Schema:
    """An answer `{"error": "…"}`."""
    return json_answer(description, ERROR)


def event_stream(description: str, events: Sequence[str]) -> Schema:
    """A `text/event-stream` answer; `events` are the `event:` names it sends (`x-events`)."""
    return answer(description, {"text/event-stream": {"schema": STRING, "x-events": list(events)}})


# --- the decorator -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operation:
    """One documented operation (one HTTP method of one endpoint)."""

    method: str
    summary: str
    tags: tuple[str, ...]
    responses: Mapping[int | str, Schema]
    parameters: tuple[Schema, ...] = ()
    body: Schema | None = None
    security: tuple[Mapping[str, list], ...] = NO_AUTH
    description: str | None = None
    operation_id: str | None = None
    extensions: Mapping[str, Any] = field(default_factory=dict)

    def render(self, default_description: str, default_id: str) -> Schema:
        """The Operation Object (`description` defaults to the endpoint's docstring)."""
        found: Schema = {"tags": list(self.tags), "summary": self.summary,
                         "operationId": self.operation_id or default_id}
        text = self.description if self.description is not None else default_description
        if text:
            found["description"] = text
        if self.parameters:
            found["parameters"] = [dict(p) for p in self.parameters]
        if self.body is not None:
            found["requestBody"] = dict(self.body)
        found["responses"] = {str(code): dict(r) for code, r in self.responses.items()}
        found["security"] = [dict(s) for s in self.security]
        return found | {k if k.startswith("x-") else f"x-{k}": v for k, v in self.extensions.items()}


Generated = Callable[[], Schema]  # an operation built when the document is (api.php's, from the function registry)


def _attach(target: T, method: str, entry: Operation | Generated) -> T:
    found: dict[str, Operation | Generated] = dict(getattr(target, ATTRIBUTE, None) or {})
    if method in found:
        raise ValueError(f"{target!r}: {method} documented twice")
    found[method] = entry
    setattr(target, ATTRIBUTE, found)
    return target


def operation(method: str, *, summary: str, tags: Sequence[str], responses: Mapping[int | str, Schema],
              parameters: Sequence[Schema] = (), body: Schema | None = None,
              security: Sequence[Mapping[str, list]] = NO_AUTH, description: str | None = None,
              operation_id: str | None = None, **extensions: Any) -> Callable[[T], T]:
    """Document `method` of the decorated endpoint (a function, or an ASGI app mounted under a path)."""
    entry = Operation(method.upper(), summary, tuple(tags), dict(responses), tuple(parameters), body,
                      tuple(security), description, operation_id, dict(extensions))
    return lambda target: _attach(target, entry.method, entry)


def generated(method: str, build: Generated) -> Callable[[T], T]:
    """Document `method` with an operation `build()` makes when the document is built."""
    return lambda target: _attach(target, method.upper(), build)


def operations_of(endpoint: Any, depth: int = 3) -> dict[str, Operation | Generated]:
    """The operations documented on `endpoint`, or on the function a wrapper of it keeps (`__wrapped__`, or a
    closure cell: `_handler(fn)`), `depth` wrappers deep at most."""
    found = getattr(endpoint, ATTRIBUTE, None)
    if found:
        return dict(found)
    if depth == 0:
        return {}
    inner = [getattr(endpoint, "__wrapped__", None)]
    inner += [cell.cell_contents for cell in getattr(endpoint, "__closure__", None) or () if _filled(cell)]
    for candidate in inner:
        if callable(candidate):
            found = operations_of(candidate, depth - 1)
            if found:
                return found
    return {}


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents  # noqa: B018  (an empty cell raises)
    except ValueError:
        return False
    return True
