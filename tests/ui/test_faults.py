"""Faults in front of users: break a data file under a running `lumen-ext serve`, then fix it, in a real Chromium.

The dashboard has two layouts over two files: ``Stable`` (a table, filtered by city) reads ``stable.csv``;
``Fragile`` (a bar chart and a table, filtered by fruit) reads ``fragile.csv``. While the server runs,
``fragile.csv`` is deleted, then corrupted, then replaced. Each time:

* a new visitor gets the page with one error card in place of each view of ``Fragile`` (never the diagnostics
  page, never one card for the whole layout), ``Stable`` keeps its rows and its filter keeps working;
* a session opened before the breakage sees the cards on its next filter change, within seconds;
* every card quotes one error id, the root cause's: the server log has it with the root exception;
* after the replacement the next change brings the views back, with the new data, without a restart.

Served by `lumen-ext serve` with the data-aware checks on (the default: a file missing at run time is a fault of
the views that read it, not a spec error), and by Lumen's own `lumen serve` with lumen-ext installed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from support.dashboard_page import plots_drew, poll_until, set_filter

pytestmark = pytest.mark.ui

SETTLE_TIMEOUT = 60  # seconds for a new session's dashboard to show its views
CHANGE_TIMEOUT = 10  # seconds for an open session to show what a filter change did: "promptly"
STABLE = "city,visits\nOslo,3\nLima,5\nPune,7\n"
FRAGILE = "fruit,weight\napple,10\npear,20\n"
REPLACED = "fruit,weight\napple,11\npear,21\nplum,31\n"
SPEC = """
config:
  title: Fault isolation
  layout: column
sources:
  stable:
    type: file
    tables:
      stable: stable.csv
  fragile:
    type: file
    tables:
      fragile: fragile.csv
pipelines:
  stable:
    source: stable
    table: stable
    filters:
      - type: widget
        field: city
  fragile:
    source: fragile
    table: fragile
    filters:
      - type: widget
        field: fruit
layouts:
  - title: Stable
    pipeline: stable
    views:
      - type: table
        title: Visits
        show_index: false
  - title: Fragile
    pipeline: fragile
    views:
      - type: hvplot
        title: Weights
        kind: bar
        x: fruit
        y: weight
      - type: table
        title: Fruit rows
        show_index: false
