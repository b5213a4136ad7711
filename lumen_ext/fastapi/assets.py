"""Everything a mounted dashboard's page loads, served by the host application under the mount's prefix.

* Bokeh's and the extensions' static files under ``{prefix}/static``: bokeh-fastapi (0.1.8) mounts them at
  ``/static`` but renders the page's ``<script>`` URLs under the prefix (``BokehFastAPI.resources`` joins the
  prefix to the root URL), so with a prefix every script would 404 without this.
* Panel's CDN and npm roots, the vendored fonts and the browser guards (:mod:`lumen_ext.serving.browser_guards`),
  at the routes :mod:`lumen_ext.serving.offline` points Panel at
  (the page then loads nothing from the internet), and Panel's favicon, which its template links relative to
  the page.
* The web-map tile proxy of :mod:`lumen_ext.serving.tiles` (the ``serving.tiles`` hook re-points tile sources
  at it).

Asset routes carry no auth dependency, as under ``lumen-ext serve``: they are the same files for every viewer.
"""

from __future__ import annotations

from fastapi import FastAPI, HTTPException, Path
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from lumen_ext.serving import browser_guards, offline, tiles

__all__ = ["mount_bokeh_static", "mount_runtime_assets"]


def mount_bokeh_static(app: FastAPI, prefix: str) -> None:
    """Bokeh's static files (and each Bokeh extension's, Panel's included) under ``{prefix}/static``."""
    from bokeh.embed.bundle import extension_dirs
    from bokeh.settings import settings

    if not prefix:
        return  # bokeh-fastapi's own /static mounts are where the page looks
    # Extensions first: Starlette matches mounts in order, and /static would swallow /static/extensions/...
    for name, path in extension_dirs.items():
        app.mount(f"{prefix}/static/extensions/{name}", StaticFiles(directory=path))
    app.mount(f"{prefix}/static", StaticFiles(directory=settings.bokehjs_path()))


def mount_runtime_assets(app: FastAPI, root: str, *, proxy_tiles: bool) -> None:
    """Panel's CDN files, the fonts, the favicon and the tile proxy under ``root`` (the prefix of lumen-ext's
    routes, which the public URL given to Panel ends with)."""
    from panel.io.resources import BUNDLE_DIR, DIST_DIR, JS_VERSION

    # Panel's CDN URLs carry its version (".../1.9.4/dist/..."); the installed dist is that version.
    app.mount(f"{root}{offline.CDN_ROUTE}{JS_VERSION}/dist", StaticFiles(directory=DIST_DIR))
    app.mount(f"{root}{offline.NPM_ROUTE}", StaticFiles(directory=BUNDLE_DIR))
    app.mount(f"{root}{offline.FONTS_ROUTE.rstrip('/')}", StaticFiles(directory=offline.FONTS_DIR))
    app.mount(
        f"{root}{browser_guards.GUARDS_ROUTE.rstrip('/')}", StaticFiles(directory=browser_guards.GUARDS_DIR)
    )

    favicon = DIST_DIR / "images" / "favicon.ico"

    @app.get(f"{root}/favicon.ico", include_in_schema=False)
    def panel_favicon() -> FileResponse:
        return FileResponse(favicon)

    if proxy_tiles:
        number = Path(pattern=r"^\d{1,8}$")  # as the Tornado route's pattern

        @app.get(f"{root}{tiles.ROUTE}{{tile_id}}/{{z}}/{{x}}/{{y}}", include_in_schema=False)
        async def tile(tile_id: str, z: str = number, x: str = number, y: str = number) -> Response:
            if not tiles.registered(tile_id):
                raise HTTPException(404)
            body, content_type, cacheable = await tiles.fetch_tile(tile_id, z, x, y)
            # Blank stand-ins must not be kept by the browser: the provider may be back on the next visit.
            cache = "public, max-age=86400" if cacheable else "no-store"
            return Response(body, media_type=content_type, headers={"Cache-Control": cache})
