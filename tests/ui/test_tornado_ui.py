"""Both dashboards of the hand-built Bokeh server (``docs/examples/tornado_app.py``, ``lumen_ext.tornado``) in a real
Chromium: each renders with a clean console and nothing fetched off 127.0.0.1, a filter change updates a view, and
putting the filter back (a filter state seen before) is a stage-cache hit in ``/metrics``, as under
``lumen-ext serve``.
"""

from __future__ import annotations

import pytest
from support.tornado_example import DASHBOARDS, serve_tornado_example

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("tornado-example-ui")]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    with serve_tornado_example(tmp_path_factory.mktemp("tornado-example-ui")) as served:
        yield served


@pytest.mark.parametrize("name", DASHBOARDS)
def test_a_dashboard_renders_and_its_filters_work(example, page_and_watch, screenshot_dir, name):
    page, watch = page_and_watch
    example.check_dashboard_in_browser(page, watch, f"/{name}", "/metrics", "tornado", screenshot_dir)
