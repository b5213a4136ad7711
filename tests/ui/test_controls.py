"""Every control of every example dashboard works in Chromium, under `lumen-ext serve` or `lumen serve`.

Every spec in ``specs/`` has all its controls used under one front door (``FULL_SWEEP_DOOR``) and is checked under
the other (``test_the_other_door_serves_it``): the doors install the same hooks table and differ only in how the
server starts, so the second door needs one page showing that its runtime is on and that a widget, the downloads
and the header's reload work, not every control again (the sweep is the suite's largest cost).

The sweep, on a server per front door and xdist worker, runs `lumen-ext test`'s engine on one page
(`lumen_ext.gate.drive.exercise`), which

* opens every tab (timing its first render), checks every view shows data and clicks every download icon (a file
  must arrive);
* then, tab after tab, changes every widget through its own UI (menus, options, slider rails and handles; a filter
  shown on several tabs, on the first), waits until a view shows other data (or, for controls that only restyle,
  other pixels), puts it back the same way and waits until the views change again.

On top of the engine's records this test checks what only a test knows: each downloaded file holds the rows of one
of the tab's views, i.e. what that view's pipeline holds on a freshly opened page (`lumen-ext serve`'s ``/data``
endpoint; which views offer a download, and of which pipeline, comes from the spec); every control changed the
views and, put back, shows the data shown before; the spec's checks file's pipeline assertions hold on that same
``/data`` (what `lumen-ext test` evaluates); last, each layout's reload button and the header's re-render the
dashboard.

One page does all of it: a page load is what costs most here (the server builds the dashboard, the browser draws
it). A console error, a page error or an exception in the server log fails the test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.browser import dump
from support.dashboard_page import check_current_view, probe, wait_rendered
from support.downloads import DeclaredDownload, declared_downloads, difference, pipeline_result, read_download
from support.paths import EXAMPLE_SPECS
from support.reloads import reload_buttons, reload_dashboard, reload_layout

from lumen_ext.checks.files import checks_path
from lumen_ext.checks.models import ChecksFile
from lumen_ext.gate.controls import visible_controls
from lumen_ext.gate.data import pipeline_checks
from lumen_ext.gate.downloads import Download, click_downloads
from lumen_ext.gate.drive import ControlRun, PageRun, exercise, operate
from lumen_ext.gate.outline import DashboardOutline
from lumen_ext.serving.lumen_serve import RUNTIME_LINE
from lumen_ext.validation.loader import load_text

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
TABS = '.bk-tab, [role="tab"]'


def _tabs(page, layouts: list[str]):
    """Yield the titles of the layouts shown, tab after tab (all of them at once when there are no tabs)."""
    tabs = page.locator(TABS).filter(visible=True)
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


def check_downloads(got: list[Download], wanted: list[DeclaredDownload], expected_data, where: str) -> None:
    """The files the buttons delivered: as many as the views offer, each holding a different offering view's data."""
    assert len(got) == len(wanted), f"{where}: {len(got)} download buttons, but the spec offers {wanted}"
    unmatched = list(wanted)
    for download in got:
        assert download.problem is None, f"{where}: download {download.button + 1}: {download.problem}"
        fmt = download.path.suffix.lstrip(".")
        frame = read_download(download.path, fmt)
        reasons = {}
        for candidate in unmatched:
            if candidate.format != fmt:
                reasons[candidate.view] = f"format {candidate.format}, not {fmt}"
                continue
            reason = difference(frame, expected_data(candidate.pipeline))
            if reason is None:
                unmatched.remove(candidate)
                break
            reasons[candidate.view] = reason
        else:
            pytest.fail(
                f"{where}: download {download.filename} ({len(frame)} rows, columns {list(frame.columns)}) "
                f"holds no offering view's data:\n{dump(reasons)}"
            )


def check_page_downloads(
    run: PageRun, offered: dict[str, list[DeclaredDownload]], tabs: bool, expected_data, label: str
) -> None:
    """Each tab's downloads (all layouts' at once without tabs) against what the spec offers there."""
    by_tab: dict[tuple[str, ...], list[Download]] = {}
    for item in run.downloads:
        by_tab.setdefault(item.shown, []).append(item.download)
    groups = [(title,) for title in offered] if tabs else [tuple(offered)]
    assert set(by_tab) <= set(groups), f"{label}: downloads offered on {list(by_tab)}, expected on {groups}"
    for shown in groups:
        wanted = [d for title in shown for d in offered[title]]
        check_downloads(by_tab.get(shown, []), wanted, expected_data, f"{label} ({', '.join(shown)})")


