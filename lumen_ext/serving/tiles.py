"""Serve web-map tiles through this server.

hvPlot's ``tiles: EsriStreet`` makes every viewer's browser fetch tiles straight from the provider: an offline or
firewalled deployment then shows console errors instead of a basemap, and the provider sees every viewer. Here each
tile source a dashboard creates is re-pointed at ``/lumen-ext/tiles/<id>/{Z}/{X}/{Y}`` on this server, which fetches
the tile once, keeps it in a disk cache and serves it. When the provider cannot be reached the route answers with a
transparent tile and logs one warning, so the map still draws (without its basemap) and the page stays clean.

Only URL templates registered by the server's own tile sources can be fetched, so the route is not an open proxy.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import struct
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

ROUTE = "/lumen-ext/tiles/"
FETCH_TIMEOUT = 5.0  # seconds; a slow provider should not hold a viewer's map for long
RETRY_AFTER = 60.0  # seconds an unreachable provider is not asked again: one timeout, not one per tile
_templates: dict[str, str] = {}  # id -> upstream URL template
_unreachable_since: dict[str, float] = {}  # id -> monotonic time of the last failure
_warned: set[str] = set()  # ids whose outage was logged: once, however many tiles were in flight
_public_url = ""


def _transparent_png() -> bytes:
    """A 1x1 fully transparent PNG; the browser scales it to the tile size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)  # 1x1, 8-bit RGBA
    pixels = zlib.compress(b"\x00\x00\x00\x00\x00")  # filter byte + one transparent pixel
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


BLANK_TILE = _transparent_png()


def cache_dir() -> Path:
    root = os.environ.get("LUMEN_EXT_TILE_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")
    )
    return Path(root) / "lumen-ext" / "tiles"


def proxied_url(template: str) -> str:
    """The URL on this server standing for an upstream ``{Z}/{X}/{Y}`` template (other templates are kept)."""
    if not all(part in template for part in ("{Z}", "{X}", "{Y}")) or template.startswith(
        _public_url + ROUTE
    ):
        return template
    tile_id = hashlib.sha256(template.encode()).hexdigest()[:16]
    _templates[tile_id] = template
    return f"{_public_url}{ROUTE}{tile_id}/{{Z}}/{{X}}/{{Y}}"


def proxying_init(original: Any, settings: Any) -> Any:
    """``TileSource.__init__`` that re-points every Bokeh tile source created from now on at this server."""
    global _public_url
    _public_url = settings.public_url.rstrip("/")

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if getattr(self, "url", None):
            self.url = proxied_url(self.url)

    return __init__


def registered(tile_id: str) -> bool:
    """Whether ``tile_id`` names a template one of this process's tile sources registered (the proxy serves no
    other: it is not an open proxy)."""
    return tile_id in _templates


def _download(url: str) -> tuple[bytes, str]:
    request = urllib.request.Request(url, headers={"User-Agent": "lumen-ext tile proxy"})
    with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
        return response.read(), response.headers.get_content_type()


def _image_type(body: bytes) -> str:
    for magic, content_type in (
        (b"\x89PNG", "image/png"),
        (b"\xff\xd8", "image/jpeg"),
        (b"RIFF", "image/webp"),
    ):
        if body.startswith(magic):
            return content_type
    return "application/octet-stream"


async def fetch_tile(tile_id: str, z: str, x: str, y: str) -> tuple[bytes, str, bool]:
    """(body, content type, cacheable): from the disk cache, else the provider, else a blank stand-in."""
    path = cache_dir() / tile_id / z / x / y
    if path.is_file():
        body = path.read_bytes()
        return body, _image_type(body), True
    failed_at = _unreachable_since.get(tile_id)
    if failed_at is not None and time.monotonic() - failed_at < RETRY_AFTER:
        return BLANK_TILE, "image/png", False
    template = _templates[tile_id]
    url = template.replace("{Z}", z).replace("{X}", x).replace("{Y}", y)
    try:
        # A worker thread under wait_for: on timeout the thread's late failure is dropped quietly, where an
        # abandoned Tornado fetch would log its DNS error as an unhandled exception.
        body, content_type = await asyncio.wait_for(asyncio.to_thread(_download, url), FETCH_TIMEOUT + 1)
    except (TimeoutError, OSError, urllib.error.URLError, ValueError) as exc:
        if tile_id not in _warned:
            _warned.add(tile_id)
            log.warning("Tile server unreachable (%s); serving blank tiles for %s", exc, template)
        _unreachable_since[tile_id] = time.monotonic()
        return BLANK_TILE, "image/png", False
    _unreachable_since.pop(tile_id, None)
    _warned.discard(tile_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    partial.write_bytes(body)
    partial.replace(path)  # atomic: a concurrent reader never sees half a tile
    return body, content_type, True


def _tile_handler():
    from tornado.web import HTTPError, RequestHandler

    class TileHandler(RequestHandler):
        async def get(self, tile_id: str, z: str, x: str, y: str) -> None:
            if not registered(tile_id):
                raise HTTPError(404)
            body, content_type, cacheable = await fetch_tile(tile_id, z, x, y)
            self.set_header("Content-Type", content_type)
            # Blank stand-ins must not be kept by the browser: the provider may be back on the next visit.
            self.set_header("Cache-Control", "public, max-age=86400" if cacheable else "no-store")
            self.finish(body)

    return TileHandler


def tile_routes() -> list[tuple]:
    number = r"(\d{1,8})"
    return [(rf"{re.escape(ROUTE)}([0-9a-f]{{16}})/{number}/{number}/{number}", _tile_handler())]
