"""The OpenAPI 3.1 document of an app: every route's documented operations, found through the app's routes.

A route's operations are what its endpoint declares (`describe.operation`, `describe.generated`); a mounted app
(static files) is documented on the app object, under `{mount}/{path}`; a WebSocket route appears as a `GET` with
`x-websocket: true` (OpenAPI has no WebSocket operation). `undocumented(app)` names every route method nobody
documented; the document leaves those out (`tests/openapi/test_coverage.py` fails on them).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.convertors import FloatConvertor, IntegerConvertor, UUIDConvertor
from starlette.endpoints import HTTPEndpoint
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from openagc import API_BUILD, API_VERSION, __version__
from openagc.openapi.describe import COMPONENTS, SECURITY_SCHEMES, TAGS, Operation, Schema, operations_of

OPENAPI_VERSION = "3.1.0"
_TEMPLATE = re.compile(r"{([^}:]+)(:[^}]+)?}")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Endpoint:
    """One method of one route, as the app serves it."""

    path: str  # OpenAPI's form: `/agc/commands/{command_id}`
    method: str
    endpoint: Any
    convertors: dict[str, Any]
    websocket: bool = False


def _class_methods(endpoint: Any) -> set[str]:
    return {m for m in _METHODS if hasattr(endpoint, m.lower())}


def endpoints(routes: list[BaseRoute], prefix: str = "") -> Iterator[Endpoint]:
    """Every (path, method) the routes serve (HEAD, which Starlette adds to GET, is not listed)."""
    for route in routes:
        if isinstance(route, Route):
            path = _TEMPLATE.sub(r"{\1}", prefix + route.path)
            methods = route.methods or set()
            if inspect.isclass(route.endpoint) and issubclass(route.endpoint, HTTPEndpoint):
                methods = methods or _class_methods(route.endpoint)
            for method in sorted(methods - {"HEAD"}):
                yield Endpoint(path, method, route.endpoint, dict(route.param_convertors))
        elif isinstance(route, WebSocketRoute):
            path = _TEMPLATE.sub(r"{\1}", prefix + route.path)
            yield Endpoint(path, "GET", route.endpoint, dict(route.param_convertors), websocket=True)
        elif isinstance(route, Mount):
            inner = getattr(route.app, "routes", None)
            if route.routes and inner is not None:
                yield from endpoints(list(route.routes), prefix + route.path)
            else:
                path = _TEMPLATE.sub(r"{\1}", prefix + route.path) + "/{path}"
                methods = set(operations_of(route.app)) or {"GET"}
                for method in sorted(methods):
                    yield Endpoint(path, method, route.app, {"path": None})


def _path_schema(convertor: Any) -> Schema:
    if isinstance(convertor, IntegerConvertor):
        return {"type": "integer", "minimum": 0}
    if isinstance(convertor, FloatConvertor):
        return {"type": "number", "minimum": 0}
    if isinstance(convertor, UUIDConvertor):
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _operation_id(method: str, path: str) -> str:
    """`getAgentState` for `GET /agent/state`; a trailing slash is `Index` (`/console/` ≠ `/console`)."""
    words = re.findall(r"[A-Za-z0-9]+", path.replace(".php", "")) or ["root"]
    if path.endswith("/") and path != "/":
        words.append("index")
    return method.lower() + "".join(w[:1].upper() + w[1:] for w in words)


def _render(found: Endpoint) -> Schema | None:
    entry = operations_of(found.endpoint).get(found.method)
    if entry is None:
        return None
    if isinstance(entry, Operation):
        rendered = entry.render(inspect.getdoc(found.endpoint) or "", _operation_id(found.method, found.path))
    else:
        rendered = entry()
    declared = {p.get("name"): p for p in rendered.get("parameters", []) if p.get("in") == "path"}
    for name, convertor in found.convertors.items():
        if name in declared:  # what the route's convertor matches bounds what its author wrote
            declared[name]["schema"] = {**declared[name].get("schema", {}), **_path_schema(convertor)}
        else:
            rendered.setdefault("parameters", []).append(
                {"name": name, "in": "path", "required": True, "schema": _path_schema(convertor)})
    if found.websocket:
        rendered["x-websocket"] = True
    return rendered


def undocumented(app: Starlette) -> list[str]:
    """`METHOD /path` of every route method without a documented operation."""
    return [f"{e.method} {e.path}" for e in endpoints(list(app.routes)) if _render(e) is None]


def _references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _schemas(paths: Schema) -> dict[str, Schema]:
    """The components the paths refer to, and those they refer to in turn."""
    found: dict[str, Schema] = {}
    pending = list(_references(paths))
    while pending:
        name = pending.pop()
        if name not in found:
            found[name] = COMPONENTS[name]
            pending.extend(_references(found[name]))
    return dict(sorted(found.items()))


def _security_schemes(paths: Schema) -> dict[str, Schema]:
    used = {name for item in paths.values() for op in item.values() for req in op.get("security", []) for name in req}
    return {name: scheme for name, scheme in SECURITY_SCHEMES.items() if name in used}


def build(app: Starlette) -> Schema:
    """The document of every documented operation of `app`."""
    paths: dict[str, dict[str, Schema]] = {}
    for found in endpoints(list(app.routes)):
        rendered = _render(found)
        if rendered is not None:
            paths.setdefault(found.path, {})[found.method.lower()] = rendered
    used_tags = {tag for item in paths.values() for op in item.values() for tag in op.get("tags", [])}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "openagc",
            "version": __version__,
            "summary": "VICIdial's Agent API (/agc/api.php) and openagc's own HTTP routes.",
            "description": f"Generated from the code of this server (docs/openapi.md). The Agent API reports "
                           f"upstream's version {API_VERSION} (build {API_BUILD}).",
            "license": {"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
        },
        "servers": [{"url": "/", "description": "this server"}],
        "tags": [{"name": name, "description": text} for name, text in TAGS.items() if name in used_tags],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": _schemas(paths), "securitySchemes": _security_schemes(paths)},
    }
