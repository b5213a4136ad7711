"""Every example dashboard, and every offline corpus dashboard, served and used in a real browser.

For each spec: serve it with `lumen-ext serve` on 127.0.0.1, open it in Chromium, visit every tab, check that plots
drew and tables have rows, change one filter widget and check that a view's data changed. Any console error, page
error, request to another host, or exception in the server log fails the test. A screenshot per spec goes to
``test-output/screenshots/``.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
from pathlib import Path

import pytest
import yaml
from support.browser import copy_tree, dump
from support.paths import CORPUS, REPO

pytestmark = pytest.mark.ui

PROBE_JS = (Path(__file__).parent / "bokeh_probe.js").read_text()
RENDER_TIMEOUT = 90  # seconds for a view to appear; bounded so a hung dashboard fails instead of stalling CI
UPDATE_TIMEOUT = 45  # seconds for a filter change to reach the views

EXAMPLE_SPECS = sorted((REPO / "specs").glob("*.yaml"))
MANIFEST = json.loads((CORPUS / "manifest.json").read_text()) if CORPUS.is_dir() else {"specs": []}
OFFLINE_CORPUS = [s for s in MANIFEST["specs"] if s["kind"] == "offline" and s["expect"]["builds"]]

# Lumen bugs a corpus dashboard hits in the browser, reproduced under plain `lumen serve` too, by the page errors
# they cause. Such a test is an expected failure only while exactly these errors occur, and fails once they stop.
KNOWN_LUMEN_BUGS = {
    "offline/precip": (
        re.compile(r"^reference p\d+ isn't known$"),
        "Lumen's facet Layout._rerender drops the facet cards a filter empties while their HoloViews plots still "
        "send patches; BokehJS rejects events referring to the removed models (plain `lumen serve` does the same)",
    ),
}


def probe(page, action: str = "state"):
    return page.evaluate(PROBE_JS, action)


def wait_rendered(page) -> None:
    """Wait until the dashboard shows content, no spinner, and its Bokeh document has stopped changing.

    Lumen builds layouts after the page loads and other tabs lazily, so "loaded" can only be judged by the
    document settling: the same models and data over several polls. An error alert fails at once.
    """
    page.wait_for_function(
        "() => window.Bokeh && window.Bokeh.documents.length > 0", timeout=RENDER_TIMEOUT * 1000
    )
    deadline = time.monotonic() + RENDER_TIMEOUT
    last, stable = None, 0
    while time.monotonic() < deadline:
        page.wait_for_timeout(400)
        alerts = page.locator(".alert-danger").filter(visible=True)
        if alerts.count():
            pytest.fail(f"the dashboard shows an error: {alerts.first.inner_text()[:2000]}")
        state = probe(page)
        snapshot = (state["models"], state["fingerprint"])
        has_content = any(state["renderers"]) or state["tables"] or state["other_plots"]
        loading = page.locator(".pn-loading").count()
        stable = stable + 1 if (snapshot == last and has_content and not loading) else 0
        last = snapshot
        if stable >= 3:
            return
    pytest.fail(f"the dashboard did not settle within {RENDER_TIMEOUT}s\n{dump(probe(page))}")


def canvases_drew(page) -> int:
    """Visible canvases holding more than a background: at least three distinct colours on a sample grid.

    Vega (Altair) draws on a canvas too, so this covers Bokeh and Vega views alike.
    """
    return page.evaluate(
        """() => {
        const seen = [];
        const walk = (root) => {
          for (const el of root.querySelectorAll('*')) {
            if (el.tagName === 'CANVAS') seen.push(el);
            if (el.shadowRoot) walk(el.shadowRoot);
          }
        };
        walk(document);
        let drew = 0;
        for (const c of seen) {
          if (!c.offsetParent || c.width < 20 || c.height < 20) continue;
          const ctx = c.getContext('2d');
          if (!ctx) continue;
          const colours = new Set();
          for (let x = 0; x < c.width; x += Math.ceil(c.width / 40))
            for (let y = 0; y < c.height; y += Math.ceil(c.height / 40))
              colours.add(ctx.getImageData(x, y, 1, 1).data.join(','));
          if (colours.size >= 3) drew += 1;
        }
        return drew;
    }"""
    )


def visible_table_rows(page) -> int:
    return page.locator(".tabulator-row").filter(visible=True).count()


def check_current_view(page, label: str) -> dict:
    state = probe(page)
    drew, rows = canvases_drew(page), visible_table_rows(page)
    tables = page.locator(".tabulator").filter(visible=True).count()
    if tables:
        assert rows > 0, f"{label}: a table is shown but has no rows"
    assert drew or rows, (
        f"{label}: nothing drew (canvases with content: {drew}, table rows: {rows})\n{dump(state)}"
    )
    return {"canvases": drew, "table_rows": rows}


def visit_every_tab(page, label: str) -> list[dict]:
    seen = [check_current_view(page, f"{label} (first view)")]
    tabs = page.locator(".bk-tab")
    for i in range(tabs.count()):
        tab = tabs.nth(i)
        if not tab.is_visible():
            continue
        name = tab.inner_text().strip()
        tab.click()
        wait_rendered(page)
        seen.append(check_current_view(page, f"{label} tab {name!r}"))
    if tabs.count():
        tabs.nth(0).click()
        wait_rendered(page)
    return seen


def change_a_filter(page, label: str) -> str:
    """Change the first filter widget; return what it was set to once a view's data has changed."""
    before = probe(page)
    assert before["widgets"], f"{label}: no filter widget found\n{dump(before)}"
    widget = before["widgets"][0]
    result = probe(page, f"change:{widget['id']}")
    deadline = time.monotonic() + UPDATE_TIMEOUT
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        if probe(page)["fingerprint"] != before["fingerprint"]:
            wait_rendered(page)
            return result["set"]
    pytest.fail(f"{label}: setting filter {widget['title']!r} to {result['set']!r} changed no view's data")


