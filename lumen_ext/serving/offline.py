"""Make served dashboards independent of the internet.

Panel builds CDN URLs (cdn.holoviz.org, cdn.jsdelivr.net) into module constants and class attributes at import
time, and its Material template, Lumen's default, links Google Fonts. A dashboard behind a firewall then renders
without icons, fonts or theme CSS and its console fills with errors. Panel reads the two CDN roots from the
environment, so pointing them at routes of this server *before Panel is imported* moves every such URL here;
Google Fonts have no Panel setting, so their links are swapped for fonts vendored under ``assets/fonts`` (or
dropped, leaving the browser's fallback font, when we ship no copy).

The roots must be absolute ``http(s)://`` URLs: Panel treats anything else as a path inside its own package. So
they name the server's public URL, which is its bind address unless a proxy puts it elsewhere (``--public-url``).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)

CDN_ROUTE = "/lumen-ext/cdn/"
NPM_ROUTE = "/lumen-ext/npm"
FONTS_ROUTE = "/lumen-ext/fonts/"
_public_url = ""
FONTS_DIR = Path(__file__).parent / "assets" / "fonts"

# Google Fonts stylesheets we ship a local copy of, by the family named in the URL.
LOCAL_FONT_CSS = {
    "family=Roboto": "roboto.css",
    "family=Material+Icons": "material-icons.css",
}


def use_local_cdn(public_url: str) -> None:
    """Point Panel's CDN and npm roots at this server. Must run before ``panel`` is first imported."""
    global _public_url
    if "panel" in sys.modules:
        raise RuntimeError(
            "use_local_cdn() must run before Panel is imported; its CDN URLs are import-time constants"
        )
    _public_url = public_url.rstrip("/")
    os.environ["PANEL_CDN_ROOT"] = _public_url + CDN_ROUTE
    os.environ["PANEL_NPM_CDN"] = _public_url + NPM_ROUTE
    # Bokeh's own JS and CSS from this server rather than cdn.bokeh.org.
    os.environ["BOKEH_RESOURCES"] = "server"


def _local_font(url: str) -> str | None:
    for marker, filename in LOCAL_FONT_CSS.items():
        if marker in url:
            return _public_url + FONTS_ROUTE + filename
    return None


def replace_google_fonts() -> list[str]:
    """Rewrite Google Fonts links in Panel's designs and templates; returns the URLs that had no local copy."""
    import param
    from panel.template.base import BaseTemplate
    from panel.theme.base import Design

    dropped = []
    for base in (Design, BaseTemplate):
        for cls in [base, *param.concrete_descendents(base).values()]:
            resources = cls.__dict__.get("_resources")
            if not isinstance(resources, dict):
                continue
            for entries in resources.values():
                if not isinstance(entries, dict):
                    continue
                for name, url in list(entries.items()):
                    if isinstance(url, str) and "fonts.googleapis.com" in url:
                        local = _local_font(url)
                        if local is None:
                            dropped.append(url)
                            del entries[name]
                        else:
                            entries[name] = local
    if dropped:
        log.debug("No local copy of %s; the browser falls back to a system font", sorted(set(dropped)))
    return dropped


def static_routes() -> list[tuple]:
    """Tornado routes serving what the rewritten CDN URLs point at."""
    from panel.io.resources import BUNDLE_DIR, DIST_DIR
    from tornado.web import StaticFileHandler

    return [
        # CDN URLs carry Panel's version (".../1.9.4/dist/..."); the installed dist is that version.
        (rf"{CDN_ROUTE}[^/]+/dist/(.*)", StaticFileHandler, {"path": str(DIST_DIR)}),
        (rf"{NPM_ROUTE}/(.*)", StaticFileHandler, {"path": str(BUNDLE_DIR)}),
        (rf"{FONTS_ROUTE}(.*)", StaticFileHandler, {"path": str(FONTS_DIR)}),
    ]
