"""Pause CPython's cyclic garbage collector while a spec is parsed and checked.

Validation allocates a few objects per character of the spec (events, nodes, index entries, values,
diagnostics), none of them in a reference cycle worth collecting while it runs. The collector still walks them
as they pile up: full passes over every live object, more of them the larger the file. On a 1.3 MB spec that was
two thirds of the load time and grew faster than the file (0.13 s at 150 kB, 1.9 s at 1.3 MB); the first check
after the load then paid another 0.9 s for a pass over the million objects the load left. Paused, the work is
linear (0.54 s per MB to load). When validation returns, reference counting frees the spec's objects at once,
so the collector finds little left to do when it resumes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """Disable the collector for the block; re-enable it only if it was enabled (calls nest)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
