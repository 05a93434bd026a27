"""`GET /openapi.json` from a live server is a valid OpenAPI 3.1 document; `/docs` renders it under the CSP."""

from __future__ import annotations

import re

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from openagc.web.headers import APP_CSP
from tests.support import Backend


@pytest.fixture(scope="module")
def served(backend: Backend) -> dict:
    response = backend.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_the_document_is_valid_openapi_3_1(served: dict) -> None:
    assert served["openapi"] == "3.1.0"
    validate(served, cls=OpenAPIV31SpecValidator)  # raises on any error


def test_the_document_is_built_once_per_app(backend: Backend, served: dict) -> None:
    assert backend.client.get("/openapi.json").json() == served


def test_the_page_shows_every_operation_and_function(backend: Backend, served: dict) -> None:
    response = backend.client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["content-security-policy"] == APP_CSP
    page = response.text
    anchors = re.findall(r'<article id="([^"]+)" class="operation">', page)
    assert len(anchors) == len(set(anchors))  # every operation has its own anchor (its operationId)
    for path, item in served["paths"].items():
        for method, op in item.items():
            assert f"<span class=\"method {method}\">{method.upper()}</span> <code>{path}</code>" in page
            assert f'<article id="{op["operationId"]}" class="operation">' in page
    for function in served["paths"]["/agc/api.php"]["get"]["x-functions"]:
        assert f'id="function-{function}"' in page
    assert "SUCCESS: external_pause function set - PAUSE|1232020456|6666" in page  # the document's examples


def test_the_page_loads_nothing_from_elsewhere_and_runs_no_script(backend: Backend) -> None:
    """Under `default-src 'none'; style-src 'self'`: no script, no inline style, only this origin's stylesheet."""
    page = backend.client.get("/docs").text
    assert "<script" not in page and "style=" not in page and "<style" not in page
    links = re.findall(r'(?:href|src)="([^"]*)"', page)
    assert links and all(link.startswith(("/", "#")) for link in links), links
    stylesheet = backend.client.get("/docs/openapi.css")
    assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
    assert "/docs/openapi.css" in links
