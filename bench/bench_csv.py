"""CSV tables of ``file`` sources: Lumen's parse per filter value, the cached parse, and the Parquet copy.

    python bench/bench_csv.py [--rows 200000 1000000] [--values 8]

For each size, the synthetic rides (``lumen-ext data``) are written to a CSV once (kept under
``sources/generated/``), and a pipeline with a service filter, a mean fare per borough and a sort is run in a
fresh interpreter per mode:

* ``vanilla``: Lumen 1.4 as installed, which parses the CSV for every new filter value;
* ``cached parse``: lumen-ext's stage cache with ``csv_copies=False``, parsing once and filtering the frame;
* ``parquet copy``: lumen-ext as ``serve`` runs it, DuckDB over a Parquet copy of Lumen's parse
  (:mod:`lumen_ext.cache.csv_copies`), the copy written on the first visit.

Times are server side, data ready: the first visit (parse, and for the copy its writing), then the median of
``--values`` new filter values; ``peak RSS`` is the interpreter's maximum resident size.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MARKER = "@@BENCH@@"
MODES = ["vanilla", "cached parse", "parquet copy"]
TRANSFORMS = [
    {"type": "aggregate", "by": ["pickup_borough"], "columns": ["fare_usd"], "method": "mean"},
    {"type": "sort", "by": ["fare_usd"]},
]


def csv_for(rows: int) -> Path:
    path = REPO / "sources" / "generated" / f"rides_{rows}.csv"
    if not path.exists():
        import pandas as pd

        parquet = (
            REPO
            / "sources"
            / "generated"
            / ("rides_1m.parquet" if rows <= 1_000_000 else "rides_10m.parquet")
        )
        if not parquet.exists():
            raise SystemExit(f"{parquet} is missing: run `lumen-ext data` first")
        tmp = path.with_suffix(".tmp")
        pd.read_parquet(parquet).head(rows).to_csv(tmp, index=False)
        tmp.replace(path)
    return path


def run_worker(mode: str, path: Path, values: int) -> dict:
    import warnings

    warnings.simplefilter("ignore")  # pandas deprecation notices from Lumen and dask are not what we measure
    if mode != "vanilla":
        from lumen_ext import hooks
        from lumen_ext.cache import CacheConfig

        config = CacheConfig(csv_copies=mode == "parquet copy", csv_copy_dir=Path(tempfile.mkdtemp()))
        hooks.enable("cache", settings=hooks.Settings(cache=config))
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource

    pipeline = Pipeline.from_spec(
        {
            "source": FileSource(tables={"rides": str(path)}, use_dask=False),
            "table": "rides",
            "filters": [{"type": "widget", "field": "service"}],
            "transforms": TRANSFORMS,
        }
    )
    t0 = time.perf_counter()
    _ = pipeline.data
    first = time.perf_counter() - t0
    services = ["Standard", "Shared", "XL", "Premium"]
    choices = [list(c) for r in (1, 2) for c in itertools.combinations(services, r)][:values]
    seconds = []
    for value in choices:
        t0 = time.perf_counter()
        pipeline.filters[0].value = value
        _ = pipeline.data
        seconds.append(time.perf_counter() - t0)
    return {
        "first": first,
        "new_value": statistics.median(seconds),
        "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rows_out": len(pipeline.data),
    }


def _run_mode(mode: str, path: Path, values: int) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", mode, "--csv", str(path), "--values", str(values)],
        capture_output=True,
        text=True,
        timeout=1800,
        cwd=REPO,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise SystemExit(f"{mode} worker exited {proc.returncode}:\n{proc.stderr[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--values", type=int, default=8, help="new filter values measured per mode")
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(MARKER + json.dumps(run_worker(args.worker, args.csv, args.values)), flush=True)
        return 0
    print("| rows | CSV MiB | mode | first visit ms | new value ms (median) | vs vanilla | peak RSS MiB |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for rows in args.rows:
        path = csv_for(rows)
        results = {mode: _run_mode(mode, path, args.values) for mode in MODES}
        outputs = {r["rows_out"] for r in results.values()}
        assert len(outputs) == 1, f"the modes disagree on the result size: {results}"
        base = results["vanilla"]["new_value"]
        for mode, r in results.items():
            print(
                f"| {rows:,} | {path.stat().st_size / 2**20:.0f} | {mode} | {r['first'] * 1000:,.0f} | "
                f"{r['new_value'] * 1000:,.1f} | {base / r['new_value']:.1f}x | {r['rss_mib']:,.0f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
