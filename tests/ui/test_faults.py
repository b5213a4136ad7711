"""Faults stay local: break a data file under a running `lumen-ext serve`, then fix it, in a real Chromium.

The dashboard has two layouts: ``Stable`` reads ``stable.csv``, ``Fragile`` reads ``fragile.csv``. While the server
runs, ``fragile.csv`` is deleted, then corrupted, then restored; each time a new page load (a new session) must
show an error card with an error id in place of ``Fragile`` only, ``Stable`` must keep its rows, the id must be
in the server log, and no traceback may reach the page. After the restore the page recovers without a restart.

Serving uses ``--no-data``: the data-aware checks of validation would (rightly) stop a session at the missing
file before Lumen runs, and this test is about what happens inside the dashboard when data breaks at run time.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.ui

SETTLE_TIMEOUT = 60  # seconds for a session's dashboard to show its views
STABLE = "a,b\n1,x\n2,y\n3,z\n"
FRAGILE = "c,d\n10,p\n20,q\n"
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
  fragile:
    source: fragile
    table: fragile
    filters:
      - type: widget
        field: c
layouts:
  - title: Stable
    pipeline: stable
    views:
      - type: table
        show_index: false
  - title: Fragile
    pipeline: fragile
    views:
      - type: table
        show_index: false
"""


def _project(tmp_path: Path) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "stable.csv").write_text(STABLE)
    (project / "fragile.csv").write_text(FRAGILE)
    spec = project / "faults.yaml"
    spec.write_text(SPEC)
    return spec


def _load(page, url: str) -> dict:
    """Open a fresh session and wait until it shows tables or fault cards; what the viewer sees."""
    page.goto(url)
    deadline = time.monotonic() + SETTLE_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        page.wait_for_timeout(500)
        state = {
            "rows": page.locator(".tabulator-row").count(),
            "cards": page.locator(".lx-fault-card").all_inner_texts(),
            "text": page.locator("body").inner_text(),
        }
        if (state["rows"] or state["cards"]) and state == last:
            return state
        last = state
    pytest.fail(f"the page did not settle within {SETTLE_TIMEOUT}s: {last}")


def check_fault_cycle(page, url: str, data_file: Path, server_log) -> None:
    """The whole scenario against a served ``faults.yaml``; ``server_log()`` returns the log text so far."""
    healthy = _load(page, url)
    assert healthy["cards"] == [], healthy
    assert healthy["rows"] == 5  # 3 stable rows + 2 fragile rows

    for breakage in ("missing", "corrupt"):
        if breakage == "missing":
            data_file.unlink()
        else:
            data_file.write_bytes(b"\x00\xff\xfe garbage \x00\n\x01\x02")
        broken = _load(page, url)
        assert len(broken["cards"]) == 1, (breakage, broken)
        card = broken["cards"][0]
        assert "Fragile could not be shown" in card
        assert broken["rows"] == 3, "the stable layout must still show its rows"
        error_id = re.search(r"lx-[0-9a-f]{8}", card)
        assert error_id, card
        assert error_id.group() in server_log(), "the card's error id must lead to the log entry"
        assert "Traceback" not in broken["text"] and str(data_file.parent) not in broken["text"]

    data_file.write_text(FRAGILE)
    recovered = _load(page, url)
    assert recovered["cards"] == [], recovered
    assert recovered["rows"] == 5


def test_broken_data_shows_a_card_and_recovers(serve, page_and_watch, tmp_path):
    page, watch = page_and_watch
    spec = _project(tmp_path)
    with serve(spec, "--no-data") as served:
        check_fault_cycle(page, served.url, spec.parent / "fragile.csv", served.log)
        assert served.process.poll() is None, "the server must keep serving"
    assert watch.page_errors == []
