"""``lumen-ext serve --reload``: an analyst saves the spec (or a data file) and the open page shows it, no restart.

One server and one page for the whole loop: a spec edit, a data edit, a broken save (the diagnostics page, with the
rule and the line), an editor's atomic save fixing it (the dashboard again). Each step checks that the page really
reloaded itself (a marker set in the old page is gone) and how long that took.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui

SPEC = """\
config:
  title: Sales one
sources:
  sales:
    type: file
    tables:
      sales: sales.csv
layouts:
  - title: Sales by region
    source: sales
    views:
      - type: table
        table: sales
"""
RELOAD_TIMEOUT = 20  # seconds from a save to the new page; about one on an idle machine (the figures print)
CONTENT_TIMEOUT = 60_000  # ms for the reloaded dashboard to draw its table on a loaded 2-core machine


def _save_and_wait_for_reload(page, save) -> float:
    """Mark the page, ``save()``, wait until the page is a new one; the seconds that took."""
    page.evaluate("() => { window.lxBeforeSave = true }")
    start = time.monotonic()
    save()
    page.wait_for_function(
        "() => window.lxBeforeSave === undefined && window.Bokeh && window.Bokeh.documents.length > 0",
        timeout=RELOAD_TIMEOUT * 1000,
    )
    return time.monotonic() - start


def _atomic_write(path, text: str) -> None:
    """Save as many editors do: a temporary file renamed over the original (a new inode)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def _sales_project(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A folder holding the sales spec and its two-row CSV: (the spec, the CSV, the folder)."""
    project = tmp_path / "project"
    project.mkdir()
    data = project / "sales.csv"
    data.write_text("region,amount\nE,1\nW,2\n")
    spec = project / "sales.yaml"
    spec.write_text(SPEC)
    return spec, data, project


def test_saving_the_spec_or_its_data_reloads_the_open_page(tmp_path, serve, page_and_watch):
    spec, data, _ = _sales_project(tmp_path)
    page, watch = page_and_watch
    rows = page.locator(".tabulator-row")
    took = {}
    with serve(spec, "--reload") as served:
        page.goto(served.url)
        rows.nth(1).wait_for(timeout=CONTENT_TIMEOUT)
        assert page.get_by_text("Sales one").count()

        # The spec: the dashboard's title and a layout's.
        edited = SPEC.replace("Sales one", "Sales two").replace("Sales by region", "Sales by area")
        took["spec"] = _save_and_wait_for_reload(page, lambda: spec.write_text(edited))
        page.get_by_text("Sales by area").first.wait_for(timeout=CONTENT_TIMEOUT)
        assert page.get_by_text("Sales two").count() and not page.get_by_text("Sales one").count()

        # A data file the spec reads: a new row, not a stale cached table.
        took["data"] = _save_and_wait_for_reload(page, lambda: data.write_text(data.read_text() + "N,3\n"))
        rows.nth(2).wait_for(timeout=CONTENT_TIMEOUT)
        assert rows.count() == 3

        # A broken save: the diagnostics, with the rule and the line, in place of the dashboard.
        broken = edited.replace("type: file", "type: fiel")
        took["broken"] = _save_and_wait_for_reload(page, lambda: spec.write_text(broken))
        error = page.locator(".lx-error")
        error.wait_for(timeout=CONTENT_TIMEOUT)
        text = error.inner_text()
        assert "sales.yaml cannot be served" in text and "this page reloads when you save it" in text, text
        assert "error[unknown-type]" in text and "line 5, column 11" in text and "file" in text, text

        # Fixed by an atomic save (a new inode in the watched folder): the dashboard is back.
        took["fixed"] = _save_and_wait_for_reload(page, lambda: _atomic_write(spec, edited))
        rows.nth(2).wait_for(timeout=CONTENT_TIMEOUT)
        assert not page.locator(".lx-error").count()
        assert page.get_by_text("Sales by area").count()

        assert served.process.poll() is None, "the server kept running through every save"
        log = served.log()
    print("save -> reloaded page, seconds:", {step: round(seconds, 2) for step, seconds in took.items()})
    assert not watch.problems(), watch.problems()
    assert "Traceback" not in log and "Exception in callback" not in log, log[-3000:]
    # The terminal tells what the page did: each change, the broken spec's diagnostic, the fixed one checked.
    assert log.count("open page(s) of sales reloading") == 4, log[-3000:]
    assert "sales.yaml:5:11: error[unknown-type]" in log
    assert "lumen-ext: sales.yaml: no problems found" in log


def test_lumen_serve_autoreload_reloads_for_data_files_and_shows_diagnostics(tmp_path, page_and_watch):
    """Lumen's own ``lumen serve --autoreload``: Panel's watcher reloads pages for the spec only; lumen-ext's adds
    its data files, and a broken save gets lumen-ext's diagnostics page instead of Lumen's "did not publish any
    contents" (or, for a YAML syntax error, an HTTP 500)."""
    from support.browser import lumen_serve_spec

    spec, data, project = _sales_project(tmp_path)
    page, watch = page_and_watch
    rows = page.locator(".tabulator-row")
    took = {}
    with lumen_serve_spec(spec, tmp_path, project, extra_args=("--autoreload",)) as served:
        page.goto(served.url)
        rows.nth(1).wait_for(timeout=CONTENT_TIMEOUT)

        took["data"] = _save_and_wait_for_reload(page, lambda: data.write_text(data.read_text() + "N,3\n"))
        rows.nth(2).wait_for(timeout=CONTENT_TIMEOUT)

        # A YAML syntax error, saved right after: Panel's watcher pauses a second after each change.
        broken = SPEC.replace("layouts:", "layouts:\n  bad: [")
        took["broken"] = _save_and_wait_for_reload(page, lambda: spec.write_text(broken))
        error = page.locator(".lx-error")
        error.wait_for(timeout=CONTENT_TIMEOUT)
        text = error.inner_text()
        assert "error[yaml-syntax]" in text and "line 10, column 3" in text, text

        took["fixed"] = _save_and_wait_for_reload(page, lambda: _atomic_write(spec, SPEC))
        rows.nth(2).wait_for(timeout=CONTENT_TIMEOUT)
        assert not page.locator(".lx-error").count()
        assert served.process.poll() is None
        log = served.log()
    print(
        "lumen serve --autoreload, save -> reloaded page, seconds:", {k: round(v, 2) for k, v in took.items()}
    )
    assert not watch.problems(), watch.problems()
    assert "Traceback" not in log and "Uncaught exception" not in log, log[-3000:]
    assert "sales.yaml:10:3: error[yaml-syntax]" in log
