"""Both dashboards of the example FastAPI application (``docs/examples/fastapi_app.py``), mounted under Uvicorn, in
a real Chromium: logged in, each renders with a clean console and nothing fetched off 127.0.0.1, a filter change
updates a view, and putting the filter back (a filter state seen before) is a stage-cache hit in ``/metrics``, as
under ``lumen-ext serve``. Logged out, the page is refused. A spec with an ``auth:`` block shows its views to the
user it names: Lumen's own check in the session sees the claims the host's login returned.
"""

from __future__ import annotations

import pytest
from support.browser import dump
from support.dashboard_page import check_current_view, wait_rendered
from support.fastapi_example import ALICE, serve_example, serve_private

pytestmark = [pytest.mark.ui, pytest.mark.xdist_group("fastapi-example-ui")]

DASHBOARDS = ["penguins", "stocks"]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    with serve_example(tmp_path_factory.mktemp("fastapi-example-ui")) as served:
        yield served


@pytest.mark.parametrize("name", DASHBOARDS)
def test_a_mounted_dashboard_renders_and_its_filters_work(example, page_and_watch, screenshot_dir, name):
    page, watch = page_and_watch
    page.context.add_cookies([{"name": "session", "value": ALICE, "url": example.url}])
    example.check_dashboard_in_browser(
        page, watch, f"/dashboards/{name}", "/dashboards/metrics", "fastapi", screenshot_dir, ALICE
    )


def test_a_logged_out_browser_is_refused(example, page_and_watch):
    page, _ = page_and_watch
    response = page.goto(f"{example.url}/dashboards/penguins")
    assert response is not None and response.status == 401
    assert "not authenticated" in page.content()


def test_a_spec_with_an_auth_block_shows_its_views_to_the_user_it_names(page_and_watch, tmp_path):
    page, watch = page_and_watch
    with serve_private(tmp_path) as private:
        page.context.add_cookies([{"name": "user", "value": "alice", "url": private.url}])
        page.goto(f"{private.url}/private/private")
        # Without the claims in the session (pn.state.user_info), Lumen would hide every layout of this spec.
        wait_rendered(page)
        check_current_view(page, "private")
        assert not watch.problems(), dump(watch.problems())
        assert not private.faults(), "\n".join(private.log().splitlines()[-60:])
