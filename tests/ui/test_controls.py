"""Every control of every example dashboard works in Chromium, under `lumen-ext serve` or `lumen serve`.

Every spec in ``specs/`` has all its controls used under one front door (``FULL_SWEEP_DOOR``) and is checked under
the other (``test_the_other_door_serves_it``): the doors install the same hooks table and differ only in how the
server starts, so the second door needs one page showing that its runtime is on and that a widget, the downloads
and the header's reload work, not every control again (the sweep is the suite's largest cost). The sweep, on a server
per front door and xdist worker, opens the dashboard and

* on every tab, clicks every download icon: a file must arrive (Playwright's download event) and hold the rows of
  one of the tab's views, i.e. what that view's pipeline holds on a freshly opened page (`lumen-ext serve`'s
  ``/data`` endpoint); which views offer a download, and of which pipeline, comes from the spec;
* then, tab after tab, changes every widget through its own UI (menus, options, slider rails and handles; a filter
  shown on several tabs, on the first), waits until a view shows other data (or, for controls that only restyle,
  other pixels), puts it back the same way and waits until the views show the data they showed before;
* last, clicks each layout's reload button and the header's, each of which must re-render the dashboard.

One page does all of it: a page load is what costs most here (the server builds the dashboard, the browser draws
it). A console error, a page error or an exception in the server log fails the test.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from support.browser import dump
from support.controls import Control, SharedFilters, change, visible_controls
from support.dashboard_page import (
    CANVAS_DIGEST_JS,
    UPDATE_TIMEOUT,
    check_current_view,
    probe,
    wait_rendered,
)
from support.downloads import DeclaredDownload, declared_downloads, difference, pipeline_result, read_download
from support.paths import EXAMPLE_SPECS
from support.reloads import reload_buttons, reload_dashboard, reload_layout

from lumen_ext.serving.lumen_serve import RUNTIME_LINE

pytestmark = pytest.mark.ui

SERVERS = {"lumen-ext": "examples_server", "lumen": "lumen_examples_server"}

# The door each spec's controls are all used under. Each door sweeps downloads, tabs, MUI selects and sliders, a
# Bokeh slider and a SQL-aggregated and a Datashader or Dask dashboard; `lumen serve` (what analysts type) the main
# demo. A new spec needs a row here (checked below).
FULL_SWEEP_DOOR = {
    "earthquakes": "lumen",
    "rides": "lumen",
    "rides_density": "lumen",
    "penguins": "lumen-ext",
    "rides_dask": "lumen-ext",
    "stocks": "lumen-ext",
    "rides_crossfilter": "lumen-ext",
}
OTHER_DOOR = {"lumen": "lumen-ext", "lumen-ext": "lumen"}

# Controls a viewer cannot put back exactly where they were, and why.
CANNOT_RESTORE = {
    ("earthquakes", "Time (UTC)"): (
        "panel-material-ui's DatetimeRangeSlider sends start and end to the browser floored to midnight "
        "(end 2024-07-31 16:55:52 arrives as 00:00) while its value keeps the last event's time: a thumb moved "
        "back to the end stops at midnight and the last day's two events stay filtered out"
    ),
}

# lumen-ext's browser guard for BokehJS's re-render race (serving/browser_guards.py) is on the page under both doors.
PLOT_LAYOUT_GUARDED_JS = (
    "() => ['_measure_layout', '_after_layout'].every("
    "(name) => window.Bokeh.Models.get('Plot').prototype.default_view.prototype[name].lumen_ext_guard === true)"
)


def _tabs(page, layouts: list[str]):
    """Yield the titles of the layouts shown, tab after tab (all of them at once when there are no tabs)."""
    tabs = page.locator('.bk-tab, [role="tab"]').filter(visible=True)
    if not tabs.count():
        yield layouts
        return
    for i in range(tabs.count()):
        title = tabs.nth(i).text_content().strip()
        assert title in layouts, f"tab {title!r} is none of the spec's layouts {layouts}"
        tabs.nth(i).click()
        wait_rendered(page)
        yield [title]


class _PipelineOracle:
    """What a pipeline holds on a freshly opened page, read once from `lumen-ext serve`'s ``/data`` endpoint."""

    def __init__(self, server_url: str, app: str) -> None:
        self._server_url, self._app, self._results = server_url, app, {}

    def __call__(self, pipeline: str):
        if pipeline not in self._results:
            self._results[pipeline] = pipeline_result(self._server_url, self._app, pipeline)
        return self._results[pipeline]


