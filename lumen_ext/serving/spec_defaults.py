"""A spec's ``defaults:`` apply to its own dashboard only, not to every dashboard of the process.

Lumen 1.4's ``Defaults.apply`` (lumen/dashboard.py:420-427) sets class-level parameter defaults: ``Download``'s, and
those of the Filter, Source, Transform and View types a spec names, and never puts them back. In a process serving
several specs (``lumen-ext serve a.yaml b.yaml``, ``lumen serve a.yaml b.yaml``), once a viewer opened ``a``, every
later session of ``b`` is built with ``a``'s defaults: ``specs/rides_dask.yaml`` declares no download, yet after
``specs/earthquakes.yaml`` (``download: {format: csv}``) was opened each of its views had a CSV download button.

Two hooks (``serving.lumen-fixes.defaults`` in :mod:`lumen_ext.hooks.table`) replace two Lumen methods:

* ``Defaults.apply`` first puts back every class default an earlier ``apply`` changed, then applies the spec's own:
  each dashboard starts from Lumen's defaults plus its spec's. It is Lumen's method rewritten, not wrapped: Lumen's
  sets the named types' defaults with ``param.set_param``, which param 2 removed, so under the pinned stack a spec
  with ``defaults: views:`` (or ``filters``, ``sources``, ``transforms``) failed to load with an AttributeError.
* ``Dashboard._load_layout`` applies its dashboard's defaults again before it builds a layout. Layouts are built
  after the session's document loads, and other tabs when first opened, so a session of another spec may have
  applied its defaults in between. Lumen builds layouts on the server's one IOLoop thread (with
  ``config.background_load`` on a thread pool, where this can still race).

The hooks table fingerprints both Lumen methods; ``tests/serving/test_spec_defaults.py`` shows the leak and the fix.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["layout_with_own_defaults", "scoped_apply"]

# (class, parameter name) -> the default it had before any spec's `defaults:` changed it.
_pristine: dict[tuple[type, str], Any] = {}
_lock = threading.Lock()


def scoped_apply(original: Any, settings: Any) -> Callable[[Any], None]:
    return _scoped_apply


def layout_with_own_defaults(original: Any, settings: Any) -> Callable[[Any, dict[str, Any]], Any]:
    def _load_layout(self: Any, layout_spec: dict[str, Any]) -> Any:
        self.defaults.apply()
        return original(self, layout_spec)

    return _load_layout


def _targets(defaults: Any) -> list[tuple[type, dict[str, Any]]]:
    """The classes ``defaults`` sets parameters on, with those parameters, as ``Defaults.apply`` resolves them."""
    from lumen.dashboard import Download, Filter, Source, Transform, View

    targets: list[tuple[type, dict[str, Any]]] = [(Download, dict(defaults.download))]
    for family, entries in (
        (Filter, defaults.filters),
        (Source, defaults.sources),
        (Transform, defaults.transforms),
        (View, defaults.views),
    ):
        for entry in entries:
            params = dict(entry)
            targets.append((family._get_type(params.pop("type")), params))
    return targets


def _scoped_apply(self: Any) -> None:
    """``Defaults.apply`` on class defaults restored to what they were before any spec changed them."""
    with _lock:
        for (cls, name), value in _pristine.items():
            # Set on the Parameter, not through `update`: a default such as `Download.format = None` is not a
            # value the parameter accepts. `cls` owns this Parameter: param copied it there when `update` set it.
            cls.param[name].default = value
        for cls, params in _targets(self):
            for name in params:
                _pristine.setdefault((cls, name), cls.param[name].default)
            # Lumen calls `param.set_param` here, which param 2 removed; `update` is its successor.
            cls.param.update(params)
