"""Guards that run in the viewer's browser, for BokehJS races the server cannot prevent.

Each guard is a small script under ``assets/guards``, served by this server (:func:`routes`) and listed in Panel's
``config.js_files``, which Panel's page resources load after BokehJS, on every page of every template. A guard
wraps one BokehJS method and names the race it covers; its hook row fingerprints that method's source in the
installed ``bokeh.js`` (``lumen_ext/hooks/drift.py``), so an upgrade that changes it fails a test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["GUARDS_ROUTE", "add_plot_layout_guard", "remove_plot_layout_guard", "routes"]

GUARDS_ROUTE = "/lumen-ext/guards/"
GUARDS_DIR = Path(__file__).parent / "assets" / "guards"
PLOT_LAYOUT_GUARD = "bokeh_layout_guard.js"
_ENTRY = "lumen_ext_plot_layout_guard"


def add_plot_layout_guard(settings: Any) -> None:
    """Load ``bokeh_layout_guard.js`` on every page: a reload no longer measures a Figure before its layout exists."""
    from panel.config import config

    # Under the server's public URL, as the local CDN and fonts are (:mod:`lumen_ext.serving.offline`): the FastAPI
    # door serves lumen-ext's routes under its prefix. Without one, a path from the server root, which Panel
    # rewrites relative to each page (``Resources.adjust_paths``).
    root = (settings.public_url or "").rstrip("/")
    config.js_files = {**config.js_files, _ENTRY: root + GUARDS_ROUTE + PLOT_LAYOUT_GUARD}


def remove_plot_layout_guard() -> None:
    from panel.config import config

    config.js_files = {name: url for name, url in config.js_files.items() if name != _ENTRY}


def routes() -> list[tuple]:
    """The Tornado route serving the guards' scripts."""
    from tornado.web import StaticFileHandler

    return [(rf"{GUARDS_ROUTE}(.*)", StaticFileHandler, {"path": str(GUARDS_DIR)})]
