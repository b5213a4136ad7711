"""lumen-ext's runtime in a FastAPI process: the hooks table's ``fastapi`` profile and Panel's local assets.

Both are process-wide, as under ``lumen-ext serve``: Panel reads its CDN roots once, when it is imported, and the
hooks replace attributes of Lumen, Panel and Bokeh for every session. So the first :func:`~lumen_ext.fastapi.mount`
installs them, and a later mount (another prefix) must ask for the same settings.
"""

from __future__ import annotations

import logging
import os
import sys

from lumen_ext.hooks.settings import Settings
from lumen_ext.serving import offline

__all__ = ["install", "use_local_assets"]

log = logging.getLogger("lumen_ext.fastapi")

_installed: Settings | None = None


def use_local_assets(root_url: str | None) -> None:
    """Point Panel's CDN roots at ``root_url`` (where this process serves Panel's files), before Panel loads.

    ``None`` (no public URL known) or Panel imported already: Panel keeps its CDN roots, and the page loads a few
    stylesheets (Font Awesome) from the internet; everything else is still served here.
    """
    if root_url is None:
        log.warning(
            "lumen_ext.fastapi: no public URL (public_url= or LUMEN_EXT_PUBLIC_URL); Panel loads some "
            "stylesheets from its CDN"
        )
        return
    wanted = root_url.rstrip("/") + offline.CDN_ROUTE
    if "panel" not in sys.modules:
        offline.use_local_cdn(root_url)
    elif os.environ.get("PANEL_CDN_ROOT") != wanted:
        log.warning(
            "lumen_ext.fastapi: Panel was imported before mount(), so its CDN roots cannot point at %s any more; "
            "call mount() before importing Panel to serve every asset locally",
            root_url,
        )


def install(settings: Settings) -> None:
    """``hooks.install("fastapi", settings)`` once per process; the same settings again change nothing."""
    global _installed
    if _installed is not None:
        if settings != _installed:
            raise ValueError(
                "lumen_ext.fastapi.mount: every mount of one process shares lumen-ext's runtime; pass the same "
                f"policy, cache, public URL and options as the first mount (it used {_installed})"
            )
        return
    import lumen_ext.sources.dask  # noqa: F401  # defines `type: dask` for Lumen's type lookup, as in serve
    from lumen_ext import hooks

    hooks.install("fastapi", settings)
    _installed = settings


def installed() -> Settings | None:
    return _installed
