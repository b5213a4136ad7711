"""Hand memory freed by closed sessions back to the operating system, installed by `lumen-ext serve`.

Once :mod:`lumen_ext.serving.session_cleanup` dropped a destroyed session's objects, the Python heap is back
to its size before the session (the memory tests count documents, objects and holders). The process's RSS is
not: the freed blocks stay with the allocators that served them, for the process's next allocations.

* glibc's ``malloc`` keeps freed memory in its arenas (one per thread that allocated: Bokeh's and Panel's
  executors, DuckDB's and Arrow's workers) unless the free space sits at the very top of the heap.
  ``malloc_trim(0)`` returns every free page of every arena (``madvise(MADV_DONTNEED)``); Dask's distributed
  does the same in its ``trim_memory``.
* pyarrow's default memory pool (jemalloc or mimalloc in the wheels) keeps freed pages for reuse;
  ``release_unused()`` hands them back.
* CPython's own allocator (pymalloc) returns an arena only when every object in it is gone; arenas that
  kept one long-lived object stay. That part is out of reach at run time; starting the server with
  ``PYTHONMALLOC=malloc`` puts small objects in glibc's heap, where ``malloc_trim`` reaches them (measured in
  bench/README.md).

:func:`install` arms a timer on the server's IOLoop each time a session is destroyed; when no session was
destroyed for ``quiet`` seconds (or ``longest`` seconds passed since the first pending destroy, so a steady
trickle of closing sessions still gets a release), it runs :func:`release` once. The release starts with a
full collection: the destroyed sessions' objects are in reference cycles, and until they are collected there
is nothing to hand back (trimming without it, after Panel's own debounced collection had not yet run, freed
nothing in the 100-user load test). That pass blocks the IOLoop once per burst of closing sessions (0.4-1.7 s
measured with 30-100 sessions' garbage); Panel's own collection 5 s after the last destroy then finds little.
Never per interaction, and a no-op where there is no glibc (musl, macOS, Windows) or no pyarrow loaded.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
import threading
import time
from typing import Any

__all__ = ["release", "release_after_sessions"]

log = logging.getLogger(__name__)

QUIET_SECONDS = 2.0
LONGEST_SECONDS = 30.0

_lock = threading.Lock()
_timer: Any = None  # the IOLoop timeout handle of the pending release
_first_pending: float | None = None
last_release: dict[str, Any] = {}  # what the latest release did and took (for probes and logs)


def _glibc_malloc_trim():
    """glibc's ``malloc_trim``, or None when the C library is not glibc."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        # gnu_get_libc_version exists only in glibc: musl has no malloc_trim worth calling.
        libc.gnu_get_libc_version  # noqa: B018
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _glibc_malloc_trim()


def _rss() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def release(collect: bool = True) -> dict[str, Any]:
    """Return the allocators' free memory to the OS (after a full collection if ``collect``); what was done."""
    rss_before = _rss()
    steps: dict[str, float] = {}
    clock = time.perf_counter()
    done: dict[str, Any] = {}
    if collect:
        done["gc"] = gc.collect()
        steps["gc_ms"], clock = (time.perf_counter() - clock) * 1e3, time.perf_counter()
    pyarrow = sys.modules.get("pyarrow")  # only when something loaded it: importing it costs ~40 MiB
    if pyarrow is not None:
        pool = pyarrow.default_memory_pool()
        pool.release_unused()
        done["arrow_pool"] = pool.backend_name
        steps["arrow_ms"], clock = (time.perf_counter() - clock) * 1e3, time.perf_counter()
    if _malloc_trim is not None:
        done["malloc_trim"] = bool(_malloc_trim(0))
        steps["trim_ms"] = (time.perf_counter() - clock) * 1e3
    done.update({k: round(v, 1) for k, v in steps.items()})
    done["ms"] = round(sum(steps.values()), 1)
    done["rss_before"], done["rss_after"] = rss_before, _rss()
    return done


def release_after_sessions(
    settings: Any = None, quiet: float = QUIET_SECONDS, longest: float = LONGEST_SECONDS
) -> None:
    """Release memory after sessions are destroyed, debounced on the server's IOLoop (the hooks registry calls it
    once per process)."""
    import panel as pn

    def on_destroyed(session_context: Any) -> None:  # Bokeh requires this parameter name
        from tornado.ioloop import IOLoop

        _schedule(IOLoop.current(), quiet, longest)

    pn.state.on_session_destroyed(on_destroyed)


def _schedule(loop: Any, quiet: float, longest: float) -> None:
    global _timer, _first_pending
    now = time.monotonic()
    with _lock:
        if _first_pending is None:
            _first_pending = now
        if _timer is not None:
            loop.remove_timeout(_timer)
        # The release waits for a quiet moment, but never longer than `longest` after the first destroy.
        delay = max(0.0, min(quiet, _first_pending + longest - now))
        _timer = loop.call_later(delay, _release_logged)


def _release_logged() -> None:
    global _timer, _first_pending
    with _lock:
        _timer, _first_pending = None, None
    try:
        done = release()
    except Exception:  # a failed release must not take the IOLoop callback down with it
        log.exception("could not release memory after sessions closed")
        return
    last_release.clear()
    last_release.update(done)
    log.info(
        "sessions closed: RSS %.0f -> %.0f MiB after returning free memory to the OS (%.0f ms)",
        done["rss_before"] / 2**20,
        done["rss_after"] / 2**20,
        done["ms"],
    )
