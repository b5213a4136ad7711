"""A large CSV table is scanned through a Parquet copy of Lumen's parse, and returns exactly what Lumen returns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.stage_cache import install, uninstall

from lumen_ext.cache import CacheConfig, filescan
from lumen_ext.cache.runtime import RUNS_ATTR, original_compute_data

from .conftest import make_sales
from .helpers import assert_same_data

# duckdb's fetch_df and dask's CSV reader call pandas APIs deprecated in 3.1: third-party noise.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")

AGGREGATE = [{"type": "aggregate", "by": ["product"], "method": "sum", "columns": ["qty", "price"]}]


@pytest.fixture
def copies(tmp_path):
    folder = tmp_path / "copies"
    install(CacheConfig(file_scan_min_bytes=0, csv_copy_dir=folder)).clear()
    filescan._scans.clear()
    yield folder
    uninstall()


@pytest.fixture
def sales_csv(tmp_path):
    path = tmp_path / "sales.csv"
    make_sales().to_csv(path, index=False)
    return path


def pipeline(path, transforms=(), use_dask=False):
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource

    return Pipeline.from_spec(
        {
            "source": FileSource(tables={"t": str(path)}, use_dask=use_dask),
            "table": "t",
            "filters": [{"type": "widget", "field": "region"}],
            "transforms": list(transforms),
        }
    )


def results(path, value, transforms=(), use_dask=False):
    """(the cached pipeline's data, Lumen's own) with the region filter at ``value``."""
    cached, fresh = pipeline(path, transforms, use_dask), pipeline(path, transforms, use_dask)
    for p in (cached, fresh):
        p.filters[0].value = value
    return cached, cached.data, original_compute_data(fresh)


@pytest.mark.parametrize("use_dask", [False, True], ids=["pandas", "dask"])
@pytest.mark.parametrize("transforms", [(), AGGREGATE], ids=["rows", "aggregate"])
def test_the_copy_gives_lumens_rows_labels_and_dtypes(copies, sales_csv, use_dask, transforms):
    for value in (["E", "N"], ["W"], [None, "S"]):
        p, data, expected = results(sales_csv, value, transforms, use_dask)
        run = getattr(p, RUNS_ATTR)[0]
        assert run.where == "sql", run
        assert [Path(scan.path).parent for scan in filescan._scans.values()] == [copies]
        assert_same_data(data, expected, exact_dtypes=True)
    assert len(list(copies.glob("*.parquet"))) == 1


def test_new_filter_values_parse_nothing(copies, sales_csv):
    from lumen.sources.base import FileSource

    p = pipeline(sales_csv, AGGREGATE)
    _ = p.data
    parses = filescan.scan_stats()["csv_parses"]
    loads, original = [], FileSource._load_table
    FileSource._load_table = lambda self, *a, **k: loads.append(a) or original(self, *a, **k)
    try:
        for value in (["E"], ["W", "S"], ["N"]):
            p.filters[0].value = value
            assert "IN (" in getattr(p, RUNS_ATTR)[0].sql
        filescan._scans.clear()  # as another process would: the copy on disk is reused, not re-parsed
        p.filters[0].value = ["S"]
        _ = p.data
    finally:
        FileSource._load_table = original
    assert loads == []
    assert filescan.scan_stats()["csv_parses"] == parses


def test_editing_the_csv_makes_a_new_copy_and_drops_the_old(copies, sales_csv):
    _, first, _ = results(sales_csv, ["E"])
    old = set(copies.glob("*.parquet"))
    make_sales(rows=200, seed=11).to_csv(sales_csv, index=False)
    os.utime(sales_csv, ns=(1, 1))  # a new version even if the size matched
    _, data, expected = results(sales_csv, ["E"])
    assert_same_data(data, expected, exact_dtypes=True)
    assert len(data) != len(first)
    new = set(copies.glob("*.parquet"))
    assert len(new) == 1 and not (new & old)


def test_a_refused_copy_is_recorded_and_the_csv_stays_on_lumens_reader(copies, tmp_path):
    path = tmp_path / "huge.csv"
    df = make_sales(rows=50)
    df["serial"] = [str(10**25 + i) for i in range(len(df))]  # Python ints pandas cannot hand to Parquet
    df.to_csv(path, index=False)
    p, data, expected = results(path, ["E"])
    assert getattr(p, RUNS_ATTR)[0].name == "read t"
    assert_same_data(data, expected, exact_dtypes=True)
    (marker,) = copies.glob("*.refused")
    assert "Parquet" in marker.read_text()
    parses = filescan.scan_stats()["csv_parses"]
    filescan._scans.clear()
    results(path, ["W"])
    assert filescan.scan_stats()["csv_parses"] == parses  # the reason is on record: no second parse


def test_a_folder_others_can_write_into_is_refused(tmp_path, sales_csv):
    folder = tmp_path / "open"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    install(CacheConfig(file_scan_min_bytes=0, csv_copy_dir=folder)).clear()
    try:
        p, data, expected = results(sales_csv, ["E"])
        assert getattr(p, RUNS_ATTR)[0].name == "read t"
        assert_same_data(data, expected, exact_dtypes=True)
        assert list(folder.iterdir()) == []
    finally:
        uninstall()


def test_rows_labelled_per_dask_partition_stay_on_lumens_reader(copies, tmp_path):
    """Dask labels each block's rows from 0: a pushed sort could not reproduce pandas' order among them."""
    path = tmp_path / "blocks.csv"
    pd.DataFrame({"region": np.resize(["E", "W"], 40_000), "qty": np.arange(40_000)}).to_csv(
        path, index=False
    )
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource

    spec = {
        "source": FileSource(tables={"t": str(path)}, use_dask=True, kwargs={}),
        "table": "t",
        "filters": [{"type": "widget", "field": "region"}],
    }
    source = spec["source"]
    source._load_fn = _small_blocks(source._load_fn)
    p = Pipeline.from_spec(spec)
    p.filters[0].value = ["E"]
    assert getattr(p, RUNS_ATTR)[0].name == "read t"
    assert "0..n-1" in (copies / next(m.name for m in copies.glob("*.refused"))).read_text()


def _small_blocks(load_fn):
    """The source's dask loader with 64 KiB blocks, so a small file has several partitions."""

    def load(ext, dask=True):
        fn, kwargs = load_fn(ext, dask=dask)
        return (lambda paths, **kw: fn(paths, blocksize=64 * 1024, **kw)) if dask else fn, kwargs

    return load
