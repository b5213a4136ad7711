"""Stopping `lumen-ext serve` the way a supervisor expects: one signal to the main PID ends every process, in order.

With ``--num-procs N`` Bokeh binds the port, then Tornado forks N workers and the parent only waits for them
(``tornado.process.fork_processes``): a worker that dies by a signal, or exits non-zero, is started again, and a
SIGTERM to the parent ends the parent alone, leaving its workers serving old code on the port. So:

* the parent (:func:`forward_to_workers`, installed before the fork) passes SIGTERM and SIGINT on to its workers and
  gives them :data:`GRACE_SECONDS` (plus a margin) before it kills what is left and exits;
* each worker, and a single-process server (:func:`stop_on_signals`), stops gracefully on SIGTERM or SIGINT: it
  stops accepting connections, closes every session's WebSocket with a close frame (1001, going away), waits for
  the callbacks in flight (at most :data:`GRACE_SECONDS`), logs one line and leaves its IOLoop; the process then
  exits 0 (:func:`exit_after_stop`), so Tornado's parent does not restart it;
* a worker whose parent died (killed with SIGKILL, say) notices within a second and stops the same way.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any, NoReturn

__all__ = ["GRACE_SECONDS", "exit_after_stop", "forward_to_workers", "stop_on_signals"]

log = logging.getLogger("lumen_ext.serve")

# How long a stopping process waits for the callbacks in flight; the parent waits a little longer for its workers.
GRACE_SECONDS = 5.0
_PARENT_MARGIN = 3


def _children(parent: int) -> list[int]:
    """PIDs of ``parent``'s child processes (Linux ``/proc``)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        with contextlib.suppress(OSError):
            for line in status.read_text().splitlines():
                if line.startswith("PPid:"):
                    if int(line.split()[1]) == parent:
                        found.append(int(status.parent.name))
                    break
    return found


def forward_to_workers() -> None:
    """In the process that is about to fork workers: pass SIGTERM/SIGINT on to them, then wait for them."""
    parent = os.getpid()

    def kill_stragglers(signum: int, frame: Any) -> None:
        left = _children(parent)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        log.error("lumen-ext: %d worker(s) did not stop within the grace period and were killed", len(left))
        os._exit(1)  # at once: Tornado's wait loop would start new workers for the killed ones

    def forward(signum: int, frame: Any) -> None:
        if os.getpid() != parent:
            return  # a worker between the fork and its own handler: it installs one within moments
        workers = _children(parent)
        log.info("lumen-ext: %s: stopping %d worker(s)", signal.Signals(signum).name, len(workers))
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        # Tornado's loop collects the workers as they exit 0, then exits the parent; the alarm is the backstop.
        signal.signal(signal.SIGALRM, kill_stragglers)
        signal.alarm(int(GRACE_SECONDS) + _PARENT_MARGIN)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)


def stop_on_signals(server: Any, parent: int | None = None) -> None:
    """Stop ``server`` (a started Bokeh server) gracefully on SIGTERM/SIGINT, or when ``parent`` exits."""
    from tornado.ioloop import PeriodicCallback

    loop = server.io_loop
    stopping: list[str] = []

    def request(reason: str) -> None:
        if not stopping:
            stopping.append(reason)
            # Stopping already: a second signal (the parent forwards the one a process group got too) must not
            # kill the process on its way out, or Tornado's parent would count a crash and start a new worker.
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            loop.add_callback(_stop, server, reason)

    def on_signal(signum: int, frame: Any) -> None:
        loop.add_callback_from_signal(request, signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if parent is not None:
        watch = PeriodicCallback(
            lambda: os.getppid() != parent and request("the parent process exited"), 1000
        )
        watch.start()


async def _stop(server: Any, reason: str) -> None:
    import asyncio

    import panel as pn

    started = time.monotonic()
    server.unlisten()  # no new connections
    # Bokeh keeps its connections in BokehTornado._clients (read only: there is no public list).
    connections = list(getattr(server._tornado, "_clients", ()))
    for connection in connections:
        with contextlib.suppress(Exception):  # a socket that is already gone
            connection._socket.close(1001, "server shutting down")
    while pn.state._busy_counter and time.monotonic() - started < GRACE_SECONDS:
        await asyncio.sleep(0.05)
    unfinished = len(pn.state._busy_counter)
    log.info(
        "lumen-ext: stopped (%s): %d session(s) closed, %s in %.1f s",
        reason,
        len(connections),
        f"{unfinished} callback(s) cut short" if unfinished else "no callback cut short",
        time.monotonic() - started,
    )
    server.io_loop.stop()


def exit_after_stop() -> NoReturn:
    """End the process with status 0 once :func:`_stop` has run, without the interpreter's finalization.

    Sessions are closed and callbacks finished by then. Finalizing the interpreter would destroy DuckDB's native
    threads while they are still joinable ("terminate called without an active exception", SIGABRT or SIGSEGV
    seen on a worker with a DuckDB source), and Tornado's parent would take the crash for a reason to start a new
    worker. So the operator's clean-ups run explicitly (the Dask cluster lumen-ext started, the log handlers), then
    the process leaves.
    """
    import sys

    from lumen_ext.sources import cluster

    with contextlib.suppress(Exception):  # a cluster that failed to close must not keep the process alive
        cluster.close()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
