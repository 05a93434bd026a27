"""Every route of the app is in the OpenAPI document, and every Agent API function is in its api.php operations.

A route added without `@operation(...)` beside its endpoint fails here, named; so does a function registered with
`@api_function` that the document does not offer.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette

from openagc.api import app as api_app
from openagc.api.pipeline import REGISTRY
from openagc.config import Settings
from openagc.openapi import document
from openagc.openapi.agent_api import form_name
from openagc.service import create_app


@pytest.fixture(scope="module", params=["engine on", "engine off"])
def app(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Starlette:
    """The app as `openagc serve` builds it (no server started: the routes are all the document reads)."""
    database = str(tmp_path_factory.mktemp("openapi") / "openagc.db")
    return create_app(Settings(database=database, engine=request.param == "engine on"))


def served(app: Starlette) -> set[tuple[str, str]]:
    return {(e.method, e.path) for e in document.endpoints(list(app.routes))}


def test_every_route_of_the_app_is_documented(app: Starlette) -> None:
    assert document.undocumented(app) == []
    doc = document.build(app)
    in_document = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert in_document == served(app)


def test_the_document_names_every_route_it_walks(app: Starlette) -> None:
    """The walk itself misses nothing: each route, mount and method of the app is one of its endpoints."""
    walked = {path for _method, path in served(app)}
    for route in app.routes:
        path = getattr(route, "path", "")
        assert any(p == document._TEMPLATE.sub(r"{\1}", path) or p.startswith(path + "/") for p in walked), path


def test_every_function_is_offered_by_get_and_post(app: Starlette) -> None:
    doc = document.build(app)
    functions = set(REGISTRY) | set(api_app.KNOWN_FUNCTIONS)
    get, post = doc["paths"]["/agc/api.php"]["get"], doc["paths"]["/agc/api.php"]["post"]
    function = next(p for p in get["parameters"] if p["name"] == "function")
    assert set(function["schema"]["enum"]) == functions
    assert set(get["x-functions"]) == set(post["x-functions"]) == functions
    body = post["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert body["discriminator"]["mapping"] == {f: f"#/components/schemas/{form_name(f)}" for f in sorted(functions)}
    for name in functions:
        form = doc["components"]["schemas"][form_name(name)]
        assert form["properties"]["function"] == {"const": name}


def test_the_package_ships_what_the_document_reads() -> None:
    """The examples, template and stylesheet are package data (the wheel has them: scripts/check-wheel.sh)."""
    here = Path(document.__file__).parent
    for name in ("examples.json", "templates/docs.html", "static/openapi.css"):
        assert (here / name).is_file(), name
    pyproject = (Path(__file__).resolve().parents[2] / "pyproject.toml").read_text()
    for pattern in ("openapi/examples.json", "openapi/templates/*", "openapi/static/*"):
        assert f'"{pattern}"' in pyproject
