"""The Tornado door: lumen-ext dashboards on a Bokeh ``Server`` you build yourself, next to your own routes.

``lumen-ext serve`` builds its server with :func:`dashboards` too; here the host program owns the ``Server`` (its
port, its other Tornado handlers, its OAuth provider, its IOLoop)::

    from lumen_ext.tornado import dashboards

    served = dashboards(["specs/penguins.yaml", "specs/stocks.yaml"], public_url="http://127.0.0.1:5006")

    from bokeh.server.server import Server

    server = Server(
        served.applications,                                  # {"/penguins": Application, ...}
        extra_patterns=[(r"/api/hello", Hello), *served.extra_patterns],
        port=5006,
        address="127.0.0.1",
        allow_websocket_origin=["127.0.0.1:5006"],
        **served.server_kwargs,                               # WebSocket message limit, session lifetimes
    )
    server.start()
    served.started(server)      # graceful stop on SIGTERM/SIGINT, start-up heap out of the GC's full passes
    server.io_loop.start()

The names follow Bokeh's ``Server(applications, extra_patterns=..., **kwargs)``; with Panel's ``pn.serve`` pass
``served.routes`` as ``extra_patterns`` (``pn.serve`` adds Panel's own route, which ``extra_patterns`` carries for a
bare Bokeh ``Server``). ``docs/tornado.md`` has the whole story and ``docs/examples/tornado_app.py`` a runnable
program.

:func:`dashboards` (:mod:`lumen_ext.serving.bokeh_server`) says what it does and in which order; the one rule to
remember: call it before anything imports Panel.
"""

from __future__ import annotations

from lumen_ext.serving.bokeh_server import Dashboards, dashboards, routes
from lumen_ext.serving.shutdown import exit_after_stop

__all__ = ["Dashboards", "dashboards", "exit_after_stop", "routes"]
