"""A state computed in one server process is a cache hit in another, through Redis or a shared directory."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from scale.helpers import expected_by_product, metric_values, serve
from support.sales import SALES_SPEC

from lumen_ext.serving.memory_release import _malloc_trim

pytestmark = pytest.mark.slow


def _tier_stat(text: str, stat: str, tier: str) -> dict[str, float]:
    """``{process id: value}`` of lumen_ext_cache_{stat}_total for one tier."""
    found = metric_values(text, f"lumen_ext_cache_{stat}_total")
    return {k.split('process="')[1].split('"')[0]: v for k, v in found.items() if f'tier="{tier}"' in k}


@pytest.mark.parametrize("tier", ["redis", "disk"])
def test_two_servers_share_computed_stages(project, tmp_path, request, tier):
    if tier == "redis":
        option, tier_name = ["--redis-url", request.getfixturevalue("redis_url")], "redis"
    else:
        option, tier_name = ["--cache-dir", str(tmp_path / "stages")], "disk"
    spec = [project["sales"]]
    with serve(spec, *option, log_dir=tmp_path) as first, serve(spec, *option, log_dir=tmp_path) as second:
        status, _, body = first.get("/data/sales/by_product?region=South")
        assert status == 200
        computed = pd.DataFrame(json.loads(body))
        status, _, body = second.get("/data/sales/by_product?region=South")
        assert status == 200
        shared = pd.DataFrame(json.loads(body))
        first_stats = first.get("/metrics")[2].decode()
        second_stats = second.get("/metrics")[2].decode()

    pd.testing.assert_frame_equal(shared, computed)
    expected = expected_by_product("South")
    pd.testing.assert_frame_equal(shared[expected.columns], expected, check_dtype=False)
    assert sum(_tier_stat(first_stats, "hits", tier_name).values()) == 0  # the first one computed it
    assert sum(_tier_stat(second_stats, "hits", tier_name).values()) >= 1  # the second one read it
    assert sum(_tier_stat(second_stats, "hits", "memory").values()) == 0  # not from its own memory


def test_num_procs_forks_workers_that_share_redis(project, tmp_path, redis_url):
    spec = [project["sales"]]
    with serve(spec, "--redis-url", redis_url, log_dir=tmp_path, processes=2) as server:
        seen: dict[str, float] = {}
        redis_hits: dict[str, float] = {}
        for _ in range(60):  # bounded: connections land on either worker, as the kernel hands them out
            assert server.get("/data/sales/by_product?region=North")[0] == 200
            text = server.get("/metrics")[2].decode()
            for pid, hits in _tier_stat(text, "hits", "redis").items():
                redis_hits[pid] = hits
            seen.update(_tier_stat(text, "misses", "memory"))
            if len(seen) == 2 and any(redis_hits.values()):
                break
    assert len(seen) == 2, "both forked workers answered"
    assert any(redis_hits.values()), "one worker's result was a Redis hit in the other"


# The sales dashboard with its CSV read by DuckDB instead of pandas.
DUCKDB_SALES_SPEC = SALES_SPEC.replace(
    "type: file\n    tables:\n      sales: sales.csv",
    "type: duckdb\n    tables:\n      sales: SELECT * FROM read_csv_auto('sales.csv')",
)


def test_num_procs_with_a_duckdb_source(project, tmp_path):
    # Serve validates the spec (DuckDB DESCRIBE) and builds nothing before Bokeh forks: every worker must open
    # its own DuckDB connection and answer correctly.
    spec = project["sales"].with_name("duck_sales.yaml")
    spec.write_text(DUCKDB_SALES_SPEC)
    expected = expected_by_product("North")
    with serve([spec], log_dir=tmp_path, processes=2) as server:
        answered: set[str] = set()
        for _ in range(60):  # bounded: connections land on either worker, as the kernel hands them out
            status, _, body = server.get("/data/duck_sales/by_product?region=North&format=json")
            assert status == 200, body
            got = pd.DataFrame(json.loads(body)).sort_values("product").reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected, check_dtype=False)
            text = server.get("/metrics")[2].decode()
            answered.update(_tier_stat(text, "misses", "memory"))
            if len(answered) == 2:
                break
        # Where glibc's malloc_trim exists, serve re-executed itself on malloc before it forked its workers.
        pids = {*answered, str(server.proc.pid)} if _malloc_trim is not None else set()
        allocators = {pid: _pythonmalloc(int(pid)) for pid in pids}
    assert len(answered) == 2, "both forked workers answered"
    assert "ERROR" not in server.log.read_text(errors="replace")
    assert all(value == "malloc" for value in allocators.values()), allocators


def _pythonmalloc(pid: int) -> str | None:
    """The PYTHONMALLOC process ``pid`` runs with (its environment after the re-exec: the id stays)."""
    entries = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    found = [e.split(b"=", 1)[1].decode() for e in entries if e.startswith(b"PYTHONMALLOC=")]
    return found[0] if found else None
