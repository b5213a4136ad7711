"""The stage cache on and off for a test, through the hooks table (group ``cache``) as ``lumen-ext serve`` does."""

from __future__ import annotations

from lumen_ext import hooks
from lumen_ext.cache import CacheConfig, StageStore
from lumen_ext.cache.runtime import active_store


def install(config: CacheConfig | None = None) -> StageStore:
    """Enable the ``cache`` hooks with ``config`` (a new store when it differs from the running one)."""
    hooks.enable("cache", settings=hooks.Settings(cache=config or CacheConfig()))
    store = active_store()
    assert store is not None
    return store


def uninstall() -> None:
    """Lumen's own computation again, and no store (hooks that need the cache, e.g. Datashader's, go too)."""
    hooks.disable("cache")
