"""One attribute of a third-party class or module replaced at run time by ours, and put back on uninstall.

lumen-ext works around Panel's, Lumen's and Bokeh's behaviour without editing site-packages: a module replaces a
method (``Tabulator._update_selected``, ``Pipeline._update_data``, ...) when its ``install()`` runs, and restores it
on ``uninstall()``. :class:`Replacement` is that pair, thread-safe and idempotent, with the original kept for the
replacement to call. The owner is named by import path and imported on first use, so a module declaring a
replacement imports neither Panel nor Lumen until it installs (``lumen-ext validate`` imports neither).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["Replacement"]


class Replacement:
    """``owner.name`` replaced by ``make(original)`` while installed.

    ``owner`` is ``"package.module:Class"`` or ``"package.module"``. A class's own attribute is replaced (never
    one it inherits: putting it back would then leave an override behind), a module's by name.
    """

    def __init__(self, owner: str, name: str, make: Callable[[Any], Any]):
        self.owner, self.name, self._make = owner, name, make
        self._lock = threading.Lock()
        self._original: Any = None

    def _target(self) -> Any:
        module, _, cls = self.owner.partition(":")
        target = importlib.import_module(module)
        return getattr(target, cls) if cls else target

    def install(self) -> None:
        """Idempotent."""
        with self._lock:
            if self._original is None:
                target = self._target()
                original = vars(target)[self.name]
                setattr(target, self.name, self._make(original))
                self._original = original

    def uninstall(self) -> None:
        """Idempotent; objects that took the replacement before (a bound method kept somewhere) keep it."""
        with self._lock:
            if self._original is not None:
                setattr(self._target(), self.name, self._original)
            self._original = None

    @property
    def installed(self) -> bool:
        return self._original is not None

    def is_installed(self) -> bool:
        """``installed``, as the function a module exports beside ``install`` and ``uninstall``."""
        return self.installed

    @property
    def original(self) -> Any:
        """What ``owner.name`` was before install (None when not installed)."""
        return self._original
