"""Fixtures of the Dask tests: a real distributed cluster on 127.0.0.1, and small multi-partition ride files."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd
import pytest

from lumen_ext.data import synthetic
from lumen_ext.sources import cluster


@pytest.fixture(scope="session")
def rides_files(tmp_path_factory) -> dict[str, Path]:
    """30,000 synthetic trips as Parquet (3 row groups) and CSV: small, but several Dask partitions each."""
    folder = tmp_path_factory.mktemp("rides")
    parquet = synthetic.write_synthetic(folder / "rides.parquet", rows=30_000, chunk_rows=10_000)
    csv = folder / "rides.csv"
    pd.read_parquet(parquet).to_csv(csv, index=False)
    return {"parquet": parquet, "csv": csv}


@pytest.fixture(scope="module")
def dask_cluster():
    """A real scheduler and one worker (2 threads), in this process but talking TCP on 127.0.0.1 like a remote
    cluster, started once per module. No memory limit: a thread worker's monitor measures the whole xdist worker,
    which earlier tests may have grown past 80% of any small limit; the worker then paused for good and the next
    computation hung until pytest's timeout."""
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        memory_limit=0,
        processes=False,
        protocol="tcp://",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as local:
        yield local


@pytest.fixture(scope="module")
def on_cluster(dask_cluster):
    """Dask sources compute on ``dask_cluster``, configured the way an operator would (by address)."""
    settings = cluster.configure(cluster.DaskSettings(scheduler=dask_cluster.scheduler_address))
    yield settings
    with contextlib.suppress(Exception):
        cluster.close()
    cluster.configure(cluster.DaskSettings())
