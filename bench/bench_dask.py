"""A cold pipeline computation on the rides data, through pandas, DuckDB and lumen-ext's Dask source.

    python bench/bench_dask.py [--rows 10000000] [--repeats 3]

One pipeline (constant filters on ``pickup_borough`` and ``service``, then the mean fare and tip by payment)
computed from scratch each time, so every path reads the file: Lumen's own ``FileSource`` (pandas), a DuckDB
source (Lumen's SQL path), the ``dask`` source through Lumen's own path (filters on Dask, the rows come back,
the aggregate in pandas), and the ``dask`` source through the stage cache's one graph (read, filters and
aggregate on Dask, only the aggregate comes back), on the threaded scheduler and on a 2-process LocalCluster.
Medians of ``--repeats`` (Lumen's pandas and plain-Dask paths once each: they take tens of seconds), and the
speed-up over the pandas path measured in the same run.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable

QUERY = {"pickup_borough": "Manhattan", "service": "Standard"}
AGGREGATE = {"by": ["payment"], "columns": ["fare_usd", "tip_usd"], "method": "mean", "with_index": False}


def pipeline(source):
    from lumen.pipeline import Pipeline

    return Pipeline.from_spec(
        {
            "source": source,
            "table": "trips",
            "filters": [{"type": "constant", "field": k, "value": v} for k, v in QUERY.items()],
            "transforms": [{"type": "aggregate", **AGGREGATE}],
        }
    )


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # pandas 3.1 deprecations inside dask and Lumen are not what we measure

    from lumen.sources.base import FileSource
    from lumen.sources.duckdb import DuckDBSource
    from lumen.transforms.base import Aggregate

    from lumen_ext.cache.runtime import original_compute_data
    from lumen_ext.data.synthetic import ensure_synthetic
    from lumen_ext.sources import cluster
    from lumen_ext.sources.dask import DaskSource

    path = str(ensure_synthetic(args.rows))
    rows: dict[str, float] = {}
    rows["pandas FileSource (Lumen)"] = median_seconds(
        lambda: original_compute_data(pipeline(FileSource(tables={"trips": path}, use_dask=False))), 1
    )
    duck = DuckDBSource(uri=":memory:", tables={"trips": f"SELECT * FROM read_parquet('{path}')"})
    rows["DuckDB source (Lumen SQL)"] = median_seconds(
        lambda: original_compute_data(pipeline(duck)), args.repeats
    )
    dask_source = DaskSource(tables={"trips": path})
    dask_source.get_schema("trips")
    rows["dask source, Lumen's path, threads"] = median_seconds(
        lambda: original_compute_data(pipeline(dask_source)), 1
    )
    aggregate = [Aggregate(**AGGREGATE)]
    for name, settings in [
        ("threads", cluster.DaskSettings()),
        (
            "LocalCluster 2 procs x 1 thread",
            cluster.DaskSettings(scheduler="local", n_workers=2, threads_per_worker=1),
        ),
    ]:
        cluster.configure(settings)
        cluster.scheduler()  # start the cluster outside the timing
        rows[f"dask source, one graph, {name}"] = median_seconds(
            lambda: dask_source.lumen_ext_pushdown("trips", QUERY, aggregate).run(), args.repeats
        )
    cluster.close()

    base = rows["pandas FileSource (Lumen)"]
    print(f"{args.rows:,} rows, medians of {args.repeats} (pandas and Lumen's Dask path: 1 run)")
    print(f"{'path':52} {'median s':>9} {'vs pandas':>10}")
    for name, seconds in rows.items():
        print(f"{name:52} {seconds:9.2f} {base / seconds:9.1f}x")


if __name__ == "__main__":
    main()
