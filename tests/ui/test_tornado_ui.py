"""Both dashboards of the hand-built Bokeh server (``docs/examples/tornado_app.py``, ``lumen_ext.tornado``) in a real
Chromium: each renders with a clean console and nothing fetched off 127.0.0.1, a filter change updates a view, and
putting the filter back (a filter state seen before) is a stage-cache hit in ``/metrics``, as under
``lumen-ext serve``.
"""

from __future__ import annotations

import pytest
from support.browser import dump
from support.dashboard_page import change_a_filter, check_current_view, wait_rendered
from support.tornado_example import DASHBOARDS, serve_tornado_example

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("tornado-example-ui")]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    with serve_tornado_example(tmp_path_factory.mktemp("tornado-example-ui")) as served:
        yield served


@pytest.mark.parametrize("name", DASHBOARDS)
def test_a_dashboard_renders_and_its_filters_work(example, page_and_watch, screenshot_dir, name):
    page, watch = page_and_watch
    page.goto(f"{example.url}/{name}")
    wait_rendered(page)
    check_current_view(page, name)
    page.screenshot(path=str(screenshot_dir / f"tornado-{name}.png"))
    hits = example.memory_hits("/metrics")
    change_a_filter(page, f"tornado {name}", screenshot_dir / f"tornado-{name}-filtered.png")
    # change_a_filter put the widget back: the views' first filter state again, served from the stage cache.
    assert example.memory_hits("/metrics") > hits
    assert not watch.problems(), f"{name}: the browser saw problems:\n{dump(watch.problems())}"
    assert not example.faults(), "\n".join(example.log().splitlines()[-60:])
