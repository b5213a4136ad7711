"""Looking at a served Lumen dashboard in a real browser: wait for it to settle, see what drew.

The page is read through its Bokeh document (``bokeh_probe.js``): what drew, which sources hold data, which filter
widgets exist. Waiting is judged by the document settling, because Lumen builds layouts after load and tabs
lazily. A problem (an error alert, a dashboard that never settles, a view that drew nothing) raises
:class:`PageProblem` with what the page showed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lumen_ext.security.errors import CARD_CLASS

__all__ = [
    "CANVAS_DIGEST_JS",
    "DRAW_TIMEOUT",
    "RENDER_TIMEOUT",
    "UPDATE_TIMEOUT",
    "PageProblem",
    "check_current_view",
    "dump",
    "error_cards",
    "plots_drew",
    "probe",
    "visible_table_rows",
    "wait_rendered",
]

PROBE_JS = (Path(__file__).parent / "bokeh_probe.js").read_text()
RENDER_TIMEOUT = 90  # seconds for a view to appear; bounded so a hung dashboard fails instead of stalling CI
UPDATE_TIMEOUT = 45  # seconds for a filter change to reach the views
DRAW_TIMEOUT = 20  # seconds for a settled document to show up as pixels and table rows


class PageProblem(AssertionError):
    """What a viewer would see going wrong on the page (an AssertionError, so a test using these helpers fails
    with this message rather than erroring)."""


def dump(obj) -> str:
    return json.dumps(obj, indent=1, default=str)[:4000]


def probe(page, action: str = "state"):
    return page.evaluate(PROBE_JS, action)


def alert_text(page) -> str | None:
    """The text of a visible Lumen error alert (a spec or layout that failed to build), if any."""
    alerts = page.locator(".alert-danger").filter(visible=True)
    return alerts.first.inner_text()[:2000] if alerts.count() else None


# lumen-ext's fault cards (`lumen_ext.security.errors`): a view or layout that could not be shown, with an id.
_ERROR_CARDS_JS = f"""() => window.Bokeh.documents.flatMap((doc) => [...doc.all_models])
  .filter((m) => typeof m.text === 'string' && m.text.includes('{CARD_CLASS}'))
  .map((m) => (m.text.match(/data-error-id=(?:&#x27;|&quot;|['"])([\\w-]+)/) ?? [null, '?'])[1])"""


def error_cards(page) -> list[str]:
    """The error ids of the fault cards in the page's documents."""
    return page.evaluate(_ERROR_CARDS_JS)


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
        alert = alert_text(page)
        if alert is not None:
            raise PageProblem(f"the dashboard shows an error: {alert}")
        state = probe(page)
        snapshot = (state["models"], state["fingerprint"])
        has_content = any(state["renderers"]) or state["tables"] or state["other_plots"]
        loading = page.locator(".pn-loading").count()
        ready = has_content or not require_content
        stable = stable + 1 if (snapshot == last and ready and not loading) else 0
        last = snapshot
        if stable >= 3:
            return
    raise PageProblem(f"the dashboard did not settle within {RENDER_TIMEOUT}s\n{dump(probe(page))}")


# The visible plot canvases of the page (shadow roots included), each read back once: ``getImageData`` of a whole
# canvas costs about what one of a single pixel does, so sampling a grid pixel by pixel cost ~70 ms a call.
CANVAS_PIXELS_JS = """
  const canvasesUnder = (start) => {
    const canvases = [];
    const walk = (root) => {
      for (const el of root.querySelectorAll('*')) {
        if (el.tagName === 'CANVAS' && el.offsetParent && el.width >= 20 && el.height >= 20) canvases.push(el);
        if (el.shadowRoot) walk(el.shadowRoot);
      }
    };
    walk(start);
    if (start.shadowRoot) walk(start.shadowRoot);
    return canvases;
  };
  // Each canvas as its pixels' RGBA bytes and a grid of (about) n by n sample offsets into them.
  const sampledCanvases = (canvases, n) => canvases.map((c) => {
    const ctx = c.getContext('2d');
    if (!ctx) return null;
    const pixels = ctx.getImageData(0, 0, c.width, c.height).data, offsets = [];
    for (let x = 0; x < c.width; x += Math.ceil(c.width / n))
      for (let y = 0; y < c.height; y += Math.ceil(c.height / n)) offsets.push(4 * (y * c.width + x));
    return {pixels, offsets};
  }).filter(Boolean);
  const canvasDigest = (canvases) => sampledCanvases(canvases, 48).map(({pixels, offsets}) => {
    let hash = 2166136261;  // FNV-1a over the sampled RGBA bytes
    for (const i of offsets)
      for (let k = 0; k < 4; k++) hash = Math.imul(hash ^ pixels[i + k], 16777619) >>> 0;
    return hash.toString(16);
  }).join(';');
"""


def plots_drew(page) -> int:
    """Plots that visibly drew: Bokeh canvases holding more than a background (at least three distinct colours on
    a sample grid), and Vega (Altair) SVGs holding marks with shapes in them."""
    return page.evaluate(
        """() => {"""
        + CANVAS_PIXELS_JS
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
        for (const {pixels, offsets} of sampledCanvases(canvasesUnder(document), 40)) {
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
CANVAS_DIGEST_JS = "() => {" + CANVAS_PIXELS_JS + "\n  return canvasDigest(canvasesUnder(document));\n}"


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
    if tables and not rows:
        raise PageProblem(f"{label}: a table is shown but has no rows")
    raise PageProblem(
        f"{label}: nothing drew (plots with content: {drew}, table rows: {rows})\n{dump(probe(page))}"
    )
