"""The cyclic garbage collector in a serving process: what is built at startup is not traced again.

CPython's full collection traces every tracked object, however long it has lived. A serving process holds about
116,000 of them from startup on (modules, functions, SQLAlchemy's table metadata, the routes), and they never
die; the agents' sessions add more. A full collection stops the event loop while it traces them all, and every
request in flight waits that long (docs/benchmarks.md, issue 16's sixth round).

`settle()` runs once the app is built: one collection, then `gc.freeze()` moves every survivor to the permanent
generation, which later collections skip. Objects made afterwards (sessions, requests, caches' entries) are
collected as before; a frozen object that later dies is still freed by its reference count. The objects made
afterwards still grow with the agents, so full collections are also made ten times rarer (`FULL_COLLECTION_EVERY`).
"""

from __future__ import annotations

import gc

#: A full collection after this many collections of the middle generation (CPython's default: 10). Each one stops
#: the event loop while it traces every object made since startup, the sessions' included: 44–87 ms with 5,000
#: agents, about one every 2 s under load. Ten times rarer, they no longer set the saturated p99; the young
#: generations keep CPython's thresholds (docs/benchmarks.md, issue 16's ninth round).
FULL_COLLECTION_EVERY = 100


def settle() -> int:
    """Collect, freeze what survived and make full collections rarer; the number of objects now frozen."""
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
    return gc.get_freeze_count()
