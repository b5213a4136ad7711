"""The hand-built Bokeh server of ``docs/examples/tornado_app.py`` (``lumen_ext.tornado``): its own Tornado route
answers next to the two dashboards, every file their pages link comes from the server itself, the probes, metrics
and data endpoint work as under ``lumen-ext serve``, and SIGTERM stops it gracefully (``Dashboards.started``).
One server for the module; no browser (``tests/ui/test_tornado_ui.py`` has it).
"""

from __future__ import annotations

import io
import json
import signal
import subprocess

import pandas as pd
import pytest
from scale.helpers import metric_values
from support.paths import REPO
from support.tornado_example import DASHBOARDS, serve_tornado_example

# One worker for the module: its tests share one server, and the last one stops it.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("tornado-example")]

STOP_TIMEOUT = 15  # seconds for the graceful stop (the server gives callbacks in flight 5 s)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    with serve_tornado_example(tmp_path_factory.mktemp("tornado-example")) as served:
        yield served


def test_the_programs_own_route_answers(example):
    status, headers, body = example.get("/api/hello")
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"hello": "world", "dashboards": ["/penguins", "/stocks"]}


@pytest.mark.parametrize("name", DASHBOARDS)
def test_a_dashboards_page_links_only_files_this_server_serves(example, name):
    status, headers, _ = example.get(f"/{name}")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert example.linked_files_not_served_here(f"/{name}", "/") == []


def test_the_index_lists_both_dashboards(example):
    status, _, body = example.get("/")
    assert status == 200 and all(f"/{name}" in body.decode() for name in DASHBOARDS)


def test_probes_answer(example):
    assert example.get("/healthz")[:3:2] == (200, b"ok\n")
    status, _, body = example.get("/readyz")
    report = json.loads(body)
    assert status == 200 and report["ready"] is True and report["cache"]["installed"] is True
    sessions = metric_values(example.get("/metrics")[2].decode(), "lumen_ext_sessions")
    assert {k.split('app="')[1].rstrip('"') for k in sessions} == set(DASHBOARDS)


def test_the_data_endpoint_returns_the_filtered_pipeline(example):
    status, headers, body = example.get("/data/penguins/penguins?species=Gentoo&format=csv")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    got = pd.read_csv(io.BytesIO(body))
    expected = pd.read_parquet(REPO / "sources" / "penguins.parquet")
    assert len(got) == (expected["species"] == "Gentoo").sum() and set(got["species"]) == {"Gentoo"}


def test_a_repeated_data_request_is_a_stage_cache_hit(example):
    path = "/data/stocks/peaks?company=Apple&company=Meta"
    first = example.get(path)
    before = example.memory_hits("/metrics")
    second = example.get(path)
    assert first[0] == second[0] == 200 and first[2] == second[2]
    assert {row["company"] for row in json.loads(second[2])} == {"Apple", "Meta"}
    assert example.memory_hits("/metrics") > before


def test_sigterm_stops_the_server_gracefully_without_a_fault(example):
    """Last: it stops the module's server."""
    example.process.send_signal(signal.SIGTERM)
    try:
        code = example.process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the server did not stop within {STOP_TIMEOUT}s:\n{example.log()[-3000:]}")
    assert code == 0 and "lumen-ext: stopped (SIGTERM)" in example.log(), example.log()[-3000:]
    assert not example.faults(), "\n".join(example.log().splitlines()[-60:])
