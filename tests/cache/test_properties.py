"""Property: whatever the sequence of changes, the cached pipeline shows what Lumen would compute fresh."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.stage_cache import install, uninstall

from lumen_ext.cache import CacheConfig
from lumen_ext.cache.runtime import original_compute_data

from .conftest import make_sales
from .helpers import assert_same_data

pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

REGIONS = ["E", "W", "N", "S"]

# Kinds: a DuckDB source; a file source read by Lumen's reader (parsed once, filtered in pandas), as
# CSV or Parquet; and the Parquet file read through DuckDB by lumen_ext.cache.filescan, with Lumen's
# pandas reader or with dask (the default `use_dask`), whose string dtypes differ.
KINDS = ["duckdb", "parquet", "csv", "scan", "scan-dask"]
SCANS = ("scan", "scan-dask")

steps = st.one_of(
    # None in the list asks for the rows with a missing region (file sources only: SQLFilter differs)
    st.tuples(st.just("filter"), st.lists(st.sampled_from([*REGIONS, None]), unique=True, max_size=3)),
    st.tuples(st.just("method"), st.sampled_from(["sum", "mean", "max", "count"])),
    # Grouped by product alone, the region filter is a dimension of a rollup cube (lumen_ext.cache.rollup): new
    # selections are answered from the cube instead of the table.
    st.tuples(st.just("by"), st.sampled_from([["region", "product"], ["product"]])),
    st.tuples(st.just("with_index"), st.booleans()),
    st.tuples(st.just("ascending"), st.booleans()),
    st.tuples(st.just("limit"), st.one_of(st.none(), st.integers(0, 12))),
    st.tuples(st.just("edit"), st.integers(0, 3)),
)


def build(kind: str, path: Path, state: dict):
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource
    from lumen.sources.duckdb import DuckDBSource

    if kind == "duckdb":
        source = DuckDBSource(tables={"sales": f"read_parquet('{path}')"})
    else:
        # pandas rather than dask parsing keeps the examples fast; "scan-dask" covers dask's dtypes
        source = FileSource(tables={"sales": str(path)}, use_dask=kind == "scan-dask")
    p = Pipeline.from_spec(
        {
            "source": source,
            "table": "sales",
            "filters": [{"type": "widget", "field": "region"}],
            "transforms": [
                {
                    "type": "aggregate",
                    "by": state["by"],
                    "method": state["method"],
                    "with_index": state["with_index"],
                },
                # unique keys: with ties, which rows pandas' unstable sort keeps before iloc is arbitrary
                {"type": "sort", "by": state["by"][::-1], "ascending": state["ascending"]},
                {"type": "iloc", "end": state["limit"]},
            ],
        }
    )
    p.filters[0].value = state["filter"]
    return p


def write(kind: str, path: Path, seed: int) -> None:
    df = make_sales(rows=300, seed=seed)
    if kind in SCANS and seed % 2:
        # What the scan must mirror beyond plain columns: a category column whose categories are not in
        # alphabetical order (grouping and sorting follow them), some never present; a nullable integer;
        # several row groups.
        order = ["date", "cherry", "unused", "Banana", "apple"]
        df["product"] = pd.Categorical(df["product"], categories=order)
        df["qty"] = df["qty"].astype("Int64").mask(df.index % 13 == 0)
        df.to_parquet(path, row_group_size=120)
    elif kind == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(KINDS),
    by=st.sampled_from([["region", "product"], ["product"]]),
    sequence=st.lists(steps, min_size=1, max_size=4),
)
def test_cached_pipeline_matches_a_fresh_uncached_computation(kind, by, sequence):
    # file_scan_min_bytes=0: these small files go through DuckDB too (the "parquet" kind opts out)
    install(
        CacheConfig(max_bytes=32 * 1024 * 1024, file_scan_min_bytes=0, file_scan=kind != "parquet")
    ).clear()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / ("sales.csv" if kind == "csv" else "sales.parquet")
            write(kind, path, seed=0)
            state = {
                "filter": [],
                "by": by,
                "method": "sum",
                "with_index": True,
                "ascending": True,
                "limit": None,
            }
            sequence = [
                (op, [v for v in value if v is not None])
                if op == "filter" and kind == "duckdb"
                else (op, value)
                for op, value in sequence
            ]
            p = build(kind, path, state)
            for op, value in sequence:
                if op == "edit":
                    write(kind, path, seed=value + 1)
                    p.filters[0].param.trigger("value")  # Lumen recomputes on widget events only
                elif op == "filter":
                    p.filters[0].value = state["filter"] = value
                elif op in ("method", "with_index"):
                    state[op] = value
                    setattr(p.transforms[0], op, value)
                elif op == "by":
                    state["by"] = value
                    # Through a sort valid under either grouping: each assignment recomputes the pipeline.
                    p.transforms[1].by = ["product"]
                    p.transforms[0].by, p.transforms[1].by = value, value[::-1]
                elif op == "ascending":
                    p.transforms[1].ascending = state["ascending"] = value
                else:
                    p.transforms[2].end = state["limit"] = value
                fresh = build(kind, path, state)  # new Source: nothing of Lumen's own cache reused
                assert_same_data(p.data, original_compute_data(fresh), exact_dtypes=kind in SCANS)
                if kind in SCANS:
                    assert p._lumen_ext_runs[0].where == "sql"  # the scan ran, not the fallback
    finally:
        uninstall()
