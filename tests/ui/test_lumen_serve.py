"""Lumen's own `lumen serve` with lumen-ext installed, and with lumen-ext's runtime turned off.

Every example spec is used under `lumen serve` (every control clicked, offline, clean console and log) by
``test_controls.py``, through the ``lumen_examples_server`` fixture; this module holds what only one door shows.

lumen-ext adds checks and safety; it must not make specs that only work with lumen-ext. With lumen-ext installed,
`lumen serve` runs lumen-ext's runtime (`lumen_ext/serving/lumen_serve.py`), so the same bar as `lumen-ext serve`
applies: offline assets (no request leaves 127.0.0.1), a clean console and log, every control working. With ``LUMEN_EXT_RUNTIME=0`` the page is Lumen's own again, fonts and CDN links included.
"""

from __future__ import annotations

import pytest
from support.browser import dump
from support.dashboard_page import wait_rendered
from support.paths import REPO

from lumen_ext.serving.lumen_serve import RUNTIME_LINE

pytestmark = pytest.mark.ui


def test_opting_out_serves_lumens_own_page(lumen_serve, page_and_watch):
    """``LUMEN_EXT_RUNTIME=0``: vanilla Lumen, whose page asks Google Fonts and the CDNs (failing offline)."""
    page, watch = page_and_watch
    spec = REPO / "specs" / "earthquakes.yaml"
    with lumen_serve(spec, cwd=REPO, env={"LUMEN_EXT_RUNTIME": "0"}) as served:
        page.goto(served.url)
        wait_rendered(page)
        assert RUNTIME_LINE not in served.log()
        hosts = {url.split("/")[2] for url in watch.off_host_requests}
        assert {"fonts.googleapis.com", "cdn.holoviz.org"} <= hosts, dump(watch.off_host_requests)
