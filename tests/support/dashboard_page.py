"""Using a served Lumen dashboard in a real browser, beyond what `lumen-ext test`'s engine does.

Waiting, probing and checking what drew are the product's (`lumen_ext.gate.page`, re-exported here); these helpers
add what only tests need: a quick pass over the tabs, one filter changed through the Bokeh model (the corpus
test), a filter set to a given value, polling for a condition.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from lumen_ext.gate.page import (
    CANVAS_DIGEST_JS,
    DRAW_TIMEOUT,
    RENDER_TIMEOUT,
    UPDATE_TIMEOUT,
    check_current_view,
    dump,
    plots_drew,
    probe,
    visible_table_rows,
    wait_rendered,
)

__all__ = [
    "CANVAS_DIGEST_JS",
    "DRAW_TIMEOUT",
    "RENDER_TIMEOUT",
    "UPDATE_TIMEOUT",
    "change_a_filter",
    "check_current_view",
    "declares_viewer_control",
    "plots_drew",
    "poll_until",
    "probe",
    "set_filter",
    "visible_table_rows",
    "visit_every_tab",
    "wait_rendered",
]


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
