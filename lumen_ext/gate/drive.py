"""Using a whole dashboard in one page, as a viewer would, and recording what happened and how long it took.

:func:`exercise` opens the dashboard and

1. times the first render of the layouts shown at load, then opens every other tab (timing its first render);
   on each, checks that every view shows data (no empty view, no error card, plots drew and tables have rows)
   and clicks every download button (a file must arrive);
2. then, tab after tab, sets every widget to another value through its own UI (menus, options, slider rails
   and handles; a filter shown on several tabs, on the first: `lumen_ext.gate.controls`), times until the
   views show the new data, puts it back the same way and times that too.

It records instead of stopping at the first problem (`PageRun`), so `lumen-ext test` reports every failing
check and the browser tests (``tests/ui/test_controls.py``) add their own checks on the same records. Console
errors and the server log are watched by the caller (`lumen_ext.gate.browser.PageWatch`, `lumen_ext.gate.server`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumen_ext.gate.controls import Control, SharedFilters, change, visible_controls
from lumen_ext.gate.downloads import Download, click_downloads
from lumen_ext.gate.outline import DashboardOutline, LayoutOutline
from lumen_ext.gate.page import UPDATE_TIMEOUT, PageProblem, check_current_view, error_cards
from lumen_ext.gate.settle import NoChange, Snapshot, settle, snapshot

__all__ = ["ControlRun", "DownloadRun", "LayoutRun", "PageRun", "ViewRender", "exercise", "operate"]

TABS = '.bk-tab, [role="tab"]'  # Bokeh tabs; panel-material-ui (Lumen's default template) renders MUI tabs
AFTER_CHANGE_POLL = 0.25  # an update under way settles in 3 polls this far apart
LOAD_POLL = 0.4  # a page load, which Lumen builds in steps, in 3 polls this far apart


@dataclass
class ViewRender:
    found: bool  # located in the page (`lumen_ext.gate.outline`)
    seconds: float | None  # first render: until the view last changed
    empty: bool
    cards: int  # error cards in it


@dataclass
class LayoutRun:
    title: str
    first_render: float | None = None  # until what the page shows last changed
    views: dict[str, ViewRender] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


@dataclass
class DownloadRun:
    shown: tuple[str, ...]  # the layouts on screen, whose views offered it
    download: Download


@dataclass
class ControlRun:
    shown: tuple[str, ...]  # the layouts on screen while it was operated
    label: str
    kind: str
    value: Any  # before it was changed
    changed: bool | None = None  # the views showed something else (False: nothing visible changed)
    seconds: float | None = None  # the change: until the views last changed
    changed_back: bool | None = None  # putting it back changed what the views show
    back_seconds: float | None = None  # putting it back
    views: dict[tuple[str, str], float] = field(default_factory=dict)  # (layout, view) -> slowest change
    restored: bool | None = None  # the views show the data they showed before the change
    problem: str | None = None


@dataclass
class PageRun:
    url: str
    layouts: dict[str, LayoutRun] = field(default_factory=dict)
    downloads: list[DownloadRun] = field(default_factory=list)
    controls: list[ControlRun] = field(default_factory=list)
    error_cards: list[str] = field(default_factory=list)  # error ids of lumen-ext fault cards at the end
    problem: str | None = None  # the page could not be used at all (it never settled, an error alert)


def exercise(page, url: str, spec: Any, downloads: Path) -> PageRun:
    """Use every layout, download and control of the dashboard at ``url`` (``spec``: its data, as YAML gives
    it); downloaded files go to ``downloads``."""
    from playwright.sync_api import Error as PlaywrightError  # its TimeoutError too: a click that never lands

    outline = DashboardOutline.from_spec(spec)
    run = PageRun(url)
    started = time.monotonic()
    try:
        page.goto(url)
        at_load = _outlines(outline, outline.titles()[:1] if outline.tabs else outline.titles())
        loaded = settle(page, started, at_load, poll=LOAD_POLL, what="the dashboard")
        first = {layout.title: loaded for layout in at_load}
        for shown, clicked in _tabs(page, outline):
            if not all(layout.title in first for layout in shown):  # Lumen builds a tab when it is opened
                opened = settle(page, clicked, shown, poll=LOAD_POLL, what=shown[0].title)
                first.update((layout.title, opened) for layout in shown)
            elif clicked is not None:
                settle(page, clicked, [], poll=LOAD_POLL, what=shown[0].title)
            _first_visit(page, shown, first, run, downloads)
        shared = SharedFilters(spec)
        for shown, clicked in _tabs(page, outline):
            if clicked is not None:
                settle(page, clicked, [], poll=LOAD_POLL, what=shown[0].title)
            for control in visible_controls(page):
                if shared.first_showing(control):
                    run.controls.append(operate(page, control, shown))
        run.error_cards = error_cards(page)
    except (PageProblem, PlaywrightError) as exc:
        run.problem = str(exc)
    return run


def _outlines(outline: DashboardOutline, titles: list[str]) -> list[LayoutOutline]:
    # A title the spec does not give literally (Jinja) is still visited, without locating its views.
    return [outline.layout(title) or LayoutOutline(title) for title in titles]


def _tabs(page, outline: DashboardOutline) -> Iterator[tuple[list[LayoutOutline], float | None]]:
    """The layouts shown, tab after tab (all at once when there are no tabs), each with when its tab was
    clicked (``time.monotonic()``; None: no tabs)."""
    tabs = page.locator(TABS).filter(visible=True)
    if not tabs.count():
        yield _outlines(outline, outline.titles()), None
        return
    for i in range(tabs.count()):
        title = tabs.nth(i).text_content().strip()
        clicked = time.monotonic()
        tabs.nth(i).click()
        yield _outlines(outline, [title]), clicked


def _first_visit(page, shown: list[LayoutOutline], first: dict, run: PageRun, downloads: Path) -> None:
    """Record each shown layout's first render, check its views show data, click its downloads."""
    for layout in shown:
        record = run.layouts[layout.title] = LayoutRun(layout.title)
        settled = first[layout.title]
        record.first_render = settled.seconds
        for name in layout.views:
            state = settled.last.views.get((layout.title, name))
            seconds = settled.view_seconds.get((layout.title, name))
            record.views[name] = ViewRender(
                bool(state and state.found), seconds, bool(state and state.empty), state.cards if state else 0
            )
        for name, view in record.views.items():
            if view.cards:
                record.problems.append(f"view {name!r} shows an error card")
            elif view.found and view.empty:
                record.problems.append(f"view {name!r} is empty")
    where = ", ".join(layout.title for layout in shown)
    try:
        check_current_view(page, where)
    except PageProblem as exc:
        run.layouts[shown[0].title].problems.append(str(exc))
    titles = tuple(layout.title for layout in shown)
    files = click_downloads(page, downloads, f"tab{len(run.layouts)}")
    run.downloads.extend(DownloadRun(titles, file) for file in files)


