"""The OpenAPI 3.1 document of every HTTP route, generated from the code (docs/openapi.md).

`describe` is what an endpoint's author uses (`@operation(...)` beside the endpoint); `agent_api` derives
`/agc/api.php` from the function registry and the parameter table (`scan` finds what each function reads);
`document` assembles the document from an app's routes; `routes` serves it (`/openapi.json`, `/docs`).
"""
