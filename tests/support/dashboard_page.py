"""Using a served Lumen dashboard in a real browser: wait for it, look at it, change a filter.

The page is read through its Bokeh document (``bokeh_probe.js``): what drew, which sources hold data, which filter
widgets exist. Waiting is judged by the document settling, because Lumen builds layouts after load and tabs lazily.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from support.browser import dump

PROBE_JS = (Path(__file__).parent / "bokeh_probe.js").read_text()
RENDER_TIMEOUT = 90  # seconds for a view to appear; bounded so a hung dashboard fails instead of stalling CI
UPDATE_TIMEOUT = 45  # seconds for a filter change to reach the views
DRAW_TIMEOUT = 20  # seconds for a settled document to show up as pixels and table rows


def probe(page, action: str = "state"):
    return page.evaluate(PROBE_JS, action)


def wait_rendered(page, require_content: bool = True, poll: float = 0.4) -> None:
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
        page.wait_for_timeout(poll * 1000)
        alerts = page.locator(".alert-danger").filter(visible=True)
        if alerts.count():
            pytest.fail(f"the dashboard shows an error: {alerts.first.inner_text()[:2000]}")
        state = probe(page)
        snapshot = (state["models"], state["fingerprint"])
        has_content = any(state["renderers"]) or state["tables"] or state["other_plots"]
        loading = page.locator(".pn-loading").count()
        ready = has_content or not require_content
        stable = stable + 1 if (snapshot == last and ready and not loading) else 0
        last = snapshot
        if stable >= 3:
            return
    pytest.fail(f"the dashboard did not settle within {RENDER_TIMEOUT}s\n{dump(probe(page))}")


# The visible plot canvases of the page (shadow roots included), each read back once: ``getImageData`` of a whole
# canvas costs about what one of a single pixel does, so sampling a grid pixel by pixel cost ~70 ms a call.
_CANVAS_PIXELS_JS = """
  const canvases = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      if (el.tagName === 'CANVAS' && el.offsetParent && el.width >= 20 && el.height >= 20) canvases.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  // Each canvas as its pixels' RGBA bytes and a grid of (about) n by n sample offsets into them.
  const sampled = (n) => canvases.map((c) => {
    const ctx = c.getContext('2d');
    if (!ctx) return null;
    const pixels = ctx.getImageData(0, 0, c.width, c.height).data, offsets = [];
    for (let x = 0; x < c.width; x += Math.ceil(c.width / n))
      for (let y = 0; y < c.height; y += Math.ceil(c.height / n)) offsets.push(4 * (y * c.width + x));
    return {pixels, offsets};
  }).filter(Boolean);
