"""What an integrator's generated client does, from `/openapi.json` alone: build the request of a function (its path,
the parameters the document lists for it with the document's example values, the credentials where the security
scheme says) and get the answer the document describes from a live server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import httpx
import jsonschema
import pytest
import sqlalchemy as sa

from openagc.integrations import keys
from tests.support import AUTH, FROZEN_AT, Backend

EPOCH = int(FROZEN_AT.timestamp())
PATH = "/agc/api.php"


def agent_api(doc: dict, method: str) -> dict:
    return doc["paths"][PATH][method]


def credentials_for(doc: dict, requirement: dict[str, list], secrets: dict[str, str]) -> tuple[dict, dict]:
    """(query parameters, headers) that satisfy one security requirement, as its schemes say where each goes."""
    query: dict[str, str] = {}
    headers: dict[str, str] = {}
    for name in requirement:
        scheme = doc["components"]["securitySchemes"][name]
        if scheme["type"] == "apiKey" and scheme["in"] == "query":
            query[scheme["name"]] = secrets[name]
        elif scheme["type"] == "http" and scheme["scheme"] == "bearer":
            headers["Authorization"] = f"Bearer {secrets[name]}"
        else:
            raise AssertionError(f"a client would not know how to send {scheme}")
    return query, headers


def request_for(doc: dict, base: str, function: str, method: str, secrets: dict[str, str],
                **extra: str) -> httpx.Request:
    """The request of `function`: its first documented example, each parameter checked against the document; the
    server's URL is relative, so it is resolved against `base`, where the document came from."""
    op = agent_api(doc, method.lower())
    entry = op["x-functions"][function]
    example = dict(entry["examples"][0]["query"]) | extra
    for credential in ("user", "pass"):
        example.pop(credential, None)  # those come from the security scheme
    if method == "GET":
        documented = {p["name"] for p in op["parameters"]}
    else:
        form = entry["form"]["$ref"].rsplit("/", 1)[1]
        assert op["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]["discriminator"][
            "mapping"][function].endswith(form)
        documented = set(doc["components"]["schemas"][form]["properties"])
    assert set(example) <= documented, set(example) - documented
    assert set(example) - {"function", "source", "format"} <= set(entry["parameters"])
    requirement = next(r for r in op["security"] if r and set(r) <= set(secrets))
    query, headers = credentials_for(doc, requirement, secrets)
    url = urljoin(base, doc["servers"][0]["url"]).rstrip("/") + PATH
    if method == "GET":
        return httpx.Request("GET", url, params=example | query, headers=headers)
    return httpx.Request("POST", url, params=query, data=example, headers=headers)


def documented_head(doc: dict, function: str) -> str:
    """`SUCCESS: <reason>` of the function's success line in the API document's answers."""
    lines = agent_api(doc, "get")["x-functions"][function]["responses"]
    return next(line.split(" - ")[0] for line in lines if line.startswith("SUCCESS"))


def schema_of(doc: dict, status: str, media: str) -> dict[str, Any]:
    """The answer's schema, resolvable on its own (its `$ref`s point into the document's components)."""
    return agent_api(doc, "get")["responses"][status]["content"][media]["schema"] | {"components": doc["components"]}


EXPECTED = {
    "external_pause": (f"PAUSE|{EPOCH}|1000", "external_pause", f"PAUSE!{EPOCH}"),
    "external_dial": (f"7275551212|1000|1|YES|NO|YES||{EPOCH}||||", "external_dial",
                      f"7275551212!1!YES!NO!YES!!{EPOCH}!!!!!!!"),
}


@pytest.fixture
def secrets(backend: Backend, db: Any) -> dict[str, str]:
    """The integrator's credentials: the demo API user, and an API key of that user."""
    with backend.sync.begin() as conn:
        _, token = keys.create(conn, user=AUTH["user"], name="openapi test")
    return {"apiUser": AUTH["user"], "apiPass": AUTH["pass"], "apiKey": token}


@pytest.mark.parametrize("auth", ["user and pass", "api key"])
@pytest.mark.parametrize("function", ["external_pause", "external_dial"])
def test_a_request_built_from_the_document_gets_the_documented_answer(
        backend: Backend, db: Any, login: Any, secrets: dict[str, str], function: str, auth: str) -> None:
    doc = backend.client.get("/openapi.json").json()
    chosen = {k: v for k, v in secrets.items() if (k == "apiKey") == (auth == "api key")}
    login("1000")
    request = request_for(doc, backend.server.base_url, function, "GET", chosen)
    assert ("Authorization" in request.headers) == (auth == "api key")
    response = backend.client.send(request)
    assert response.status_code == 200
    assert response.headers["content-type"] in agent_api(doc, "get")["responses"]["200"]["content"]
    details, column, value = EXPECTED[function]
    assert response.text == f"{documented_head(doc, function)} - {details}\n"
    jsonschema.validate(response.text, schema_of(doc, "200", "text/html; charset=utf-8"))
    with backend.sync.connect() as conn:
        written = conn.execute(sa.text(f"SELECT {column} FROM vicidial_live_agents WHERE user = '1000'")).scalar()
    assert written == value


@pytest.mark.parametrize("function", ["external_pause", "external_dial"])
def test_a_form_built_from_the_document_gets_the_documented_json(
        backend: Backend, db: Any, login: Any, secrets: dict[str, str], function: str) -> None:
    doc = backend.client.get("/openapi.json").json()
    login("1000")
    user_and_pass = {"apiUser": secrets["apiUser"], "apiPass": secrets["apiPass"]}
    request = request_for(doc, backend.server.base_url, function, "POST", user_and_pass, format="json")
    response = backend.client.send(request)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    answer = response.json()
    jsonschema.validate(answer, schema_of(doc, "200", "application/json"),
                        cls=jsonschema.Draft202012Validator)
    details, column, value = EXPECTED[function]
    assert (answer["result"], answer["reason"], answer["details"]) == (
        "SUCCESS", documented_head(doc, function).removeprefix("SUCCESS: "), details.split("|"))
    record = backend.client.get(f"/agc/commands/{answer['command_id']}", params=AUTH)
    assert record.status_code == 200
    command = doc["paths"]["/agc/commands/{command_id}"]["get"]["responses"]["200"]["content"]["application/json"]
    jsonschema.validate(record.json(), command["schema"] | {"components": doc["components"]},
                        cls=jsonschema.Draft202012Validator)
    assert (record.json()["command"], record.json()["value"]) == (column, value)
