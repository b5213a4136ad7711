"""In a real browser, a filter change patches the plots on screen: same Bokeh Figures, new data, a clean console.

``specs/penguins.yaml`` is served with ``lumen-ext serve`` (patching installed, stage cache on) and opened in
Chromium. The Sex filter is set, which keeps every species, island and sex category of the other dimensions, so
every plot is patched rather than rebuilt; then it is set back, which the plot memo serves from the objects built
for the first render; then it is set again, which is set from the values HoloViews gave the Figures the first
time (``lumen_ext.views.drawings``). The Figures' model ids must stay the same throughout, the data must change and
then come back to exactly what was drawn before in that state, the plots must still draw, and neither the browser
nor the server may report an error.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from scale.helpers import metric_values
from support.browser import CHROMIUM, CHROMIUM_ARGS, PageWatch, dump, serve_spec
from support.dashboard_page import plots_drew, probe, wait_rendered
from support.paths import SPECS_DIR

pytestmark = pytest.mark.ui

FIGURES_JS = """() => {
  const ids = [];
  for (const doc of window.Bokeh.documents) {
    const all = doc.all_models ?? doc._all_models;
    for (const m of (all.values ? all.values() : all)) if (m.type === "Figure") ids.push(m.id);
  }
  return ids.sort();
}"""

SET_WIDGET_JS = """([id, value]) => {
  for (const doc of window.Bokeh.documents) {
    const model = doc.get_model_by_id(id);
    if (model) { model.setv({value}); return true; }
  }
  return false;
}"""


@pytest.fixture
def page_and_watch():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the README test command installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.set_default_timeout(60_000)
        watch = PageWatch()
        watch.attach(page)
        try:
            yield page, watch
        finally:
            browser.close()


def server_counter(url: str, name: str) -> float:
    """A counter of the server's ``/metrics`` (one process: one sample)."""
    base = url.split("://", 1)[0] + "://" + url.split("://", 1)[1].split("/", 1)[0]
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
        text = response.read().decode()
    (value,) = metric_values(text, name).values()
    return value


def set_filter(page, widget: dict, value: list[str], before: str) -> str:
    assert page.evaluate(SET_WIDGET_JS, [widget["id"], value]), f"widget {widget['title']!r} not found"
    for _ in range(150):  # 45 s at most
        page.wait_for_timeout(300)
        fingerprint = probe(page)["fingerprint"]
        if fingerprint != before:
            wait_rendered(page)
            return probe(page)["fingerprint"]
    pytest.fail(f"setting {widget['title']!r} to {value} changed no plot's data\n{dump(probe(page))}")


def test_a_filter_change_patches_the_figures_in_the_browser(page_and_watch, tmp_path):
    page, watch = page_and_watch
    with serve_spec(SPECS_DIR / "penguins.yaml", tmp_path) as served:
        page.goto(served.url)
        wait_rendered(page)
        state = probe(page)
        figures = page.evaluate(FIGURES_JS)
        assert len(figures) == 5, figures  # bills, flippers, mass_box, mass_violin, census
        (sex,) = [w for w in state["widgets"] if w["title"] == "Sex"]

        filtered = set_filter(page, sex, ["male"], state["fingerprint"])
        assert page.evaluate(FIGURES_JS) == figures, (
            "a filter change replaced a Figure instead of patching it"
        )
        assert plots_drew(page) == len(figures)

        restored = set_filter(page, sex, sex["value"], filtered)
        assert restored == state["fingerprint"], "back in the first state, the plots show other data"
        assert page.evaluate(FIGURES_JS) == figures
        assert plots_drew(page) == len(figures)

        # "male" again: set from the values HoloViews gave the Figures the first time (lumen_ext.views.drawings),
        # and the browser shows exactly what it showed then.
        again = set_filter(page, sex, ["male"], restored)
        assert again == filtered, "a state set from its drawing shows other data than HoloViews drew"
        assert page.evaluate(FIGURES_JS) == figures
        assert plots_drew(page) == len(figures)
        assert server_counter(served.url, "lumen_ext_views_drawings_replays_total") >= len(figures)

        assert not watch.problems(), f"the browser saw problems:\n{dump(watch.problems())}"
        assert not served.faults(), "the server logged faults:\n" + "\n".join(served.log().splitlines()[-60:])
