"""Benchmark the stage cache: server-side time from a widget change until the views on screen are updated.

    python bench/bench_cache.py [--rows 1000000 10000000] [--repeats 5]

For each dataset size and each source kind (DuckDB over the Parquet file, and a ``file`` source on the
same file) one pipeline is built: a widget filter on ``pickup_borough``, then ``aggregate`` (sum of fare and
tip by service and payment) and ``sort`` (by fare, descending). Timed, as medians over ``--repeats``:

* first visit: a filter value this process has not seen (answered from the pipeline's rollup cube, built in the
  background after the initial load, ``lumen_ext.cache.rollup``; ``--rollup-max-rows 0`` measures the table
  query instead);
* repeat (same session / other session): a value seen before, on the same pipeline / on a new one;
* transform option: the sort direction flipped for a seen filter value;
* view only: a Table view's ``page_size`` changed, until its data is ready (with the source reads counted).

"Updated" means the data is ready **and** the Bokeh models are patched: every pipeline drives an hvPlot bar
chart and a Table rendered into a Bokeh ``Document`` (as in a served session), and a change is timed until
Lumen's synchronous ``View.update`` returned, i.e. until the document holds the new Figure or the patched
ColumnDataSource. lumen-ext runs as ``lumen-ext serve`` runs it: the stage cache, ``lumen_ext.views.patching``
(plots patched in place; a frame drawn before set from its recorded values, ``lumen_ext.views.drawings``), ``lumen_workarounds`` (views share the pipeline's buffers instead of deep-copying
them), ``tabulator_styles`` (an unstyled table computes no Styler) and ``gc_freeze`` (the start-up heap out of the
collector's full passes); vanilla Lumen rebuilds the Figure on every change. (``widget_debounce`` acts before the server handles a change, so it shows in ``bench_e2e.py`` only.)

Each row is set beside the same query run directly in DuckDB, and beside vanilla Lumen 1.4 on the same
pipeline, measured in this run by a separate process (``--vanilla``) so ``install()`` cannot affect it.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

BOROUGHS = ["Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island", "EWR"]
SCENARIOS = [
    "first visit",
    "repeat (same session)",
    "repeat (other session)",
    "transform option",
    "view only",
]


def filter_values(n: int) -> list[list[str]]:
    combos = [list(c) for k in (1, 2) for c in itertools.combinations(BOROUGHS, k)]
    return combos[:n]


def direct_sql(path: Path, boroughs: list[str], ascending: bool) -> str:
    values = ", ".join("'" + b.replace("'", "''") + "'" for b in boroughs)
    return (
        "SELECT service, payment, SUM(fare_usd) AS fare_usd, SUM(tip_usd) AS tip_usd "
        f"FROM read_parquet('{path}') WHERE pickup_borough IN ({values}) "
        f"GROUP BY service, payment ORDER BY fare_usd {'ASC' if ascending else 'DESC'}"
    )


def build(kind: str, path: Path):
    from lumen.pipeline import Pipeline
    from lumen.sources.base import FileSource
    from lumen.sources.duckdb import DuckDBSource

    if kind == "duckdb":
        source = DuckDBSource(tables={"rides": f"read_parquet('{path}')"})
    else:
        source = FileSource(tables={"rides": str(path)}, use_dask=False)
    return Pipeline.from_spec(
        {
            "source": source,
            "table": "rides",
            "filters": [{"type": "widget", "field": "pickup_borough"}],
            "transforms": [
                {
                    "type": "aggregate",
                    "by": ["service", "payment"],
                    "columns": ["fare_usd", "tip_usd"],
                    "method": "sum",
                },
                {"type": "sort", "by": ["fare_usd"], "ascending": False},
            ],
        }
    )


def render_views(pipeline):
    """An hvPlot bar chart and a Table of ``pipeline``, rendered into a Document of their own, as in a session."""
    import panel as pn
    from bokeh.document import Document
    from lumen.views.base import Table, hvPlotView
    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        plot = hvPlotView(
            pipeline=pipeline, kind="bar", x="service", y="fare_usd", by=["payment"], height=300
        )
        table = Table(pipeline=pipeline, page_size=10)
        doc.add_root(pn.Column(plot, table).get_root(doc))
    return doc, plot, table


def in_document(doc, fn):
    """Run ``fn`` as a session callback does: with the document current, so HoloViews updates it at once."""
    from panel.io.state import set_curdoc

    def run():
        with set_curdoc(doc):
            fn()

    return run


class ReadCounter:
    """Counts source reads: DuckDB queries fetched and files parsed."""

    def __init__(self):
        from lumen.sources.base import FileSource
        from lumen.sources.duckdb import DuckDBSource

        self.count = 0
        for cls, name in ((DuckDBSource, "fetch"), (FileSource, "_load_table")):
            original = getattr(cls, name)

            def counted(*args, _original=original, **kwargs):
                self.count += 1
                return _original(*args, **kwargs)

            setattr(cls, name, counted)


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return (time.perf_counter() - t0) * 1000


def measure(kind: str, path: Path, repeats: int) -> dict[str, dict]:
    """Median milliseconds (and source reads) per scenario, with whatever is installed in this process."""
    reads = ReadCounter()
    values = filter_values(repeats + 1)
    p = build(kind, path)
    _ = p.data  # the dashboard's initial load, not timed
    if "lumen_ext.cache.rollup" in sys.modules:
        # The rollup cube is built in the background after the first computation, while the viewer looks at the
        # first page; its cost is printed at the end ("rollup cubes").
        sys.modules["lumen_ext.cache.rollup"].wait_for_builds()
    doc, _plot, view = render_views(p)
    widget = p.filters[0]
    out: dict[str, list[float]] = {s: [] for s in SCENARIOS}
    read_counts: dict[str, int] = {}

    def run(name, fn, document=None):
        before = reads.count
        out[name].append(timed(in_document(document or doc, fn)))
        read_counts[name] = read_counts.get(name, 0) + reads.count - before

    for v in values[1:]:
        run("first visit", lambda v=v: setattr(widget, "value", v))
    for v in values[1:]:
        run("repeat (same session)", lambda v=v: setattr(widget, "value", v))
    for v in values[1:]:
        other = build(kind, path)  # a new session's objects (schema load and first render not timed)
        _ = other.data
        other_doc, *_views = render_views(other)
        run("repeat (other session)", lambda v=v, o=other: setattr(o.filters[0], "value", v), other_doc)
        del other, other_doc, _views  # a closed session: let its objects (and vanilla Lumen's cache) go
    for i, v in enumerate(values[1:]):
        widget.value = v
        run("transform option", lambda i=i: setattr(p.transforms[1], "ascending", i % 2 == 0))
    for size in range(repeats):

        def change(size=size):
            view.page_size = 11 + size  # Lumen updates the Tabulator in place
            view.get_data()

        run("view only", change)
    return {s: {"ms": statistics.median(out[s]), "reads": read_counts.get(s, 0) / repeats} for s in SCENARIOS}


def measure_direct(path: Path, repeats: int) -> float:
    import duckdb

    con = duckdb.connect()
    times = [
        timed(lambda v=v: con.execute(direct_sql(path, v, False)).fetch_df())
        for v in filter_values(repeats + 1)[1:]
    ]
    return statistics.median(times)


def copy_costs(path: Path) -> tuple[float, float]:
    import pandas as pd

    df = pd.read_parquet(path)
    shallow = statistics.median(timed(lambda: df.copy(deep=False)) for _ in range(5))
    deep = statistics.median(timed(lambda: df.copy()) for _ in range(3))
    return shallow, deep


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--kinds", nargs="+", default=["duckdb", "file"], choices=["duckdb", "file"])
    parser.add_argument("--max-bytes", type=int, default=4 * 1024**3, help="memory budget of the cache")
    parser.add_argument(
        "--rollup-max-rows",
        type=int,
        default=None,
        help="largest rollup cube kept (0: no cubes, the table answers)",
    )
    parser.add_argument("--vanilla", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # pandas 3.1 deprecations from duckdb/bokeh are not what we measure

    if args.vanilla:  # worker: plain Lumen, nothing installed
        kind, path = args.vanilla
        print(json.dumps(measure(kind, Path(path), args.repeats)))
        return 0

    from lumen_ext import hooks
    from lumen_ext.cache import CacheConfig, stats
    from lumen_ext.data.synthetic import ensure_synthetic
    from lumen_ext.serving import gc_freeze
    from lumen_ext.views import drawings, patching

    rollup_rows = {} if args.rollup_max_rows is None else {"rollup_max_rows": args.rollup_max_rows}
    # As `lumen-ext serve` installs them: the stage cache, patched plots, Lumen's fixes, the Tabulator's styles.
    hooks.enable(
        "cache",
        "views.patching",
        "serving.lumen-fixes",
        "serving.tabulator.styles",
        settings=hooks.Settings(cache=CacheConfig(max_bytes=args.max_bytes, **rollup_rows)),
    )

    # As `lumen-ext serve` does before its first session: the start-up heap leaves the full GC passes, which
    # otherwise walk it during the updates measured here (about 7 ms per update in a profiled repeat).
    gc_freeze.freeze_startup_heap()
    header = (
        f"{'rows':>11} {'source':<7} {'scenario':<23} {'lumen-ext ms':>12} {'reads':>5} "
        f"{'vanilla ms':>10} {'reads':>5} {'duckdb ms':>9} {'ext/duckdb':>10} {'vanilla/ext':>11}"
    )
    print(header)
    print("-" * len(header), flush=True)
    for rows in args.rows:
        path = ensure_synthetic(rows)
        direct = measure_direct(path, args.repeats)
        for kind in args.kinds:
            ext = measure(kind, path, args.repeats)
            proc = subprocess.run(
                [sys.executable, __file__, "--vanilla", kind, str(path), "--repeats", str(args.repeats)],
                capture_output=True,
                text=True,
                env=dict(os.environ, PYTHONWARNINGS="ignore"),
            )
            # Vanilla Lumen can run out of memory (its per-source caches are unbounded): say so, go on.
            vanilla = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None
            for s in SCENARIOS:
                van = (
                    f"{vanilla[s]['ms']:>10.1f} {vanilla[s]['reads']:>5.1f}"
                    if vanilla
                    else f"{'failed':>10} {'rc=' + str(proc.returncode):>5}"
                )
                ratio = f"{vanilla[s]['ms'] / ext[s]['ms']:>11.1f}" if vanilla else f"{'-':>11}"
                print(
                    f"{rows:>11,} {kind:<7} {s:<23} {ext[s]['ms']:>12.1f} {ext[s]['reads']:>5.1f} {van} "
                    f"{direct:>9.1f} {ext[s]['ms'] / direct:>10.2f} {ratio}",
                    flush=True,
                )
            del ext
        shallow, deep = copy_costs(path)
        print(
            f"{rows:,} rows: read-only handout (shallow copy) {shallow:.3f} ms, deep copy {deep:.1f} ms",
            flush=True,
        )
    from lumen_ext.cache import rollup

    cubes = rollup.stats()
    print(
        f"\nrollup cubes: {cubes['cubes_built']} built in the background, "
        f"{1000 * cubes['build_seconds'] / max(cubes['cubes_built'], 1):.1f} ms each; {cubes['refused']} refused"
    )
    print(f"cache statistics: {stats()}")
    print(f"plot memo (HoloViews objects reused by patched views): {patching.memo.stats.as_dict()}")
    print(f"drawings (frames set without HoloViews' update): {drawings.memo.stats.as_dict()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
