"""The example FastAPI application (``docs/examples/fastapi_app.py``) under a real Uvicorn: its own API still answers,
the mounted dashboards and their side endpoints are behind its auth dependency, and the data endpoint goes
through the stage cache as under ``lumen-ext serve``. One server for the module; no browser (``tests/ui`` has it).
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from scale.helpers import metric_values
from support.fastapi_example import ALICE, BOB, serve_example
from support.paths import REPO
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

# One worker for the module: its tests share one server, and the last one reads that server's whole log.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fastapi-example")]

DASHBOARDS = ["/dashboards/penguins", "/dashboards/stocks"]
GUARDED = [
    *DASHBOARDS,
    "/dashboards/data/penguins/penguins",
    "/dashboards/data/stocks/peaks",
    "/dashboards/healthz",
    "/dashboards/readyz",
    "/dashboards/metrics",
]


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    with serve_example(tmp_path_factory.mktemp("fastapi-example")) as served:
        yield served


def _socket_status(example, path: str, token: str | None, origin: str) -> int:
    """The HTTP status of a WebSocket handshake refused by the guard (pytest fails if it is accepted)."""
    headers = {"Cookie": f"session={token}"} if token else {}
    url = f"ws://127.0.0.1:{example.port}{path}/ws"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, origin=origin, additional_headers=headers, open_timeout=30).close()
    return refused.value.response.status_code


def test_the_applications_own_api_route_still_answers(example):
    status, _, body = example.get("/api/dashboards", ALICE)
    assert status == 200
    assert json.loads(body) == {"user": "alice", "dashboards": dict.fromkeys(DASHBOARDS, True)}
    status, _, body = example.get("/api/dashboards")
    assert status == 200 and json.loads(body)["user"] is None


@pytest.mark.parametrize("path", GUARDED)
def test_without_a_login_every_mounted_route_answers_401(example, path):
    status, headers, _ = example.get(path)
    assert status == 401 and headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", DASHBOARDS)
def test_without_a_login_the_dashboards_websocket_is_refused(example, path):
    assert _socket_status(example, path, None, example.url) == 401


def test_a_websocket_from_another_site_is_refused_even_with_the_cookie(example):
    assert _socket_status(example, "/dashboards/penguins", ALICE, "http://attacker.example") == 403


def test_the_auth_dependency_decides_who_sees_which_dashboard(example):
    assert example.get("/dashboards/penguins", BOB)[0] == 200
    for path in ("/dashboards/stocks", "/dashboards/data/stocks/peaks"):
        status, _, body = example.get(path, BOB)
        assert status == 403 and json.loads(body) == {"detail": "bob may not open the stocks dashboard"}
    assert _socket_status(example, "/dashboards/stocks", BOB, example.url) == 403


@pytest.mark.parametrize("path", DASHBOARDS)
def test_a_logged_in_user_gets_the_page_and_every_file_it_links(example, path):
    status, headers, _ = example.get(path, ALICE)
    assert status == 200 and headers["content-type"].startswith("text/html")
    # Every script and stylesheet from this application: Bokeh's under the prefix (bokeh-fastapi alone links them
    # there but serves them at /static), Panel's and the fonts from lumen-ext's routes instead of CDNs.
    assert example.linked_files_not_served_here(path, "/dashboards/", ALICE) == []


def test_the_data_endpoint_returns_the_filtered_pipeline(example):
    status, headers, body = example.get("/dashboards/data/penguins/penguins?species=Gentoo&format=csv", ALICE)
    assert status == 200 and headers["content-type"].startswith("text/csv")
    got = pd.read_csv(io.BytesIO(body))
    expected = pd.read_parquet(REPO / "sources" / "penguins.parquet")
    assert len(got) == (expected["species"] == "Gentoo").sum() and set(got["species"]) == {"Gentoo"}


def test_a_repeated_data_request_is_a_cache_hit_in_metrics(example):
    path = "/dashboards/data/stocks/peaks?company=Apple&company=Meta"
    first = example.get(path, ALICE)
    before = example.memory_hits("/dashboards/metrics", ALICE)
    second = example.get(path, ALICE)
    assert first[0] == second[0] == 200 and first[2] == second[2]
    assert {row["company"] for row in json.loads(second[2])} == {"Apple", "Meta"}
    assert (
        example.memory_hits("/dashboards/metrics", ALICE) > before
    )  # the same filter state from the stage cache


def test_probes_answer_a_logged_in_caller(example):
    assert example.get("/dashboards/healthz", ALICE)[:3:2] == (200, b"ok\n")
    status, _, body = example.get("/dashboards/readyz", ALICE)
    report = json.loads(body)
    assert status == 200 and report["ready"] is True and report["cache"]["installed"] is True
    sessions = metric_values(example.get("/dashboards/metrics", ALICE)[2].decode(), "lumen_ext_sessions")
    assert {k.split('app="')[1].rstrip('"') for k in sessions} == {"penguins", "stocks"}


def test_the_server_logged_no_fault(example):
    assert not example.faults(), "\n".join(example.log().splitlines()[-60:])
