"""A spec that cannot be served shows why, in the page, and recovers when the file is fixed."""

from __future__ import annotations

import urllib.request

import pytest

pytestmark = pytest.mark.ui

BROKEN = """\
config:
  title: Sales
sources:
  sales:
    type: fiel
    tables:
      sales: sales.csv
layouts:
  - title: Sales
    source: sales
    views:
      - type: table
        table: sales
"""


def test_broken_spec_shows_diagnostics_then_recovers(tmp_path, serve, page_and_watch):
    (tmp_path / "sales.csv").write_text("region,amount\nE,1\nW,2\n")
    spec = tmp_path / "sales.yaml"
    spec.write_text(BROKEN)
    page, watch = page_and_watch
    with serve(spec) as served:
        with urllib.request.urlopen(served.url) as response:
            assert response.status == 200 and b"bokeh" in response.read().lower()
        page.goto(served.url)
        error = page.locator(".lx-error")
        error.wait_for(timeout=60_000)
        text = error.inner_text()
        assert "sales.yaml cannot be served" in text
        assert "unknown-type" in text and "'fiel'" in text and "file" in text, text
        assert "5" in text, "the diagnostic names the line of the bad type"

        spec.write_text(BROKEN.replace("type: fiel", "type: file"))
        page.reload()
        page.locator(".tabulator-row").first.wait_for(timeout=60_000)
        assert page.locator(".tabulator-row").count() == 2
        assert not page.locator(".lx-error").count()
    assert not watch.problems(), watch.problems()
    # The broken spec is reported on the terminal too, but as the spec's fault, not a server exception.
    assert "unknown-type" in served.log()
    assert "Traceback" not in served.log()
