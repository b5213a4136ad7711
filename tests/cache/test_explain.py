"""`lumen-ext explain` on a real spec, run as a user would (a fresh process: Lumen keeps global state)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd

from .conftest import make_sales

SPEC = """
sources:
  sales:
    type: duckdb
    tables:
      sales: "read_parquet('{path}')"
  rides:
    type: file
    tables:
      rides: {rides}
pipelines:
  main:
    source: sales
    table: sales
    filters:
      - type: widget
        field: region
    transforms:
      - type: aggregate
        by: [region, product]
        method: sum
      - type: sort
        by: [qty]
  rides:
    source: rides
    table: rides
    filters:
      - type: widget
        field: zone
    transforms:
      - type: aggregate
        by: [zone]
        method: mean
layouts:
  - title: Sales
    views:
      - type: table
        pipeline: main
      - type: table
        pipeline: rides
"""

RUN = (
    "import sys; from lumen_ext.serving.explain import configure, run; import argparse; "
    "p = argparse.ArgumentParser(); configure(p); sys.exit(run(p.parse_args(sys.argv[1:])))"
)


def test_explain_run_reports_sql_keys_and_warm_hits(tmp_path):
    data = tmp_path / "sales.parquet"
    make_sales().to_parquet(data)
    # Above CacheConfig.file_scan_min_bytes (8 MiB), so the file source is read through DuckDB:
    # random doubles do not compress.
    rides = tmp_path / "rides.parquet"
    rng = np.random.default_rng(0)
    n = 1_200_000
    pd.DataFrame({"zone": rng.choice(["a", "b", "c"], n), "x": rng.random(n)}).to_parquet(rides)
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC).format(path=data, rides=rides))
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", RUN, str(spec), "--run", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout)
    (pipeline,) = report["layouts"][0]["views"][0]["pipelines"]
    query, sort = pipeline["stages"]
    assert (
        query["where"] == "sql" and "GROUP BY" in query["sql"] and " IN (" not in query["sql"]
    )  # no filter value chosen yet
    assert sort["where"] == "pandas" and sort["key"]
    assert [r["outcome"] for r in pipeline["cold"]] == ["computed", "computed"]
    assert pipeline["warm"][-1]["outcome"] == "hit"
    assert report["stats"]["memory"]["hits"] >= 1

    (scan,) = report["layouts"][0]["views"][1]["pipelines"]
    (query,) = scan["stages"]
    assert query["where"] == "sql" and "read_parquet(" in query["sql"] and "GROUP BY" in query["sql"]
    assert report["stats"]["file_scans"]["queries"] >= 1

    text = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", RUN, str(spec)], capture_output=True, text=True, timeout=240
    )
    assert text.returncode == 0 and "source query" in text.stdout and "sql: SELECT" in text.stdout
