"""The Dask scheduler that ``type: dask`` sources compute on: operator configuration, one client per process.

Where data is computed is the operator's decision, never the spec's: a spec that could name a scheduler could
send the server's files and credentials to any host and run its graphs there. So the address comes only from
``lumen-ext serve --dask-scheduler`` or the ``LUMEN_EXT_DASK_SCHEDULER`` environment variable, and
:class:`~lumen_ext.sources.dask.DaskSource` has no parameter that could carry one. The setting is one of

``threads`` (the default)
    Dask's threaded scheduler inside the server process; no cluster, no client.
``local``
    A ``distributed.LocalCluster`` started on first use: scheduler, workers and dashboard bound to
    127.0.0.1, and ``LUMEN_EXT_DASK_WORKERS`` workers (default: up to 2) of ``LUMEN_EXT_DASK_THREADS``
    threads (default 2) with ``LUMEN_EXT_DASK_MEMORY_LIMIT`` of memory each (default ``2GiB``; the nanny
    restarts a worker that exceeds it).
``tcp://host:port`` (or ``tls://``, ``ws://``, ``wss://``)
    An existing cluster's scheduler. Its workers must be able to read the tables' paths (shared storage or
    URLs such as ``s3://``): they resolve local paths on their own hosts.

The client (and the LocalCluster) is created lazily by :func:`scheduler`, so importing this module, building
a plan or validating a spec never starts anything, and each process of ``--num-procs`` gets its own client
after the fork. :func:`close` shuts them down; it is registered with ``atexit`` when they start.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "SCHEDULER_ENV",
    "DaskSettings",
    "close",
    "configure",
    "describe",
    "parse_scheduler",
    "scheduler",
    "settings",
]

log = logging.getLogger("lumen_ext.dask")

SCHEDULER_ENV = "LUMEN_EXT_DASK_SCHEDULER"
WORKERS_ENV = "LUMEN_EXT_DASK_WORKERS"
THREADS_ENV = "LUMEN_EXT_DASK_THREADS"
MEMORY_ENV = "LUMEN_EXT_DASK_MEMORY_LIMIT"

THREADS, LOCAL = "threads", "local"
_ADDRESS = re.compile(r"^(tcp|tls|ws|wss)://[^\s/]+:\d{1,5}$")
_SIZE = re.compile(r"^\d+(\.\d+)?\s*([kmgt]i?b|b)?$", re.IGNORECASE)


@dataclass(frozen=True)
class DaskSettings:
    """Where ``type: dask`` sources compute, and the bounds of a LocalCluster."""

    scheduler: str = THREADS
    """``threads``, ``local`` or a scheduler address such as ``tcp://10.0.0.5:8786``."""

    n_workers: int = 2
    threads_per_worker: int = 2
    memory_limit: str = "2GiB"
    processes: bool = True
    """LocalCluster workers in their own processes (True: real parallelism, the memory limit is enforced) or
    as threads of the server process (False: starts in a fraction of a second; what the tests use; no memory
    limit, see :func:`_start_local_cluster`)."""

    connect_timeout: float = 10.0
    """Seconds to wait for a remote scheduler before the computation fails."""

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> DaskSettings:
        env = os.environ if environ is None else environ
        defaults = cls(n_workers=max(1, min(2, os.cpu_count() or 1)))
        return replace(
            defaults,
            scheduler=parse_scheduler(env.get(SCHEDULER_ENV) or THREADS),
            n_workers=_positive_int(env, WORKERS_ENV, defaults.n_workers),
            threads_per_worker=_positive_int(env, THREADS_ENV, defaults.threads_per_worker),
            memory_limit=_memory(env, MEMORY_ENV, defaults.memory_limit),
        )


def parse_scheduler(value: str) -> str:
    """The normalised setting, or ValueError saying what is accepted."""
    text = value.strip()
    if text.lower() in (THREADS, LOCAL):
        return text.lower()
    if _ADDRESS.match(text):
        return text
    raise ValueError(
        f"invalid Dask scheduler {value!r}: expected 'threads', 'local' or an address such as tcp://host:8786"
    )


