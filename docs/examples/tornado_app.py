"""A Bokeh server built by hand: one Tornado route of its own and two lumen-ext dashboards.

Run it from the repository root::

    python docs/examples/tornado_app.py --port 5006

then open

    http://127.0.0.1:5006/api/hello          the program's own Tornado handler
    http://127.0.0.1:5006/penguins           the dashboards
    http://127.0.0.1:5006/stocks
    http://127.0.0.1:5006/readyz             lumen-ext's probes, metrics and data endpoint
    http://127.0.0.1:5006/data/penguins/penguins?species=Gentoo&format=csv

Served elsewhere (behind a proxy), set ``LUMEN_EXT_PUBLIC_URL`` to the URL browsers use, so Panel's files are
served by this server instead of its CDN. ``docs/tornado.md`` explains each part.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

# Bokeh and Tornado may be imported first; Panel (and Lumen, HoloViews) only after dashboards() below.
from bokeh.server.server import Server
from tornado.web import RequestHandler

from lumen_ext.tornado import dashboards, exit_after_stop

SPECS = Path(__file__).resolve().parents[2] / "specs"


class HelloHandler(RequestHandler):
    """The program's own route, next to the dashboards."""

    def initialize(self, dashboards: list[str]) -> None:
        self.dashboards = dashboards

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(json.dumps({"hello": "world", "dashboards": self.dashboards}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=5006)
    port = parser.parse_args().port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    public_url = os.environ.get("LUMEN_EXT_PUBLIC_URL", f"http://127.0.0.1:{port}")

    # First, before anything imports Panel: Panel's CDN roots point at this server, lumen-ext's runtime is installed.
    # chdir=True: the process moves to specs/, where the specs' relative paths (DuckDB's, the data endpoint's)
    # resolve, as under `lumen-ext serve`; a program that must keep its folder starts in specs/ or uses absolute paths.
    served = dashboards([SPECS / "penguins.yaml", SPECS / "stocks.yaml"], public_url=public_url, chdir=True)

    server = Server(
        served.applications,  # {"/penguins": ..., "/stocks": ...}
        port=port,
        address="127.0.0.1",
        allow_websocket_origin=[f"127.0.0.1:{port}"],
        extra_patterns=[
            (r"/api/hello", HelloHandler, {"dashboards": list(served.applications)}),
            *served.extra_patterns,
        ],
        **served.server_kwargs,
    )
    server.start()
    served.started(server)  # graceful stop on SIGTERM/SIGINT, start-up heap frozen
    print(f"tornado_app: serving {', '.join(served.applications)} at http://127.0.0.1:{port}", flush=True)
    server.io_loop.start()  # returns once a signal stopped the server
    exit_after_stop()


if __name__ == "__main__":
    main()