def operate(page, control: Control, shown: list[LayoutOutline]) -> ControlRun:
    """Set ``control`` to another value, wait for the views to change, put it back, wait again; ``shown``: the
    layouts on screen, whose views are timed one by one (none: only the page as a whole)."""
    from playwright.sync_api import Error as PlaywrightError

    run = ControlRun(tuple(layout.title for layout in shown), control.label, control.kind, control.value)
    what = f"widget {control.label!r}"
    try:
        before = snapshot(page, shown)
        started = time.monotonic()
        put_back = change(page, control)
        run.changed, run.seconds, changed = _timed(page, started, shown, before, what, run)
        started = time.monotonic()
        put_back()
        if run.changed:
            run.changed_back, run.back_seconds, after = _timed(
                page, started, shown, changed, f"{what} put back", run
            )
        else:  # nothing to wait for
            after = settle(page, started, shown, require_content=False, poll=AFTER_CHANGE_POLL).last
        run.restored = after.shown[0] == before.shown[0]
    except (PageProblem, PlaywrightError) as exc:
        run.problem = str(exc)
    return run


def _timed(page, started: float, shown: list[LayoutOutline], before: Snapshot, what: str, run: ControlRun):
    """Wait until the views changed from ``before`` and settled: (whether they changed, seconds since ``started``,
    when the control's operation began, and what the page shows then).

    A change that shows nothing within the time allowed is not a fault in itself (a facet's sort order, a value
    no row has): it is recorded, and the page as it is then returned.
    """
    try:
        settled = settle(
            page,
            started,
            shown,
            before=before,
            require_content=False,
            require_change=True,
            poll=AFTER_CHANGE_POLL,
            timeout=UPDATE_TIMEOUT,
            what=what,
        )
    except NoChange:
        return False, None, snapshot(page, shown)
    for key, seconds in settled.view_seconds.items():
        run.views[key] = max(seconds, run.views.get(key, 0.0))
    return True, settled.seconds, settled.last
