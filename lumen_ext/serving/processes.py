"""`lumen-ext serve --num-procs N`: options, and the stage cache set-up each process runs after the fork.

Bokeh's ``Server(num_procs=N)`` binds the listening socket, then forks N children inside
``HTTPServer.start(N)``; the parent only waits for them (``tornado.process.fork_processes``). Everything
that holds a connection or a thread must therefore be created *after* ``pn.serve(...)`` returns, in the
child. The stage cache may be installed before the fork: its Redis client is created lazily per process id
(:class:`~lumen_ext.cache.tiers.RedisTier`), files need no connection, and each child gets its own memory tier. Sessions stick to the
process that created them (their WebSocket does), so only the cache needs sharing: each process keeps its
memory tier and they share the second tier, Redis across hosts or a directory on one host.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

__all__ = ["cache_argument", "cache_config", "cache_from_environment", "configure", "problem"]

REDIS_URL_ENV = "LUMEN_EXT_REDIS_URL"
CACHE_DIR_ENV = "LUMEN_EXT_CACHE_DIR"


def configure(parser: argparse.ArgumentParser) -> None:
    """Add ``--num-procs``, ``--redis-url`` and ``--cache-dir`` to the ``serve`` parser."""
    parser.add_argument(
        "--num-procs",
        type=int,
        default=1,
        metavar="N",
        help="serve from N processes forked after binding the port (0: one per CPU; not on Windows). "
        "Give them a shared cache with --redis-url or --cache-dir",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get(REDIS_URL_ENV),
        metavar="URL",
        help=f"share computed pipeline stages through this Redis server, e.g. redis://127.0.0.1:6379/0 "
        f"(default: ${REDIS_URL_ENV})",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        metavar="DIR",
        help="share computed pipeline stages through files in DIR (processes of one host, no Redis)",
    )


def problem(args: argparse.Namespace) -> str | None:
    """A usage error in the scale-out options, or None. (``--no-cache`` wins over the cache options.)"""
    if args.num_procs < 0:
        return "--num-procs must be 0 (one per CPU) or more"
    if args.num_procs != 1 and os.name == "nt":
        return "--num-procs is not supported on Windows"
    return None


def cache_config(args: argparse.Namespace, **overrides: Any) -> Any:
    """The :class:`~lumen_ext.cache.CacheConfig` the options ask for."""
    from lumen_ext.cache import CacheConfig

    cache_dir = args.cache_dir.resolve() if args.cache_dir else None
    return CacheConfig(redis_url=args.redis_url or None, disk_dir=cache_dir, **overrides)


def cache_from_environment() -> Any:
    """The stage cache with the operator's second tier from the environment (``$LUMEN_EXT_REDIS_URL`` or
    ``$LUMEN_EXT_CACHE_DIR``): what `lumen serve`'s door, the Tornado door and every Uvicorn worker of the FastAPI
    door read, since none of them has a command line of lumen-ext's."""
    from lumen_ext.cache import CacheConfig

    cache_dir = os.environ.get(CACHE_DIR_ENV)
    return CacheConfig(
        redis_url=os.environ.get(REDIS_URL_ENV) or None,
        disk_dir=Path(cache_dir).resolve() if cache_dir else None,
    )


def cache_argument(cache: Any) -> Any:
    """The ``cache=`` of the embedding doors: ``True`` (:func:`cache_from_environment`), a ``CacheConfig``, or
    ``False``/``None`` (no stage cache)."""
    from lumen_ext.cache import CacheConfig

    if cache is True:
        return cache_from_environment()
    if cache is False or cache is None:
        return None
    if not isinstance(cache, CacheConfig):
        raise TypeError(f"cache must be True, False or a CacheConfig, not {type(cache).__name__}")
    return cache
