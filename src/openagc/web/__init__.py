"""ASGI middleware shared by every route: body limits, the browser origin's headers, CSRF."""