def check_downloads(page, offered: list[DeclaredDownload], expected_data, folder: Path, label: str) -> None:
    """Click every visible download icon; each file must hold the data of a different offering view."""
    buttons = page.locator(".download-button").filter(visible=True)
    assert buttons.count() == len(offered), (
        f"{label}: {buttons.count()} download buttons, but the spec offers {len(offered)}: {offered}"
    )
    unmatched = list(offered)
    for i in range(buttons.count()):
        with page.expect_download(timeout=60_000) as arrival:
            buttons.nth(i).click()
        download = arrival.value
        path = folder / f"{i}-{download.suggested_filename}"
        download.save_as(path)
        fmt = path.suffix.lstrip(".")
        got = read_download(path, fmt)
        reasons = {}
        for candidate in unmatched:
            if candidate.format != fmt:
                reasons[candidate.view] = f"format {candidate.format}, not {fmt}"
                continue
            reason = difference(got, expected_data(candidate.pipeline))
            if reason is None:
                unmatched.remove(candidate)
                break
            reasons[candidate.view] = reason
        else:
            pytest.fail(
                f"{label}: download {download.suggested_filename} ({len(got)} rows, columns {list(got.columns)}) "
                f"holds no offering view's data:\n{dump(reasons)}"
            )


# An update already under way settles in 3 polls this far apart (a page load, which Lumen builds in steps, in 3
# of 400 ms).
AFTER_CHANGE_POLL = 0.25


def _wait_for_update(page, before: tuple[str, str], label: str) -> None:
    """Wait until a view's data (or, for a restyling control, the plots' pixels) differ from ``before``."""
    deadline = time.monotonic() + UPDATE_TIMEOUT
    while time.monotonic() < deadline:
        page.wait_for_timeout(300)
        if (probe(page)["shown_fingerprint"], page.evaluate(CANVAS_DIGEST_JS)) != before:
            wait_rendered(page, require_content=False, poll=AFTER_CHANGE_POLL)
            return
    pytest.fail(f"{label}: no view changed within {UPDATE_TIMEOUT}s")


def exercise_control(page, control: Control, app: str, label: str) -> None:
    what = f"{label}: widget {control.label!r}"
    before = (probe(page)["shown_fingerprint"], page.evaluate(CANVAS_DIGEST_JS))
    put_back = change(page, control)
    _wait_for_update(page, before, f"{what} changed from {control.value!r}")
    changed = (probe(page)["shown_fingerprint"], page.evaluate(CANVAS_DIGEST_JS))
    put_back()
    _wait_for_update(page, changed, f"{what} put back to {control.value!r}")
    if (app, control.label) not in CANNOT_RESTORE:
        assert probe(page)["shown_fingerprint"] == before[0], (
            f"{what} put back to {control.value!r}, but the views do not show the data they showed before"
        )


def _served(request, spec: Path, front_door: str):
    server = request.getfixturevalue(SERVERS[front_door])
    if front_door == "lumen":
        assert RUNTIME_LINE in server.log(), server.log()[-3000:]
    return server.app(spec.stem)


def _check_clean(watch, served, label: str) -> None:
    assert not watch.problems(), f"{label}: the browser saw problems:\n{dump(watch.problems())}"
    assert not served.faults(), f"{label}: the server logged faults:\n" + "\n".join(
        served.log().splitlines()[-80:]
    )


def test_every_spec_has_a_sweep_door():
    assert sorted(FULL_SWEEP_DOOR) == sorted(s.stem for s in EXAMPLE_SPECS)
    assert set(FULL_SWEEP_DOOR.values()) == set(SERVERS)


@pytest.mark.parametrize(
    ("spec", "front_door"),
    [(s, FULL_SWEEP_DOOR.get(s.stem, "lumen")) for s in EXAMPLE_SPECS],
    ids=[f"{s.stem}-{FULL_SWEEP_DOOR.get(s.stem, 'lumen')}" for s in EXAMPLE_SPECS],
)
def test_every_control_works(
    spec, front_door, request, examples_server, page_and_watch, screenshot_dir, tmp_path
):
    served = _served(request, spec, front_door)
    page, watch = page_and_watch
    label = f"{front_door} serve specs/{spec.name}"
    shot = screenshot_dir / f"controls-{front_door}-{spec.stem}"
    try:
        use_every_control(page, served, spec, label, examples_server.url.rsplit("/", 1)[0], shot, tmp_path)
    except BaseException:
        page.screenshot(path=f"{shot}-failed.png")
        raise
    _check_clean(watch, served, label)


