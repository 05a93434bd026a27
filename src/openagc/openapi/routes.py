"""`GET /openapi.json` (the document, built once per app from its routes), `GET /docs` and its stylesheet."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from openagc.openapi import document, page
from openagc.openapi.describe import DOCUMENTATION, Schema, answer, json_answer, operation, text_answer

STYLESHEET = Path(__file__).parent / "static" / "openapi.css"


async def _document(app: Starlette) -> Schema:
    """The app's document (its routes do not change once it is built, so it is built once; two first requests at
    once both build it, to the same result)."""
    found = getattr(app.state, "openapi_document", None)
    if found is None:
        found = await run_in_threadpool(document.build, app)
        app.state.openapi_document = found
    return found


@operation("GET", summary="This document (OpenAPI 3.1)", tags=[DOCUMENTATION],
           responses={200: json_answer("The OpenAPI 3.1 document of this server's routes.",
                                       {"type": "object", "required": ["openapi", "info", "paths"]})})
async def openapi_json(request: Request) -> Response:
    """Generated from the code of the routes this server runs (docs/openapi.md); no credentials needed."""
    return JSONResponse(await _document(request.app), headers={"Cache-Control": "no-cache"})


@operation("GET", summary="This document as a page", tags=[DOCUMENTATION],
           responses={200: text_answer("The document rendered as HTML (no script).", "text/html")})
async def docs(request: Request) -> Response:
    """Every operation with its parameters, body, answers and examples, and every Agent API function."""
    text = page.render(await _document(request.app))
    return HTMLResponse(text, headers={"Cache-Control": "no-cache"})


@operation("GET", summary="The page's stylesheet", tags=[DOCUMENTATION],
           responses={200: answer("CSS.", {"text/css": {"schema": {"type": "string"}}})})
async def stylesheet(_request: Request) -> Response:
    return FileResponse(STYLESHEET, media_type="text/css")


def routes() -> list[Route]:
    return [
        Route("/openapi.json", openapi_json, methods=["GET"]),
        Route("/docs", docs, methods=["GET"]),
        Route("/docs/openapi.css", stylesheet, methods=["GET"]),
    ]
