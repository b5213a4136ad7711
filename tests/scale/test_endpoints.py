"""/healthz, /readyz, /metrics and /data/... on a real served dashboard (one subprocess for the module)."""

from __future__ import annotations

import asyncio
import io
import json
import time

import pandas as pd
import pytest
from scale.helpers import REGIONS, expected_by_product, metric_values

pytestmark = pytest.mark.slow


def test_healthz_is_plain_ok(served):
    status, headers, body = served.get("/healthz")
    assert (status, body) == (200, b"ok\n") and headers["Cache-Control"] == "no-store"


def test_readyz_checks_sources_and_the_cache(served):
    status, _, body = served.get("/readyz")
    report = json.loads(body)
    assert status == 200 and report["ready"] is True and report["problems"] == {}
    assert report["cache"] == {"installed": True, "second_tier": None}
    assert list(report["invalid_specs"]) == ["broken"] and "'agregate'" in report["invalid_specs"]["broken"]


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_data_endpoint_returns_the_filtered_pipeline_result(served, fmt):
    status, headers, body = served.get(f"/data/sales/by_product?region=East&format={fmt}")
    assert status == 200, body
    if fmt == "json":
        got = pd.DataFrame(json.loads(body))
    elif fmt == "csv":
        got = pd.read_csv(io.BytesIO(body))
        assert headers["Content-Disposition"] == 'attachment; filename="sales-by_product.csv"'
    else:
        got = pd.read_parquet(io.BytesIO(body))
    expected = expected_by_product("East")
    pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/data/nope/by_product", 404, "no app 'nope'; served apps: broken, private, sales"),
        ("/data/sales/nope", 404, "no pipeline 'nope'; this spec names: by_product"),
        ("/data/sales/by_product?colour=red", 400, "has no filter on colour; filterable fields: region"),
        ("/data/sales/by_product?region=Mars", 400, "region: 'Mars' not among the offered values"),
        ("/data/sales/by_product?format=xlsx", 400, "format must be one of json, csv, parquet"),
        ("/data/broken/by_product", 422, "broken.yaml has validation errors"),
        ("/data/private/by_product", 403, "the spec's auth: block does not admit this user"),
    ],
    ids=["unknown-app", "unknown-pipeline", "unknown-field", "unoffered-value", "format", "invalid", "auth"],
)
def test_data_endpoint_refuses_what_the_page_would_not_show(served, path, status, message):
    got, _, body = served.get(path)
    error = json.loads(body)
    assert got == status and message in error["error"]
    if status == 422:
        assert error["diagnostics"][0]["rule"] and "agregate" in error["diagnostics"][0]["message"]


def test_metrics_count_cache_use_of_the_data_endpoint(served):
    for region in REGIONS[:2] * 2:
        assert served.get(f"/data/sales/by_product?region={region}")[0] == 200
    status, headers, body = served.get("/metrics")
    text = body.decode()
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    hits = metric_values(text, "lumen_ext_cache_hits_total")
    memory_hits = next(v for k, v in hits.items() if 'tier="memory"' in k)
    assert memory_hits >= 2  # the repeated regions came from the cache
    sessions = metric_values(text, "lumen_ext_sessions")
    assert {k.split('app="')[1].rstrip('"') for k in sessions} == {"sales", "private", "broken"}


def test_sessions_and_interactions_are_counted_from_a_real_session(served):
    from support.bokeh_client import Session

    def totals() -> dict[str, float]:
        text = served.get("/metrics")[2].decode()
        names = ["sessions_created_total", "sessions_destroyed_total", "interactions_total"]
        return {n: sum(metric_values(text, f"lumen_ext_{n}").values()) for n in names}

    async def browse() -> tuple[float, float]:
        session = Session(served.url, "sales")
        try:
            await session.open(timeout=60)
            first = await session.choose(["West"], timeout=30)
            second = await session.choose(["East", "North"], timeout=30)
            live = sum(metric_values(served.get("/metrics")[2].decode(), "lumen_ext_sessions").values())
            assert live >= 1
            return first, second
        finally:
            session.close()
            await asyncio.sleep(0.5)  # the close handshake goes out while the loop runs

    before = totals()
    asyncio.run(browse())
    after = totals()
    assert after["sessions_created_total"] - before["sessions_created_total"] == 1
    assert after["interactions_total"] - before["interactions_total"] >= 2
    text = served.get("/metrics")[2].decode()
    assert sum(metric_values(text, "lumen_ext_interaction_errors_total").values()) == 0
    deadline = time.monotonic() + 15
    while (
        totals()["sessions_destroyed_total"] <= before["sessions_destroyed_total"]
        and time.monotonic() < deadline
    ):
        time.sleep(0.25)
    assert totals()["sessions_destroyed_total"] - before["sessions_destroyed_total"] == 1