def declares_widget_filter(spec: Path) -> bool:
    """Whether a viewer gets a filter widget: a `widget`, `date` or `datetime` filter anywhere in the spec."""

    def walk(node) -> bool:
        if isinstance(node, dict):
            if node.get("type") in ("widget", "date", "datetime", "bins") and "field" in node:
                return True
            return any(walk(value) for value in node.values())
        return isinstance(node, list) and any(walk(item) for item in node)

    return walk(yaml.safe_load(spec.read_text()))


def exercise(page, watch, served, spec: Path, screenshot: Path, label: str) -> None:
    page.goto(served.url)
    wait_rendered(page)
    visit_every_tab(page, label)
    page.screenshot(path=str(screenshot), full_page=True)
    if declares_widget_filter(spec):
        change_a_filter(page, label)
        page.screenshot(path=str(screenshot.with_name(screenshot.stem + "-filtered.png")), full_page=True)
    assert not watch.problems(), f"{label}: the browser saw problems:\n{dump(watch.problems())}"
    assert not served.faults(), f"{label}: the server logged faults:\n" + "\n".join(
        served.log().splitlines()[-60:]
    )


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=[s.stem for s in EXAMPLE_SPECS])
def test_example_dashboard(spec, serve, page_and_watch, screenshot_dir):
    page, watch = page_and_watch
    with serve(spec) as served:
        assert declares_widget_filter(spec), "every example dashboard gives viewers a filter"
        exercise(page, watch, served, spec, screenshot_dir / f"specs-{spec.stem}.png", f"specs/{spec.name}")


def _start_corpus_server(entry: dict, spec_dir: Path):
    """Start the loopback stand-in a corpus spec needs (bikes: the TfL API) and point the spec at its port."""
    script = CORPUS / entry["server"]["script"]
    loader = importlib.util.spec_from_file_location(f"corpus_server_{spec_dir.name}", script)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    server = module.serve_in_thread(port=0, root=spec_dir)
    spec = spec_dir / Path(entry["path"]).name
    original = f"127.0.0.1:{entry['server']['port']}"
    spec.write_text(spec.read_text().replace(original, f"127.0.0.1:{server.server_address[1]}"))
    return server


@pytest.mark.parametrize("entry", OFFLINE_CORPUS, ids=[s["id"] for s in OFFLINE_CORPUS])
def test_corpus_dashboard(entry, serve, page_and_watch, screenshot_dir, tmp_path):
    for module in entry["optional_deps"]:
        pytest.importorskip(module)
    spec_dir = copy_tree((CORPUS / entry["path"]).parent, tmp_path / "corpus")
    helper = _start_corpus_server(entry, spec_dir) if "server" in entry else None
    page, watch = page_and_watch
    spec = spec_dir / Path(entry["path"]).name
    try:
        with serve(spec) as served:
            name = entry["id"].replace("/", "-")
            try:
                exercise(page, watch, served, spec, screenshot_dir / f"corpus-{name}.png", entry["id"])
            except AssertionError:
                expect_known_bug(entry["id"], watch)
                raise
            assert entry["id"] not in KNOWN_LUMEN_BUGS, (
                f"{entry['id']} no longer shows the known Lumen bug; remove it from KNOWN_LUMEN_BUGS"
            )
    finally:
        if helper is not None:
            helper.shutdown()
            helper.server_close()


def expect_known_bug(spec_id: str, watch) -> None:
    """Turn a failure into an expected one when it is exactly the known Lumen bug of this spec."""
    if spec_id not in KNOWN_LUMEN_BUGS:
        return
    signature, reason = KNOWN_LUMEN_BUGS[spec_id]
    problems = watch.problems()
    if list(problems) == ["page errors"] and all(signature.match(e) for e in problems["page errors"]):
        pytest.xfail(f"known Lumen 1.4 bug: {reason}")
