"""The density dashboard in Chromium: the rasterized image draws, and a colormap change repaints it.

Served with `lumen-ext serve` on 127.0.0.1 from a 200k-row copy of the data (the 10M-row spec is rendered by
tests/ui/test_dashboards_render.py). Any console error, page error, off-host request or server fault fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.browser import CHROMIUM, CHROMIUM_ARGS, PageWatch, dump, serve_spec
from support.dashboard_page import plots_drew, probe, wait_rendered
from support.paths import TEST_OUTPUT

pytestmark = pytest.mark.ui

REPAINT_TIMEOUT_MS = 45_000

# A digest of what the plot canvases show: colours on a sample grid, so a new palette changes it.
CANVAS_PIXELS_JS = """() => {
  const canvases = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS' && el.offsetParent && el.width >= 20 && el.height >= 20) canvases.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  const parts = [];
  for (const c of canvases) {
    const ctx = c.getContext('2d');
    if (!ctx) continue;
    for (let x = 0; x < c.width; x += Math.ceil(c.width / 48))
      for (let y = 0; y < c.height; y += Math.ceil(c.height / 48))
        parts.push(ctx.getImageData(x, y, 1, 1).data.join(','));
  }
  return parts.join(';');
}"""


@pytest.fixture
def page_and_watch():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the README test command installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1300})
        page = context.new_page()
        page.set_default_timeout(60_000)
        watch = PageWatch()
        watch.attach(page)
        yield page, watch
        browser.close()


def test_density_renders_and_a_colormap_change_repaints(small_density_spec, page_and_watch, tmp_path):
    page, watch = page_and_watch
    screenshots = TEST_OUTPUT / "screenshots"
    screenshots.mkdir(parents=True, exist_ok=True)
    with serve_spec(small_density_spec, tmp_path) as served:
        page.goto(served.url)
        wait_rendered(page)
        assert plots_drew(page) >= 1, f"the density image did not draw\n{dump(probe(page))}"
        page.screenshot(path=str(screenshots / "datashader-density.png"))

        widgets = probe(page)["widgets"]
        colormap = next((w for w in widgets if w["title"] == "Colormap"), None)
        assert colormap is not None, f"no Colormap widget\n{dump(widgets)}"
        before = page.evaluate(CANVAS_PIXELS_JS)
        picked = probe(page, f"change:{colormap['id']}")["set"]
        page.wait_for_function(
            f"(before) => ({CANVAS_PIXELS_JS})() !== before", arg=before, timeout=REPAINT_TIMEOUT_MS
        )
        wait_rendered(page)
        assert plots_drew(page) >= 1, f"nothing drew after switching the colormap to {picked!r}"
        page.screenshot(path=str(screenshots / "datashader-density-recoloured.png"))

        assert not watch.problems(), f"the browser saw problems:\n{dump(watch.problems())}"
        assert not served.faults(), "the server logged faults:\n" + "\n".join(served.log().splitlines()[-60:])
