"""The tile proxy: fetches registered templates only, caches on disk, degrades to a blank tile when offline."""

from __future__ import annotations

import asyncio
import concurrent.futures
import http.server
import logging
import threading

import pytest

from lumen_ext.serving import tiles
from lumen_ext.serving.ports import free_port

JPEG_TILE = b"\xff\xd8\xff\xe0" + b"tile-bytes" * 10


class _TileServer(http.server.ThreadingHTTPServer):
    requests: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(JPEG_TILE)))
        self.end_headers()
        self.wfile.write(JPEG_TILE)

    def log_message(self, *args):  # keep pytest output clean
        pass


@pytest.fixture
def tile_server():
    server = _TileServer(("127.0.0.1", 0), _Handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("LUMEN_EXT_TILE_CACHE", str(tmp_path))
    monkeypatch.setattr(tiles, "_templates", {})
    monkeypatch.setattr(tiles, "_unreachable_since", {})
    monkeypatch.setattr(tiles, "_warned", set())
    monkeypatch.setattr(tiles, "_public_url", "http://127.0.0.1:5006")


def fetch(*args):
    """Run fetch_tile on a loop of its own: Playwright's sync API may own this thread's loop in the same session."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, tiles.fetch_tile(*args)).result()


def tile_id_of(url: str) -> str:
    return url.split(tiles.ROUTE)[1].split("/")[0]


def test_rewrites_xyz_templates_onto_this_server():
    url = tiles.proxied_url("https://tiles.example/{Z}/{Y}/{X}.jpg")
    assert url.startswith("http://127.0.0.1:5006/lumen-ext/tiles/")
    assert url.endswith("/{Z}/{X}/{Y}")
    assert tiles.proxied_url(url) == url, "an already proxied URL is left alone"


def test_keeps_templates_it_cannot_map():
    quadkey = "https://tiles.example/{Q}.png"
    assert tiles.proxied_url(quadkey) == quadkey


def test_fetches_once_then_serves_from_disk(tile_server):
    template = f"http://127.0.0.1:{tile_server.server_port}/{{Z}}/{{Y}}/{{X}}.jpg"
    tile_id = tile_id_of(tiles.proxied_url(template))
    first = fetch(tile_id, "3", "4", "5")
    second = fetch(tile_id, "3", "4", "5")
    assert first == (JPEG_TILE, "image/jpeg", True)
    assert second == (JPEG_TILE, "image/jpeg", True)
    assert tile_server.requests == ["/3/5/4.jpg"], (
        "the provider's Y/X order is kept and the second hit is cached"
    )


def test_unreachable_provider_gives_blank_tiles_and_one_warning(caplog):
    # Nothing listens on a free port: connections to it are refused at once.
    tile_id = tile_id_of(tiles.proxied_url(f"http://127.0.0.1:{free_port()}/{{Z}}/{{X}}/{{Y}}.png"))
    with caplog.at_level(logging.WARNING, logger=tiles.log.name):
        results = [fetch(tile_id, "1", "0", str(y)) for y in range(3)]
    assert all(result == (tiles.BLANK_TILE, "image/png", False) for result in results)
    assert len([r for r in caplog.records if "unreachable" in r.message]) == 1


def test_blank_tile_is_a_valid_transparent_png():
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(tiles.BLANK_TILE))
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0
