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
from typing import Any

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


def _local_font(url: str, public_url: str | None) -> str | None:
    root = (public_url or _public_url).rstrip("/")
    for marker, filename in LOCAL_FONT_CSS.items():
        if marker in url:
            return root + FONTS_ROUTE + filename
    return None


def local_font_resources(original: dict, settings: Any) -> dict:
    """A design's or template's ``_resources`` with its Google Fonts links swapped for the vendored copies (or
    dropped, leaving the browser's fallback font, where we ship none)."""
    replaced: dict = {}
    for kind, entries in original.items():
        if not isinstance(entries, dict):
            replaced[kind] = entries
            continue
        replaced[kind] = {}
        for name, url in entries.items():
            if not (isinstance(url, str) and "fonts.googleapis.com" in url):
                replaced[kind][name] = url
            elif (local := _local_font(url, settings.public_url)) is not None:
                replaced[kind][name] = local
            else:
                log.debug("No local copy of %s; the browser falls back to a system font", url)
    return replaced


def google_font_holders() -> list[str]:
    """``module:Class`` of every Panel design and template whose own ``_resources`` link Google Fonts (the hooks
    table's targets, checked against the installed Panel by a test)."""
    import param
    from panel.template.base import BaseTemplate
    from panel.theme.base import Design

    holders = []
    for base in (Design, BaseTemplate):
        for cls in [base, *param.concrete_descendents(base).values()]:
            resources = cls.__dict__.get("_resources")
            if isinstance(resources, dict) and "fonts.googleapis.com" in repr(resources):
                holders.append(f"{cls.__module__}:{cls.__qualname__}")
    return sorted(set(holders))


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
