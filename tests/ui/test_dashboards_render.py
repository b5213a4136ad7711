"""Every offline corpus dashboard (real Lumen specs, ``../shared/lumen-corpus``) served and used in a real browser.

For each spec: serve it with `lumen-ext serve` on 127.0.0.1 (one server per xdist worker), open it in Chromium, visit every tab, check that plots drew and tables have rows,
change one filter widget and check that a view's data changed. Any console error, page error, request to another
host, or exception in the server log fails the test. A screenshot per spec goes to ``test-output/screenshots/``.
The example dashboards of ``specs/`` go further, every control clicked under both front doors: ``test_controls.py``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from support.browser import copy_tree, dump, serve_specs
from support.dashboard_page import (
    change_a_filter,
    declares_viewer_control,
    visit_every_tab,
    wait_rendered,
)
from support.paths import CORPUS

pytestmark = pytest.mark.ui

MANIFEST = json.loads((CORPUS / "manifest.json").read_text()) if CORPUS.is_dir() else {"specs": []}
OFFLINE_CORPUS = [s for s in MANIFEST["specs"] if s["kind"] == "offline" and s["expect"]["builds"]]


def exercise(page, watch, served, spec: Path, screenshot: Path, label: str) -> None:
    """Load, change a filter on the first layout, then visit every tab; all of it with a clean console and log.

    The filter comes first: Lumen builds other tabs lazily, and each layout keeps its own sidebar of filter
    widgets in the document, so before any other tab is opened the only filter widgets are the visible ones.
    """
    page.goto(served.url)
    wait_rendered(page)
    page.screenshot(path=str(screenshot))
    if declares_viewer_control(spec):
        change_a_filter(page, label, screenshot.with_name(screenshot.stem + "-filtered.png"))
    visit_every_tab(page, label)
    assert not watch.problems(), f"{label}: the browser saw problems:\n{dump(watch.problems())}"
    assert not served.faults(), f"{label}: the server logged faults:\n" + "\n".join(
        served.log().splitlines()[-60:]
    )


def _start_corpus_server(entry: dict, spec_dir: Path):
    """Start the loopback stand-in a corpus spec needs (bikes: the TfL API) and point the spec at its port."""
    script = CORPUS / entry["server"]["script"]
    loader = importlib.util.spec_from_file_location(f"corpus_server_{spec_dir.name}", script)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    server = module.serve_in_thread(port=0, root=spec_dir)
    spec = spec_dir / Path(entry["path"]).name
    original = f"127.0.0.1:{entry['server']['port']}"
    spec.write_text(spec.read_text().replace(original, f"127.0.0.1:{server.server_address[1]}"))
    return server


@pytest.fixture(scope="session")
def corpus_server(tmp_path_factory):
    """Every offline corpus spec in one folder, served by one `lumen-ext serve` per xdist worker: (server, folder).

    `lumen-ext serve` serves several specs from one folder only (DuckDB paths resolve against it), so the corpus
    folders are merged; their files have distinct names, which is checked.
    """
    folder = tmp_path_factory.mktemp("corpus")
    for entry in OFFLINE_CORPUS:
        source = (CORPUS / entry["path"]).parent
        clashes = sorted(p.name for p in source.iterdir() if (folder / p.name).exists())
        assert not clashes, f"corpus files of the same name cannot share a folder: {clashes}"
        copy_tree(source, folder)
    helpers = [_start_corpus_server(entry, folder) for entry in OFFLINE_CORPUS if "server" in entry]
    specs = [folder / Path(entry["path"]).name for entry in OFFLINE_CORPUS]
    try:
        with serve_specs(specs, tmp_path_factory.mktemp("corpus-server")) as served:
            yield served, folder
    finally:
        for helper in helpers:
            helper.shutdown()
            helper.server_close()


@pytest.mark.parametrize("entry", OFFLINE_CORPUS, ids=[s["id"] for s in OFFLINE_CORPUS])
def test_corpus_dashboard(entry, corpus_server, page_and_watch, screenshot_dir):
    for module in entry["optional_deps"]:
        pytest.importorskip(module)
    server, folder = corpus_server
    page, watch = page_and_watch
    spec = folder / Path(entry["path"]).name
    served = server.app(spec.stem)
    name = entry["id"].replace("/", "-")
    exercise(page, watch, served, spec, screenshot_dir / f"corpus-{name}.png", entry["id"])
