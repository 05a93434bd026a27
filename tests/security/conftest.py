"""Security tests use the API fixtures (both databases) and the engine's server (`eng`) of tests/engine."""

from tests.engine.conftest import agent_api, eng, engine_env  # noqa: F401  (fixtures)