"""


def plots_drew(page) -> int:
    """Plots that visibly drew: Bokeh canvases holding more than a background (at least three distinct colours on
    a sample grid), and Vega (Altair) SVGs holding marks with shapes in them."""
    return page.evaluate(
        """() => {"""
        + _CANVAS_PIXELS_JS
        + """
        let drew = 0;
        const svgs = [];
        const walkSvg = (root) => {
          for (const el of root.querySelectorAll('svg.marks')) if (el.getClientRects().length) svgs.push(el);
          for (const el of root.querySelectorAll('*')) if (el.shadowRoot) walkSvg(el.shadowRoot);
        };
        walkSvg(document);
        svgs: for (const svg of svgs) {
          for (const mark of svg.querySelectorAll('g[class^="mark-"]')) {
            if (mark.querySelector('path, rect, line, circle, text')) { drew += 1; continue svgs; }
          }
        }
        for (const {pixels, offsets} of sampled(40)) {
          const colours = new Set();
          for (const i of offsets) {
            colours.add(pixels[i] << 24 | pixels[i + 1] << 16 | pixels[i + 2] << 8 | pixels[i + 3]);
            if (colours.size >= 3) { drew += 1; break; }
          }
        }
        return drew;
    }"""
    )


# A digest of what the plot canvases show: a hash of the colours on a sample grid, so a new palette changes it.
CANVAS_DIGEST_JS = (
    "() => {"
    + _CANVAS_PIXELS_JS
    + """
  return sampled(48).map(({pixels, offsets}) => {
    let hash = 2166136261;  // FNV-1a over the sampled RGBA bytes
    for (const i of offsets)
      for (let k = 0; k < 4; k++) hash = Math.imul(hash ^ pixels[i + k], 16777619) >>> 0;
    return hash.toString(16);
  }).join(';');
}"""
)


def visible_table_rows(page) -> int:
    return page.locator(".tabulator-row").filter(visible=True).count()


def check_current_view(page, label: str) -> dict:
    """Plots drew and tables have rows, polling a while: Tabulator and canvases draw after the document settles."""
    deadline = time.monotonic() + DRAW_TIMEOUT
    while True:
        drew, rows = plots_drew(page), visible_table_rows(page)
        tables = page.locator(".tabulator").filter(visible=True).count()
        if (drew or rows) and (rows or not tables):
            return {"plots": drew, "table_rows": rows}
        if time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    assert not tables or rows, f"{label}: a table is shown but has no rows"
    pytest.fail(
        f"{label}: nothing drew (plots with content: {drew}, table rows: {rows})\n{dump(probe(page))}"
    )


def visit_every_tab(page, label: str) -> list[dict]:
    seen = [check_current_view(page, f"{label} (first view)")]
    # Bokeh tabs are .bk-tab; panel-material-ui (Lumen's default template) renders MUI tabs with role=tab.
    tabs = page.locator('.bk-tab, [role="tab"]')
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


def change_a_filter(page, label: str, screenshot: Path | None = None) -> str:
    """Change the first filter widget until a view's data changes, then put it back; return the value it took.

    Restoring matters: the value
    picked may legitimately leave some views empty (a state the spec filters out), and the tabs visited next
    should show data.
    """
    before = probe(page)
    widgets = before["widgets"]
    assert widgets, f"{label}: no filter widget found\n{dump(before)}"
    widget = widgets[0]
    result = probe(page, f"change:{widget['id']}")
    if not _wait_for_fingerprint(page, lambda fp: fp != before["fingerprint"]):
        pytest.fail(
            f"{label}: setting filter {widget['title']!r} to {result['set']!r} changed no view's data"
        )
    wait_rendered(page, require_content=False)
    if screenshot is not None:
        page.screenshot(path=str(screenshot))
    filtered = probe(page)["fingerprint"]
    probe(page, "restore")
    # Best effort, only so that the tabs visited next show data: the update itself was proven above. The corpus
    # seattle date slider (panel-material-ui DateRangeSlider) ignores this second programmatic change; that is
    # not investigated yet (see the session note), so a restore that changes nothing does not fail the test.
    _wait_for_fingerprint(page, lambda fp: fp != filtered, timeout=10)
    wait_rendered(page, require_content=False)
    return result["set"]


def _wait_for_fingerprint(page, condition, timeout: float = UPDATE_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        if condition(probe(page)["fingerprint"]):
            return True
    return False


def declares_viewer_control(spec: Path) -> bool:
    """Whether viewers get a control that changes data: a widget/date/bins filter, or a widget variable."""

    def walk(node) -> bool:
        if isinstance(node, dict):
            if node.get("type") in ("widget", "date", "datetime", "bins") and "field" in node:
                return True
            return any(walk(value) for value in node.values())
        return isinstance(node, list) and any(walk(item) for item in node)

    spec_data = yaml.safe_load(spec.read_text())
    variables = spec_data.get("variables") or {}
    widget_variable = any(isinstance(v, dict) and v.get("type") == "widget" for v in variables.values())
    return widget_variable or walk({k: v for k, v in spec_data.items() if k != "variables"})


def set_filter(page, label: str, value: list[str]) -> None:
    """Set a filter widget as its own UI would (``setv`` syncs the change to the server)."""
    page.evaluate(
        """([label, value]) => {
          for (const doc of Bokeh.documents)
            for (const m of doc.all_models)
              if ((m.label ?? m.title) === label && Array.isArray(m.options)) { m.setv({value}); return; }
          throw new Error(`no filter widget labelled ${label}`);
        }""",
        [label, value],
    )


def poll_until(page, read, condition, what: str, timeout: float) -> dict:
    """Read the page with ``read(page)`` every 250 ms until ``condition`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    state = read(page)
    while not condition(state):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not seen within {timeout}s: {state}")
        page.wait_for_timeout(250)
        state = read(page)
    return state
