"""lumen-ext's run-time integration with Lumen, Panel, Bokeh and HoloViews: the one place that changes them.

``install(profile, settings)`` installs, in the table's order, every hook of ``profile`` ("serve",
"lumen-serve", "precache", "explain").
"""

from __future__ import annotations

from lumen_ext.hooks.settings import Settings

__all__ = ["Settings", "install"]


def install(profile: str, settings: Settings) -> None:
    """Install the hooks of ``profile``. Idempotent."""
    from lumen_ext import cache
    from lumen_ext.security.policy import Policy
    from lumen_ext.security.runtime import harden
    from lumen_ext.serving import (
        busy_indicators,
        design_updates,
        lumen_workarounds,
        memory_release,
        offline,
        session_cleanup,
        spec_defaults,
        tabulator_selection,
        tabulator_styles,
        tiles,
        websocket_writes,
        widget_debounce,
    )
    from lumen_ext.views import datashader_hook, patching, reshade

    offline.replace_google_fonts()
    lumen_workarounds.apply()
    spec_defaults.install()
    session_cleanup.install()
    busy_indicators.install()
    memory_release.install()
    patching.install()
    reshade.install()
    widget_debounce.install()
    tabulator_styles.install()
    tabulator_selection.install()
    design_updates.install()
    websocket_writes.install()
    if settings.cache is not None:
        cache.install(settings.cache)
        datashader_hook.install()
    harden(settings.policy or Policy())
    if settings.proxy_tiles and settings.public_url is not None:
        tiles.proxy_tile_sources(settings.public_url)
