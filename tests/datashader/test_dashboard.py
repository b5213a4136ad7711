"""The density spec in a real Lumen dashboard: what each interaction reads and aggregates, cached and vanilla.

Each mode runs in a fresh interpreter through the benchmark's worker (``bench/bench_datashader.py --worker``),
which builds the dashboard into a Bokeh document and counts DuckDB fetches and Datashader aggregations around
each step; Lumen keeps global state, and Bokeh/Panel warnings would trip pytest's ``-W error`` in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from support.paths import REPO

BENCH = REPO / "bench" / "bench_datashader.py"
MARKER = "@@BENCH@@"
REPEATS = 2


def run_worker(mode: str, spec) -> dict:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--worker", mode, "--spec", str(spec), "--repeats", str(REPEATS)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=REPO,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise AssertionError(f"{mode} worker exited {proc.returncode}:\n{proc.stderr[-3000:]}")


@pytest.fixture(scope="module")
def cached(small_density_spec) -> dict:
    return run_worker("cached", small_density_spec)


def counts(result: dict, step: str) -> tuple[int, int]:
    return result["steps"][step]["reads"], result["steps"][step]["aggs"]


@pytest.mark.slow
class TestCached:
    def test_first_render_reads_and_aggregates_once(self, cached):
        reads, aggs = counts(cached, "first render")
        assert reads >= 1 and aggs == 1
        assert cached["rows"] > 0

    @pytest.mark.parametrize("step", ["colormap change", "cnorm change"])
    def test_shading_changes_read_and_aggregate_nothing(self, cached, step):
        assert counts(cached, step) == (0, 0)

    def test_shading_change_reaches_the_plot_with_the_same_aggregate(self, cached):
        assert cached["cmap"]["palette_matches"], cached["cmap"]
        assert cached["shaded_same_data"]

    def test_colormap_change_repaints_the_figure_on_screen(self, cached):
        """Only the colour mapper's palette changes: the Figure stays, nothing is rebuilt (lumen_ext.views.reshade)."""
        assert cached["cmap"]["figure_kept"]
        assert cached["reshade"]["reshaded"] == REPEATS

    def test_new_viewport_aggregates_once_without_reading(self, cached):
        assert counts(cached, "pan/zoom, new viewport") == (0, REPEATS)

    def test_viewport_revisit_is_a_cache_hit(self, cached):
        assert counts(cached, "viewport revisit") == (0, 0)
        assert cached["cache"]["aggregations"] == 1 + REPEATS
        assert cached["cache"]["hits"] >= 2 * REPEATS + REPEATS


@pytest.mark.slow
def test_plain_lumen_renders_the_spec_uncached(small_density_spec):
    vanilla = run_worker("vanilla", small_density_spec)
    assert vanilla["rows"] > 0
    assert counts(vanilla, "first render")[1] >= 1
    # Lumen's own path re-aggregates for a colormap change: what the cache saves.
    assert counts(vanilla, "colormap change")[1] >= REPEATS
    assert vanilla["cmap"]["palette_matches"], vanilla["cmap"]
    assert not vanilla["cmap"]["figure_kept"]  # Lumen builds a new Figure for every colormap
