"""Security tests use the API fixtures (both databases) and the engine's server fixtures (`eng`, `engine_env`),
wherever the suite defines them (tests/conftest.py, or tests/engine/conftest.py in older checkouts)."""

import tests.engine.conftest as _engine

globals().update({name: getattr(_engine, name) for name in ("eng", "engine_env") if hasattr(_engine, name)})
