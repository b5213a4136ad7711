"""Freed memory goes back to the OS once sessions closed, debounced (lumen_ext.serving.memory_release)."""

from __future__ import annotations

import asyncio
import ctypes
import platform
import re
from pathlib import Path

import pytest
from tornado.ioloop import IOLoop

from lumen_ext.serving import memory_release


def rss() -> int:
    return int(re.search(r"VmRSS:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_release_returns_freed_heap_pages_to_the_os():
    # Many small blocks (below glibc's mmap threshold, so they live in the heap's arenas), then free all but
    # the last one: it pins the top of the heap, so glibc's automatic trimming of the top cannot give the
    # space back; only malloc_trim's walk of the free chunks can.
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(64 * 1024) for _ in range(2000)]  # 125 MiB
    for block in blocks:  # touch every page, so it is resident
        ctypes.memset(block, 1, 64 * 1024)
    for block in blocks[:-1]:
        libc.free(block)
    freed_but_kept = rss()
    done = memory_release.release(collect=False)
    released = freed_but_kept - rss()
    libc.free(blocks[-1])
    assert done["malloc_trim"] is True
    assert released > 100 * 1024 * 1024, f"only {released / 2**20:.1f} MiB went back to the OS"


def test_release_collects_and_reports_the_arrow_pool():
    import pyarrow as pa  # loaded: the release then also empties Arrow's pool

    done = memory_release.release()
    assert done["arrow_pool"] == pa.default_memory_pool().backend_name
    assert isinstance(done["gc"], int) and done["ms"] >= done["gc_ms"] >= 0
    assert "gc" not in memory_release.release(collect=False)


def run_schedules(monkeypatch, spacing: float, count: int, quiet: float, longest: float) -> list[float]:
    """Destroy ``count`` sessions ``spacing`` s apart; the times (s from the first) at which releases ran."""
    ran: list[float] = []
    monkeypatch.setattr(memory_release, "release", lambda: ran.append(loop.time() - start) or {})

    async def destroys() -> None:
        for _ in range(count):
            memory_release._schedule(IOLoop.current(), quiet, longest)
            await asyncio.sleep(spacing)
        await asyncio.sleep(quiet + 0.2)

    async def main() -> None:
        nonlocal loop, start
        loop = asyncio.get_running_loop()
        start = loop.time()
        await destroys()

    loop, start = None, 0.0
    asyncio.run(main())
    return ran


def test_a_burst_of_closing_sessions_releases_once_after_the_quiet_time(monkeypatch):
    ran = run_schedules(monkeypatch, spacing=0.01, count=10, quiet=0.15, longest=5.0)
    assert len(ran) == 1
    assert ran[0] >= 0.1 + 0.15 * 0.9  # after the last destroy, plus the quiet time


def test_a_steady_trickle_still_releases_within_the_longest_wait(monkeypatch):
    # A destroy every 0.05 s never leaves 0.2 s of quiet; the release still runs every ~0.3 s.
    ran = run_schedules(monkeypatch, spacing=0.05, count=20, quiet=0.2, longest=0.3)
    assert 2 <= len(ran) <= 6
    assert ran[0] < 0.45
