"""lumen-ext's own Lumen source types.

Lumen resolves ``type: <name>`` among the *imported* subclasses of ``Source``, so importing
``lumen_ext.sources.dask`` is what makes ``type: dask`` work (``lumen-ext serve`` does it). Under plain
``lumen serve`` name the class by its dotted path instead: ``type: lumen_ext.sources.dask.DaskSource``.
This package itself stays light (no Lumen, Panel or Dask import), so the CLI can read ``cluster`` settings
before Panel is configured.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DaskSource"]


def __getattr__(name: str) -> Any:
    if name == "DaskSource":
        from lumen_ext.sources.dask import DaskSource

        return DaskSource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
