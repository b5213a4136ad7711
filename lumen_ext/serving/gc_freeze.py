"""Keep the start-up heap out of the garbage collector's full passes, applied by `lumen-ext serve`.

A server process imports Panel, Bokeh, Lumen, pandas, DuckDB and their dependencies before it serves anything:
about a million container objects that live as long as the process. CPython's full collection (generation 2)
visits every tracked object each time, and it runs whenever the objects that survived younger collections
reach a quarter of the old generation: while sessions are being built (each one allocates tens of thousands of
objects) that is every few sessions. Each pass then walks the whole start-up heap again; on this machine a
pass took up to ~1 s with 30 sessions open, and the IOLoop (every session's interactions) waits for it.

:func:`freeze_startup_heap` collects once, then moves everything alive into the permanent generation
(:func:`gc.freeze`, as Python's documentation recommends for a pre-fork server): later passes visit only what
sessions and caches allocated. Objects frozen are never collected as cycles; at start-up they are modules,
classes, functions and configuration that live as long as the process anyway. Called once, just before the
IOLoop starts (after ``--num-procs`` forked, so each process freezes its own heap).
"""

from __future__ import annotations

import gc
import logging
import time

__all__ = ["freeze_startup_heap"]

log = logging.getLogger(__name__)


def freeze_startup_heap() -> int:
    """Collect, then exclude every object alive now from future collections; how many were frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.debug("froze %d start-up objects in %.0f ms", frozen, (time.perf_counter() - started) * 1e3)
    return frozen
