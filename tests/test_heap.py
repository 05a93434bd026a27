"""`heap.settle`: what exists once the app is built leaves the collections; what comes later stays in them."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from openagc import heap
from openagc.api import app as api_app
from openagc.config import Settings
from openagc.service import app_for_server, app_from_env


class Node:
    """A container the collector tracks, that can hold a reference to itself."""

    ref: Node | None = None


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """Whatever a test freezes goes back to the collections, and the thresholds back to what they were (the rest
    of the suite is not a server)."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def traced() -> set[int]:
    return {id(o) for o in gc.get_objects()}


def test_settle_takes_the_survivors_out_of_later_collections(unfrozen: None) -> None:
    built = [Node() for _ in range(100)]
    frozen = heap.settle()
    assert frozen >= 100  # (the count falls as frozen objects are freed by their reference counts)
    assert not traced() & {id(n) for n in built}
    later = Node()
    assert id(later) in traced()


def test_settling_makes_full_collections_rarer_and_keeps_the_young_generations(unfrozen: None) -> None:
    gc.set_threshold(700, 10, 10)  # CPython's defaults
    heap.settle()
    assert gc.get_threshold() == (700, 10, heap.FULL_COLLECTION_EVERY) and heap.FULL_COLLECTION_EVERY > 10


def test_a_cycle_made_after_settling_is_still_collected(unfrozen: None) -> None:
    heap.settle()
    node = Node()
    node.ref = node
    gone = weakref.ref(node)
    del node
    gc.collect()
    assert gone() is None


@pytest.mark.parametrize("build", ["settings", "environment"])
def test_the_served_app_is_built_then_settled(build: str, unfrozen: None, tmp_path, monkeypatch) -> None:
    database = str(tmp_path / "openagc.db")
    if build == "settings":
        app = app_for_server(Settings(database=database, engine=False))
    else:
        monkeypatch.setenv("OPENAGC_DATABASE", database)
        monkeypatch.setenv("OPENAGC_ENGINE", "off")
        app = app_from_env()
    assert app.state.services.settings.database == database
    assert gc.get_freeze_count() > 0
    assert not traced() & {id(api_app.api_php), id(app), id(app.router)}