def _positive_int(env: Any, name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        number = int(raw)
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return number


def _memory(env: Any, name: str, default: str) -> str:
    raw = env.get(name)
    if not raw:
        return default
    if not _SIZE.match(raw.strip()):
        raise ValueError(f"{name} must be a size such as 2GiB or 512MB, got {raw!r}")
    return raw.strip()


_lock = threading.Lock()
_settings: DaskSettings | None = None
_client: Any = None
_cluster: Any = None
_atexit_registered = False


def configure(settings: DaskSettings | str | None = None) -> DaskSettings:
    """Set where this process computes (``None``: from the environment); closes a client made for other settings.

    A string is a scheduler setting (``local``, an address) with the other bounds from the environment.
    """
    global _settings
    if settings is None or isinstance(settings, str):
        env_settings = DaskSettings.from_env()
        settings = (
            env_settings if settings is None else replace(env_settings, scheduler=parse_scheduler(settings))
        )
    with _lock:
        if _settings is not None and _settings != settings:
            _close_locked()
        _settings = settings
    return settings


def settings() -> DaskSettings:
    """The configured settings; read from the environment on first use when :func:`configure` was not called."""
    with _lock:
        current = _settings
    return current if current is not None else configure(None)


def scheduler() -> Any:
    """What to pass as ``scheduler=`` to ``dask.compute``: ``"threads"`` or this process's distributed Client."""
    global _client, _cluster, _atexit_registered
    current = settings()
    if current.scheduler == THREADS:
        return THREADS
    with _lock:
        if _client is not None and _client.status in ("running", "connecting", "newly-created"):
            return _client
        _close_locked()
        from distributed import Client

        if current.scheduler == LOCAL:
            _cluster = _start_local_cluster(current)
            _client = Client(_cluster, set_as_default=False)
        else:
            # set_as_default=False: only dask sources compute there, never Lumen's own `use_dask` file reads.
            _client = Client(current.scheduler, set_as_default=False, timeout=current.connect_timeout)
        log.info("Dask sources compute on %s", describe(current))
        if not _atexit_registered:
            atexit.register(close)
            _atexit_registered = True
        return _client


def _start_local_cluster(current: DaskSettings) -> Any:
    from distributed import LocalCluster

    # Never listen beyond this machine. Worker processes talk TCP on 127.0.0.1 (thread workers use the
    # in-process transport). The scheduler always runs an HTTP server (health, metrics and, with Bokeh, the
    # dashboard, which shows task names and data sizes); even with the dashboard "disabled" it binds port
    # 8787 on an address of its own choosing, so pin it to the loopback interface on a free port.
    where = {"host": "127.0.0.1"} if current.processes else {}
    # A thread worker's memory monitor measures the whole server process: once the server's sessions pass 80% of
    # the limit the worker pauses for good and every Dask computation waits forever. Only worker processes get one.
    return LocalCluster(
        n_workers=current.n_workers,
        threads_per_worker=current.threads_per_worker,
        memory_limit=current.memory_limit if current.processes else 0,
        processes=current.processes,
        dashboard_address="127.0.0.1:0",
        silence_logs=logging.WARNING,
        **where,
    )


def describe(current: DaskSettings | None = None) -> str:
    current = current or settings()
    if current.scheduler == THREADS:
        return "the threaded scheduler in this process"
    if current.scheduler == LOCAL:
        memory = f"{current.memory_limit} each" if current.processes else "this process's memory"
        kind = "processes" if current.processes else "threads of this process"
        return (
            f"a LocalCluster of {current.n_workers} worker(s) ({kind}) with {current.threads_per_worker} "
            f"thread(s) and {memory}"
        )
    return f"the Dask scheduler at {current.scheduler}"


def close() -> None:
    """Close this process's client and LocalCluster, if any (they are recreated on next use)."""
    with _lock:
        _close_locked()


def _close_locked() -> None:
    global _client, _cluster
    client, cluster, _client, _cluster = _client, _cluster, None, None
    for closable in (client, cluster):
        if closable is None:
            continue
        try:
            closable.close()
        except Exception:  # closing at exit or after the scheduler died: nothing left to release
            log.debug("closing %r failed", closable, exc_info=True)


def add_serve_arguments(parser: Any) -> None:
    """``--dask-scheduler`` for ``lumen-ext serve``."""
    parser.add_argument(
        "--dask-scheduler",
        metavar="local|threads|tcp://HOST:PORT",
        default=None,
        help="where `type: dask` sources compute: 'local' starts a bounded LocalCluster on 127.0.0.1, an "
        f"address uses an existing cluster (default: ${SCHEDULER_ENV}, else 'threads', in this process)",
    )


def configure_from_args(args: Any) -> str | None:
    """Apply ``--dask-scheduler`` (else the environment); the problem as text when a setting is invalid."""
    try:
        configure(getattr(args, "dask_scheduler", None))
    except ValueError as exc:
        return str(exc)
    return None
