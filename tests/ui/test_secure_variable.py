"""A ``secure: true`` variable never reaches the browser (issue #17 item 4), in a real Chromium, under both doors.

The spec's env variable holds the DuckDB database its source opens, a path whose file name is a random token,
and a view's title refers to it too. The server gets the value from its environment. Then:

* the source works: the table shows the database's rows (the secret reached the source, where it is needed);
* the title shows the mask (``••••``), and the server log says so once;
* the token is nowhere the browser can read it: not in the page's HTML (shadow roots included), not in any
  WebSocket frame in either direction, not in the ``/data`` answers for the pipeline.

`lumen-ext serve` runs with ``--no-validate``: with validation, it serves the ``secret-displayed`` diagnostics page
instead of the dashboard (the guard is what is tested here). `lumen serve` with lumen-ext installed builds it.
"""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from support.dashboard_page import poll_until

pytestmark = pytest.mark.ui

SETTLE_TIMEOUT = 60  # seconds for the dashboard to show its table
MASK = "••••"
SPEC = """
variables:
  warehouse:
    type: env
    key: LX_SECRET_WAREHOUSE
    secure: true
config:
  title: Secrets stay on the server
sources:
  vault:
    type: duckdb
    uri: $variables.warehouse
    tables:
      sales: SELECT * FROM sales
pipelines:
  sales:
    source: vault
    table: sales
layouts:
  - title: Sales
    pipeline: sales
    views:
      - type: table
        title: $variables.warehouse
        show_index: false
"""
# The page as the browser holds it: the document and every open shadow root (Panel renders into them).
PAGE_HTML_JS = """() => {
  const parts = [document.documentElement.outerHTML];
  const walk = (root) => root.querySelectorAll('*').forEach((el) => {
    if (el.shadowRoot) { parts.push(el.shadowRoot.innerHTML); walk(el.shadowRoot); }
  });
  walk(document);
  return parts.join('\\n');
}"""
# Text of the models Bokeh holds (titles, table data), however they are drawn.
MODEL_TEXT_JS = """() => JSON.stringify(window.Bokeh.documents.flatMap((doc) => [...doc.all_models]).map((m) =>
  [m.title ?? null, m.text ?? null, m.object ?? null, m.name ?? null]))"""


def _project(tmp_path: Path, token: str) -> tuple[Path, Path]:
    import duckdb

    project = tmp_path / "project"
    project.mkdir()
    database = project / f"lx-{token}.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute(
            "CREATE TABLE sales AS SELECT * FROM (VALUES ('north', 3), ('south', 5)) t(region, amount)"
        )
    spec = project / "secrets.yaml"
    spec.write_text(SPEC)
    return spec, database


def _seen(page) -> dict:
    return {
        "rows": page.locator(".tabulator-row").filter(visible=True).count(),
        "masked": page.get_by_text(MASK, exact=True).count(),
    }


def _data_answers(app_url: str) -> list[str]:
    base, app = app_url.rsplit("/", 1)
    answers = []
    for fmt in ("json", "csv"):
        try:
            with urllib.request.urlopen(f"{base}/data/{app}/sales?format={fmt}", timeout=30) as response:
                answers.append(f"{response.status} {response.read().decode(errors='replace')}")
        except urllib.error.HTTPError as exc:  # lumen serve validates /data: a 422 with the diagnostics
            answers.append(f"{exc.code} {exc.read().decode(errors='replace')}")
    return answers


@pytest.mark.parametrize("door", ["lumen-ext serve", "lumen serve"])
def test_secure_variable_never_reaches_the_browser(door, serve, lumen_serve, browser, tmp_path, monkeypatch):
    token = secrets.token_hex(16)
    spec, database = _project(tmp_path, token)
    monkeypatch.setenv("LX_SECRET_WAREHOUSE", str(database))  # the servers inherit this process's environment
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    frames: list[str | bytes] = []

    def record(
        payload: str | bytes,
    ) -> None:  # Playwright tags its handlers: a Python function, not a builtin
        frames.append(payload)

    def watch_socket(ws) -> None:
        ws.on("framereceived", record)
        ws.on("framesent", record)

    page.on("websocket", watch_socket)
    server = serve(spec, "--no-validate") if door == "lumen-ext serve" else lumen_serve(spec, cwd=spec.parent)
    try:
        with server as served:
            response = page.goto(served.url)
            first_html = response.text()
            # The table's rows come from the database the secret names; the title shows the mask.
            poll_until(
                page, _seen, lambda s: s["rows"] == 2 and s["masked"] >= 1, "the masked table", SETTLE_TIMEOUT
            )
            page.wait_for_timeout(1000)  # let the last frames of the session arrive
            shown = page.evaluate(PAGE_HTML_JS) + page.evaluate(MODEL_TEXT_JS)
            answers = _data_answers(served.url)
            log = served.log()
    finally:
        context.close()

    assert frames, "the page talked to the server over its WebSocket"
    assert "Sales" in shown and MASK in shown
    leaks = {
        "page HTML as served": token in first_html,
        "page HTML and DOM": token in shown,
        "WebSocket frames": any(token in f if isinstance(f, str) else token.encode() in f for f in frames),
        "/data answers": any(token in answer for answer in answers),
    }
    assert not any(leaks.values()), f"the secret reached: {[k for k, v in leaks.items() if v]}"
    if door == "lumen-ext serve":
        assert answers[0].startswith("200 "), answers[0][:300]  # the pipeline's rows, read with the secret
        assert "north" in answers[0]
    assert "secure variable 'warehouse' reaches a view's `title`" in log, log[-3000:]
