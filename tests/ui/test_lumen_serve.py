"""Every example spec works under Lumen's own `lumen serve`, started from the repository root (one server for all
example specs per xdist worker; the opt-out test starts its own).

lumen-ext adds checks and safety; it must not make specs that only work with lumen-ext. With lumen-ext installed,
`lumen serve` runs lumen-ext's runtime (`lumen_ext/serving/lumen_serve.py`), so the same bar as `lumen-ext serve`
applies: offline assets (no request leaves 127.0.0.1), a clean console, a filter change that reaches the views,
every tab. With ``LUMEN_EXT_RUNTIME=0`` the page is Lumen's own again, fonts and CDN links included.
"""

from __future__ import annotations

import pytest
from support.browser import dump
from support.dashboard_page import change_a_filter, declares_viewer_control, visit_every_tab, wait_rendered
from support.paths import EXAMPLE_SPECS, REPO

pytestmark = pytest.mark.ui

RUNTIME_LINE = "lumen-ext: runtime active in lumen serve"
# Controls that change only how a view draws, not its data (as in test_dashboards_render.py): not the filter.
VIEW_ONLY_CONTROLS = {"rides_density": ("Colormap", "Color scaling")}


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=[s.stem for s in EXAMPLE_SPECS])
def test_lumen_serve_renders_example_offline(spec, lumen_examples_server, page_and_watch):
    page, watch = page_and_watch
    label = f"lumen serve specs/{spec.name}"
    assert RUNTIME_LINE in lumen_examples_server.log(), lumen_examples_server.log()[-3000:]
    served = lumen_examples_server.app(spec.stem)
    page.goto(served.url)
    wait_rendered(page)
    if declares_viewer_control(spec):
        change_a_filter(page, label, skip=VIEW_ONLY_CONTROLS.get(spec.stem, ()))
    visit_every_tab(page, label)  # other tabs are built lazily and bring their own stylesheets
    assert not watch.problems(), f"{label}: the browser saw problems:\n{dump(watch.problems())}"
    assert not served.faults(), "\n".join(served.log().splitlines()[-60:])


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