"""
# What the browser's filter widgets hold, by label: a failure message then says what the page asked for.
FILTER_VALUES_JS = """() => Object.fromEntries(window.Bokeh.documents.flatMap((doc) => [...doc.all_models])
  .filter((m) => Array.isArray(m.options) && (m.label ?? m.title)).map((m) => [m.label ?? m.title, m.value]))"""
# What each Tabulator's Bokeh model holds (not what it drew): a failure then tells stale data from a stale drawing.
TABLE_DATA_JS = """() => window.Bokeh.documents.flatMap((doc) => [...doc.all_models])
  .filter((m) => m.type.endsWith('Tabulator') && m.source)
  .map((m) => Object.fromEntries(Object.entries(m.source.data instanceof Map ? Object.fromEntries(m.source.data)
    : m.source.data).map(([k, v]) => [k, Array.from(v)])))"""
ERROR_ID = re.compile(r"lx-[0-9a-f]{8}")
# A failure must never reach the viewer as a traceback, or the server as a failed Bokeh callback.
CALLBACK_FAILURE = re.compile(r"Exception in callback|Callback failed")


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "stable.csv").write_text(STABLE)
    (project / "fragile.csv").write_text(FRAGILE)
    spec = project / "faults.yaml"
    spec.write_text(SPEC)
    return spec


def _seen(page) -> dict:
    cards = page.locator(".lx-fault-card").all_inner_texts()
    row_texts = page.locator(".tabulator-row").filter(visible=True).all_inner_texts()
    return {
        "plots": plots_drew(page),
        "rows": len(row_texts),
        "row_texts": row_texts,
        "cards": cards,
        "ids": sorted({m for card in cards for m in ERROR_ID.findall(card)}),
        "diagnostics": page.locator(".lumen-ext-diagnostics").count(),
        "filters": page.evaluate(FILTER_VALUES_JS),
        "table_data": page.evaluate(TABLE_DATA_JS),
        "tracebacks": page.get_by_text("Traceback").count(),
    }


def _load(page, url: str, expected, what: str) -> dict:
    """Open a fresh session, wait until it shows ``expected`` (Lumen builds layouts after the page loads, one after
    the other, so a first calm moment may be half a dashboard), then check it still does a second later."""
    page.goto(url)
    poll_until(page, _seen, expected, what, SETTLE_TIMEOUT)
    page.wait_for_timeout(1000)
    state = _seen(page)
    assert expected(state), f"{what}: seen, then changed to {state}"
    return state


def _wait_for(page, condition, what: str) -> dict:
    return poll_until(page, _seen, condition, f"{what} (after the change)", CHANGE_TIMEOUT)


def _check_cards(state: dict, log: str, where: str) -> str:
    """Two cards (one per view of ``Fragile``) quoting one id, which the log shows with the root exception."""
    assert len(state["cards"]) == 2, state
    assert all("could not be shown: its data could not be loaded" in card for card in state["cards"]), state
    assert len(state["ids"]) == 1, f"every card quotes the root cause's id: {state}"
    (error_id,) = state["ids"]
    recorded = re.search(rf"error {error_id} while {where}: (\w+)", log)
    assert recorded, f"{error_id} is not in the server log as {where!r}"
    assert re.search(rf"error {error_id} while .*\nTraceback", log), "the log has the traceback under the id"
    assert state["tracebacks"] == 0 and state["diagnostics"] == 0, state
    return recorded.group(1)


def check_fault_cycle(context, url: str, data_file: Path, server_log) -> None:
    """The whole scenario against a served ``faults.yaml``; ``server_log()`` returns the log text so far."""
    opened = context.new_page()
    # 3 stable rows + 2 fragile rows, no card.
    _load(opened, url, lambda s: s["cards"] == [] and s["rows"] == 5, "a healthy dashboard")
    _wait_for(opened, lambda s: s["plots"] == 1, "the fragile bar chart draws")

    shown_ids: list[str] = []
    for breakage, fruit in (("missing", ["apple"]), ("corrupt", ["pear"])):
        if breakage == "missing":
            data_file.unlink()
        else:
            data_file.write_bytes(b"\x00\xff\xfe garbage \x00\n\x01\x02")
        visitor = context.new_page()
        # A card per view of Fragile, and Stable's 3 rows.
        broken = _load(
            visitor,
            url,
            lambda s: len(s["cards"]) == 2 and s["rows"] == 3,
            f"{breakage}: a new visitor's cards",
        )
        exception = _check_cards(broken, server_log(), "loading pipeline 'fragile'")
        if breakage == "missing":
            assert exception == "FileNotFoundError"
        assert broken["plots"] == 0, "no chart but cards"
        set_filter(visitor, "City", ["Lima"])
        _wait_for(visitor, lambda s: s["rows"] == 1 and len(s["cards"]) == 2, "the stable filter still works")
        visitor.close()

        # The session opened before the breakage: its next change on the fragile filter shows the cards, with
        # this breakage's id (after the deletion the open session's cards already stand there, with its id).
        set_filter(opened, "Fruit", fruit)
        now = _wait_for(
            opened,
            lambda s, before=shown_ids: len(s["cards"]) == 2 and s["ids"] and s["ids"] != before,
            f"{breakage}: cards with a new error id in the open session",
        )
        _check_cards(now, server_log(), "computing the data of pipeline 'fragile'")
        shown_ids = now["ids"]
        assert now["rows"] == 3, "the open session's stable table is untouched"
        assert now["plots"] == 0, "the old chart is gone: the card stands in its place"

    data_file.write_text(REPLACED)
    # A combination never asked for, so it reads the file (the session's options are still apple and pear).
    set_filter(opened, "Fruit", ["apple", "pear"])
    # One snapshot must show all of it: the views come back (cards gone, chart drawn) and the table rows are the
    # replaced file's (pear weighs 21 now); the table may be drawn twice on the way, so no second read.
    _wait_for(
        opened,
        lambda s: (
            not s["cards"] and s["rows"] == 5 and s["plots"] == 1 and any("21" in r for r in s["row_texts"])
        ),
        "recovery in the open session, with the replaced file's data",
    )
    opened.close()
    # 3 stable + 3 fragile rows, no card.
    _load(
        context.new_page(), url, lambda s: s["cards"] == [] and s["rows"] == 6, "a new visitor after recovery"
    )
    assert not CALLBACK_FAILURE.search(server_log()), "a fault must not fail the Bokeh callback"


@pytest.mark.parametrize("door", ["lumen-ext serve", "lumen serve"])
def test_broken_data_turns_its_views_into_cards_and_recovers(door, serve, lumen_serve, browser, tmp_path):
    """Both front doors: `lumen serve` with lumen-ext installed runs the same hooks (without lumen-ext's
    per-session validation)."""
    from support.browser import PageWatch

    spec = _project(tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 1300})
    watch = PageWatch()
    context.on("page", watch.attach)
    server = serve(spec) if door == "lumen-ext serve" else lumen_serve(spec, cwd=spec.parent)
    try:
        with server as served:
            check_fault_cycle(context, served.url, spec.parent / "fragile.csv", served.log)
            assert served.process.poll() is None, "the server must keep serving"
    finally:
        context.close()
    assert watch.problems() == {}
