"""The cyclic garbage collector in a serving process: what is built at startup is not traced again.

CPython's full collection traces every tracked object, however long it has lived. A serving process holds about
116,000 of them from startup on (modules, functions, SQLAlchemy's table metadata, the routes), and they never
die; the agents' sessions add more. A full collection stops the event loop while it traces them all, and every
request in flight waits that long (docs/benchmarks.md, issue 16's sixth round).

`settle()` runs once the app is built: one collection, then `gc.freeze()` moves every survivor to the permanent
generation, which later collections skip. Objects made afterwards (sessions, requests, caches' entries) are
collected as before; a frozen object that later dies is still freed by its reference count.
"""

from __future__ import annotations

import gc


def settle() -> int:
    """Collect, then freeze what survived; the number of objects now frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
