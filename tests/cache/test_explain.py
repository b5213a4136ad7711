"""`lumen-ext explain` on a real spec, run as a user would (a fresh process: Lumen keeps global state)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from .conftest import make_sales

SPEC = """
sources:
  sales:
    type: duckdb
    tables:
      sales: "read_parquet('{path}')"
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
layouts:
  - title: Sales
    views:
      - type: table
        pipeline: main
"""

RUN = (
    "import sys; from lumen_ext.cache.explain import configure, run; import argparse; "
    "p = argparse.ArgumentParser(); configure(p); sys.exit(run(p.parse_args(sys.argv[1:])))"
)


def test_explain_run_reports_sql_keys_and_warm_hits(tmp_path):
    data = tmp_path / "sales.parquet"
    make_sales().to_parquet(data)
    spec = tmp_path / "spec.yaml"
    spec.write_text(textwrap.dedent(SPEC).format(path=data))
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

    text = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", RUN, str(spec)], capture_output=True, text=True, timeout=240
    )
    assert text.returncode == 0 and "source query" in text.stdout and "sql: SELECT" in text.stdout
