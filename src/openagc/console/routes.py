"""The console's routes: the page (`/console/`), its static files, and its JSON endpoints (`actions.py`).

The page is plain HTML + JavaScript (no build step). It signs in through `POST /agent/login`, follows the
agent's session on `/console/api/events` (the `/agent/events` stream plus a fresh state after every command
wake-up, see `stream.py`; reconnecting by itself and re-reading `/agent/state`), and
sends every action through `/agent/…` or, for the actions that API has no endpoint for yet, through
`/console/api/…` (the same command columns the Agent API writes).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from openagc.console.actions import _endpoint, console_api_routes
from openagc.console.lead_form import save_lead
from openagc.console.stream import stream_routes
from openagc.openapi.describe import CONSOLE, answer, operation, param, text_answer

if TYPE_CHECKING:
    from openagc.services import Services

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
DTMF_PAD = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#")
STATIC = operation("GET", summary="The console's static files (scripts, styles, images)", tags=[CONSOLE],
                   parameters=[param("path", "path", "The file's name.", example="console.js")],
                   responses={200: answer("The file."), 404: text_answer("No such file.")},
                   )(StaticFiles(directory=str(HERE / "static")))


@operation("GET", summary="The agent console (a page)", tags=[CONSOLE],
           responses={200: text_answer("The page (its login screen until a session exists).", "text/html")})
async def page(request: Request) -> Response:
    """GET /console/: the agent console (login screen until a session exists)."""
    return TEMPLATES.TemplateResponse(request, "console.html", {"dtmf_pad": DTMF_PAD},
                                      headers={"Cache-Control": "no-store"})


@operation("GET", summary="To the console", tags=[CONSOLE],
           responses={307: answer("Redirect to `/console/`.", headers={"Location": {"schema": {"type": "string"}}})})
async def home(_request: Request) -> Response:
    return RedirectResponse("/console/", status_code=307)


def routes(services: Services) -> list[BaseRoute]:
    return [
        Route("/", home, methods=["GET"]),
        Route("/console", home, methods=["GET"]),
        Route("/console/", page, methods=["GET"]),
        Mount("/console/static", app=STATIC, name="console-static"),
        *console_api_routes(services),
        Route("/console/api/lead", _endpoint(services, save_lead), methods=["POST"]),
        *stream_routes(services),
    ]
