"""A Lumen dashboard's reload buttons, clicked as a viewer does, and proof that each reloaded.

Lumen draws an ``IconButton`` (``fa-sync``) in the header (``Dashboard._reload``: the spec is read again and every
layout rebuilt) and one per layout in the sidebar beside a "Last updated: ..." stamp (``Layout.update``: the source's
cache is cleared, the views re-render and the stamp is renewed, to the second).
"""

from __future__ import annotations

import time

import pytest

from support.dashboard_page import RENDER_TIMEOUT, check_current_view, wait_rendered

RESPONSE_TIMEOUT = 15  # seconds for a settled page to answer a trivial script

# Every visible reload button: its model id, and the "Last updated" stamp beside it (null for the header's).
RELOAD_BUTTONS_JS = """() => {
  const found = [];
  const walk = (view, parent) => {
    const icon = view.el?.shadowRoot?.querySelector('.fa-sync');
    if (icon && view.el.getBoundingClientRect().width > 0) {
      const texts = (parent?.child_views ?? []).map((c) => c.model.text ?? '');
      found.push({id: view.model.id, stamp: texts.find((t) => t.includes('Last updated')) ?? null});
    }
    for (const child of view.child_views ?? []) walk(child, view);
  };
  for (const root of Object.values(window.Bokeh.index)) walk(root, null);
  return found;
}"""

ICON_JS = """(id) => {
  const walk = (view) => {
    if (view.model.id === id) return view.el.shadowRoot.querySelector('.fa-sync');
    for (const child of view.child_views ?? []) { const hit = walk(child); if (hit) return hit; }
    return null;
  };
  for (const root of Object.values(window.Bokeh.index)) { const hit = walk(root); if (hit) return hit; }
  return null;
}"""


def reload_buttons(page) -> list[dict]:
    """Every visible reload button, with the time it was read (``read_at``, ``time.monotonic()``)."""
    read_at = time.monotonic()
    return [{**button, "read_at": read_at} for button in page.evaluate(RELOAD_BUTTONS_JS)]


def click_reload(page, button: dict) -> None:
    icon = page.evaluate_handle(ICON_JS, button["id"]).as_element()
    assert icon is not None, f"reload button {button['id']} is gone"
    icon.scroll_into_view_if_needed()
    icon.click()


def _wait_until(page, condition_js: str, arg, what: str) -> None:
    """Wait until ``condition_js(buttons, arg)`` holds, then check the page still answers.

    Bounded with ``wait_for_function``: a frozen renderer (seen after a layout reload before the plot-layout
    guard) never answers a plain ``evaluate``, and the test would hang until pytest's timeout instead of saying
    what happened.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(
            f"(arg) => ({condition_js})(({RELOAD_BUTTONS_JS})(), arg)", arg=arg, timeout=RENDER_TIMEOUT * 1000
        )
        page.wait_for_timeout(300)
        page.wait_for_function("() => true", timeout=RESPONSE_TIMEOUT * 1000)
    except PlaywrightTimeout:
        pytest.fail(f"{what} within {RENDER_TIMEOUT}s, or the page stopped answering (a frozen renderer)")


def reload_layout(page, button: dict, label: str) -> None:
    """Click a layout's reload button; its stamp must renew and the dashboard settle with content."""
    # The stamp counts seconds (the server's clock, this machine's): a reload in the second of the one the stamp
    # shows would look like none. The stamp was written before it was read, so 1.1 s after reading it is enough.
    page.wait_for_timeout(max(0.0, button["read_at"] + 1.1 - time.monotonic()) * 1000)
    click_reload(page, button)
    _wait_until(
        page,
        "(buttons, [id, stamp]) => buttons.some((b) => b.id === id && b.stamp !== stamp)",
        [button["id"], button["stamp"]],
        f"{label}: the layout reload did not renew its 'Last updated' stamp",
    )
    wait_rendered(page)
    check_current_view(page, f"{label} after a layout reload")


def reload_dashboard(page, button: dict, label: str) -> None:
    """Click the header's reload button; every layout must be rebuilt (new reload buttons) and show content."""
    layout_buttons = [b["id"] for b in reload_buttons(page) if b["stamp"] is not None]
    click_reload(page, button)
    _wait_until(
        page,
        "(buttons, old) => { const now = buttons.filter((b) => b.stamp !== null);"
        " return now.length > 0 && now.every((b) => !old.includes(b.id)); }",
        layout_buttons,
        f"{label}: the header reload did not rebuild the layouts",
    )
    wait_rendered(page)
    check_current_view(page, f"{label} after the header reload")