@pytest.mark.parametrize(
    ("spec", "front_door"),
    [(s, OTHER_DOOR[FULL_SWEEP_DOOR.get(s.stem, "lumen")]) for s in EXAMPLE_SPECS],
    ids=[f"{s.stem}-{OTHER_DOOR[FULL_SWEEP_DOOR.get(s.stem, 'lumen')]}" for s in EXAMPLE_SPECS],
)
def test_the_other_door_serves_it(
    spec, front_door, request, examples_server, page_and_watch, screenshot_dir, tmp_path
):
    """The runtime is on the page; the first tab's downloads, its first widget and the header's reload work."""
    served = _served(request, spec, front_door)
    page, watch = page_and_watch
    label = f"{front_door} serve specs/{spec.name}"
    shot = screenshot_dir / f"door-{front_door}-{spec.stem}"
    offered = declared_downloads(spec)
    oracle = _PipelineOracle(examples_server.url.rsplit("/", 1)[0], spec.stem)
    try:
        page.goto(served.url)
        wait_rendered(page)
        page.screenshot(path=f"{shot}.png")
        assert page.evaluate(PLOT_LAYOUT_GUARDED_JS), (
            f"{label}: lumen-ext's plot-layout guard is not on the page"
        )
        shown = next(_tabs(page, list(offered)))
        check_current_view(page, label)
        check_downloads(page, [d for title in shown for d in offered[title]], oracle, tmp_path, label)
        controls = visible_controls(page)
        assert controls, f"{label}: no widget found\n{dump(probe(page))}"
        exercise_control(page, controls[0], spec.stem, label)
        header = [b for b in reload_buttons(page) if b["stamp"] is None]
        assert header, f"{label}: no reload button in the header: {reload_buttons(page)}"
        reload_dashboard(page, header[0], label)
    except BaseException:
        page.screenshot(path=f"{shot}-failed.png")
        raise
    _check_clean(watch, served, label)


def check_reload_buttons(page, layouts: list[str], label: str) -> None:
    """Each layout's reload button, tab after tab, then the header's: the server reloads without a fault, the page
    re-renders.

    Without lumen-ext's plot-layout guard, BokehJS raised "Cannot read properties of undefined (reading
    'top_panel')" on the first layout reload of specs/penguins.yaml on about half the pages, under either door
    (panel-extensions/panel-material-ui#548); with it, any browser error fails.
    """
    assert page.evaluate(PLOT_LAYOUT_GUARDED_JS), f"{label}: lumen-ext's plot-layout guard is not on the page"
    for shown in _tabs(page, layouts):
        buttons = reload_buttons(page)
        assert [b for b in buttons if b["stamp"] is not None], (
            f"{label}: no reload button on {shown}: {buttons}"
        )
        for button in [b for b in buttons if b["stamp"] is not None]:
            reload_layout(page, button, f"{label} ({', '.join(shown)})")
    header = [b for b in reload_buttons(page) if b["stamp"] is None]
    assert header, f"{label}: no reload button in the header: {reload_buttons(page)}"
    reload_dashboard(page, header[0], label)


def use_every_control(
    page, served, spec: Path, label: str, oracle_url: str, shot: Path, folder: Path
) -> None:
    offered = declared_downloads(spec)
    expected_data = _PipelineOracle(oracle_url, spec.stem)
    page.goto(served.url)
    wait_rendered(page)
    page.screenshot(path=f"{shot}.png")
    # Downloads first, on every tab: a control that cannot be put back exactly (CANNOT_RESTORE) would leave the
    # pipelines other tabs share filtered differently from a freshly opened page.
    for shown in _tabs(page, list(offered)):
        where = f"{label} ({', '.join(shown)})"
        check_current_view(page, where)
        check_downloads(page, [d for title in shown for d in offered[title]], expected_data, folder, where)
    # A filter Lumen shows on several tabs (the pipeline they share) is operated on the first tab showing it.
    shared = SharedFilters(spec)
    exercised = 0
    for shown in _tabs(page, list(offered)):
        where = f"{label} ({', '.join(shown)})"
        for control in visible_controls(page):
            if shared.first_showing(control):
                exercise_control(page, control, spec.stem, where)
                exercised += 1
    assert exercised, f"{label}: no widget found\n{dump(probe(page))}"
    check_reload_buttons(page, list(offered), label)