def check_control(control: ControlRun, app: str, label: str) -> None:
    what = f"{label} ({', '.join(control.shown)}): widget {control.label!r}"
    assert control.problem is None, f"{what}: {control.problem}"
    assert control.changed, f"{what} changed from {control.value!r}: no view changed"
    assert control.changed_back, f"{what} put back to {control.value!r}: no view changed"
    if (app, control.label) not in CANNOT_RESTORE:
        assert control.restored, (
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


def _each_spec_at(door_of):
    """Parametrize over the example specs, each with the front door ``door_of(its sweep door)``; a spec missing
    from ``FULL_SWEEP_DOOR`` is swept under `lumen serve` until test_every_spec_has_a_sweep_door says so."""
    cases = [(spec, door_of(FULL_SWEEP_DOOR.get(spec.stem, "lumen"))) for spec in EXAMPLE_SPECS]
    return pytest.mark.parametrize(
        ("spec", "front_door"), cases, ids=[f"{spec.stem}-{door}" for spec, door in cases]
    )


@_each_spec_at(lambda sweep_door: sweep_door)
def test_every_control_works(
    spec, front_door, request, examples_server, page_and_watch, screenshot_dir, tmp_path
):
    served = _served(request, spec, front_door)
    page, watch = page_and_watch
    label = f"{front_door} serve specs/{spec.name}"
    shot = screenshot_dir / f"controls-{front_door}-{spec.stem}"
    oracle = examples_server.base_url
    try:
        use_every_control(page, served, spec, label, oracle, tmp_path)
        page.screenshot(path=f"{shot}.png")
    except BaseException:
        page.screenshot(path=f"{shot}-failed.png")
        raise
    _check_clean(watch, served, label)
    check_data_assertions(spec, oracle, label)


@_each_spec_at(OTHER_DOOR.__getitem__)
def test_the_other_door_serves_it(
    spec, front_door, request, examples_server, page_and_watch, screenshot_dir, tmp_path
):
    """The runtime is on the page; the first tab's downloads, its first widget and the header's reload work."""
    served = _served(request, spec, front_door)
    page, watch = page_and_watch
    label = f"{front_door} serve specs/{spec.name}"
    shot = screenshot_dir / f"door-{front_door}-{spec.stem}"
    offered = declared_downloads(spec)
    oracle = _PipelineOracle(examples_server.base_url, spec.stem)
    try:
        page.goto(served.url)
        wait_rendered(page)
        page.screenshot(path=f"{shot}.png")
        assert page.evaluate(PLOT_LAYOUT_GUARDED_JS), (
            f"{label}: lumen-ext's plot-layout guard is not on the page"
        )
        shown = next(_tabs(page, list(offered)))
        check_current_view(page, label)
        got = click_downloads(page, tmp_path, "first-tab")
        check_downloads(got, [d for title in shown for d in offered[title]], oracle, label)
        controls = visible_controls(page)
        assert controls, f"{label}: no widget found\n{dump(probe(page))}"
        check_control(operate(page, controls[0], []), spec.stem, label)
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


def check_data_assertions(spec: Path, oracle_url: str, label: str) -> None:
    """The spec's checks file's ``pipelines:`` assertions hold on the pipelines' results, as `lumen-ext test`
    evaluates them (the data is the same under both doors; ``/data`` is lumen-ext serve's)."""
    checks_file = checks_path(spec)
    if not checks_file.is_file():
        return
    loaded = load_text(checks_file.read_text(encoding="utf-8"))
    checks = ChecksFile.model_validate(loaded.data)
    results = pipeline_checks(
        oracle_url, spec.stem, checks, lambda path: f"{checks_file.name}:{loaded.locate(path, 'key').line}"
    )
    failed = [f"{c.name} ({c.where}): {c.detail}" for c in results if not c.ok]
    assert not failed, f"{label}: assertions of {checks_file.name} do not hold:\n" + "\n".join(failed)


def use_every_control(page, served, spec: Path, label: str, oracle_url: str, folder: Path) -> None:
    offered = declared_downloads(spec)
    data = load_text(spec.read_text(encoding="utf-8")).data
    # Downloads are clicked first, on every tab: a control that cannot be put back exactly (CANNOT_RESTORE) would
    # leave the pipelines other tabs share filtered differently from a freshly opened page.
    run = exercise(page, served.url, data, folder)
    assert run.problem is None, f"{label}: {run.problem}"
    for title, layout in run.layouts.items():
        assert not layout.problems, f"{label} ({title}): " + "; ".join(layout.problems)
    assert set(run.layouts) == set(offered), (
        f"{label}: visited {list(run.layouts)}, the spec has {list(offered)}"
    )
    tabs = DashboardOutline.from_spec(data).tabs
    check_page_downloads(run, offered, tabs, _PipelineOracle(oracle_url, spec.stem), label)
    assert run.controls, f"{label}: no widget found"
    for control in run.controls:
        check_control(control, spec.stem, label)
    assert not run.error_cards, f"{label}: error cards on the page: {run.error_cards}"
    check_reload_buttons(page, list(offered), label)
