"""ASGI middleware shared by every route: merged slashes, body limits, the browser origin's headers, CSRF."""
