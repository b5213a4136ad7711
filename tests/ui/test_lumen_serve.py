"""Every example spec also works under Lumen's own `lumen serve`, started from the repository root (one server
for every example spec, per xdist worker).

lumen-ext adds checks and safety; it must not make specs that only work with lumen-ext. Offline assets are a
`lumen-ext serve` feature, so this test checks that the dashboard builds and shows content, not what it fetches.
"""

from __future__ import annotations

import pytest
from support.dashboard_page import wait_rendered
from support.paths import EXAMPLE_SPECS

pytestmark = pytest.mark.ui


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=[s.stem for s in EXAMPLE_SPECS])
def test_lumen_serve_renders_example(spec, lumen_examples_server, page_and_watch):
    page, watch = page_and_watch
    served = lumen_examples_server.app(spec.stem)
    page.goto(served.url)
    wait_rendered(page)
    assert not watch.page_errors, watch.page_errors
    assert not served.faults(), "\n".join(served.log().splitlines()[-60:])
