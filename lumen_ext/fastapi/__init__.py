"""The third door: lumen-ext dashboards mounted inside an existing FastAPI application.

``lumen serve`` and ``lumen-ext serve`` run a dashboard server of their own; here the host application (its API,
its login, its Uvicorn workers) serves the dashboards next to its routes::

    from fastapi import FastAPI
    from lumen_ext.fastapi import mount

    app = FastAPI()
    mount(app, "/dashboards", ["specs/penguins.yaml", "specs/stocks.yaml"], auth=current_user)

Needs the ``fastapi`` extra (``pip install "lumen-ext[fastapi]"``: FastAPI, Uvicorn, bokeh-fastapi).
``docs/fastapi.md`` has the whole story; :mod:`lumen_ext.fastapi.mount` says how it is built.
"""

from __future__ import annotations

from lumen_ext.fastapi.guard import current_dashboard
from lumen_ext.fastapi.mount import Mounted, mount

__all__ = ["Mounted", "current_dashboard", "mount"]
