"""Datashader views with a cached aggregation stage, beside vanilla Lumen's uncached rasterize.

    python bench/bench_datashader.py [--spec specs/rides_density.yaml] [--repeats 5] [--no-duckdb]

Builds the spec's first hvPlot ``rasterize``/``datashade`` view into a Bokeh document in a fresh interpreter per
mode (``cached``: as ``lumen-ext serve`` runs it, the hooks of Lumen's fixes, the views (patching, reshading, the
cached Datashader aggregation) and the stage cache; ``vanilla``: Lumen
1.4 as installed) and times, server side,
until the document holds the new plot: the first render, a colormap change, a ``cnorm`` change, a pan/zoom to a viewport seen for the first time (a ``RangeXY`` event, as the
browser sends) and a revisit of one. ``reads`` counts DuckDB queries fetched, ``aggs`` Datashader aggregations
(``Canvas.points`` calls), both summed over the repeats. A last table compares the aggregation engines on one
viewport: Datashader on the pipeline's in-memory frame against binning with a DuckDB ``GROUP BY``.

``--worker MODE`` runs one mode and prints its figures as JSON; ``tests/datashader`` drives it on a small file.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = REPO / "specs" / "rides_density.yaml"
MARKER = "@@BENCH@@"

# Viewports in the synthetic data's lon/lat box (NYC): distinct ones for "new", then revisited.
VIEWPORTS = [
    ((-74.02 + i * 0.004, -73.90 + i * 0.004), (40.68 + i * 0.003, 40.80 + i * 0.003)) for i in range(20)
]


# --------------------------------------------------------------------------------------------------------
# Worker: one mode in this interpreter


class Counters:
    """DuckDB queries fetched and Datashader point aggregations, counted where every path goes through."""

    def __init__(self) -> None:
        import datashader as ds
        from lumen.sources.duckdb import DuckDBSource

        self.reads = self.aggs = 0
        fetch, points = DuckDBSource._fetch_df, ds.Canvas.points

        def counting_fetch(source, *args, **kwargs):
            self.reads += 1
            return fetch(source, *args, **kwargs)

        def counting_points(canvas, *args, **kwargs):
            self.aggs += 1
            return points(canvas, *args, **kwargs)

        DuckDBSource._fetch_df = counting_fetch
        ds.Canvas.points = counting_points

    def snapshot(self) -> tuple[int, int]:
        return self.reads, self.aggs


def _range_stream(plot):
    from holoviews.core.spaces import DynamicMap
    from holoviews.streams import RangeXY

    pending = [plot]
    while pending:
        obj = pending.pop()
        if isinstance(obj, DynamicMap):
            for stream in obj.streams:
                if isinstance(stream, RangeXY):
                    return stream
            pending.extend(obj.callback.inputs)
    raise LookupError("the plot has no RangeXY stream: is it rasterized?")


def _first_image(view):
    """The Image the view currently shows (its DynamicMap's last output)."""
    from holoviews.core.spaces import DynamicMap

    plot = view._panel.object
    element = plot.last if isinstance(plot, DynamicMap) else plot
    return element


def _figure(view):
    """The Bokeh Figure the view's pane shows in the document."""
    plot, _ = next(iter(view._panel._plots.values()))
    return plot.state


def _figure_mapper(view):
    plot, _ = next(iter(view._panel._plots.values()))
    (mapper,) = [m for m in plot.traverse(lambda p: p.handles.get("color_mapper")) if m is not None]
    return mapper


def run_worker(mode: str, spec: Path, repeats: int) -> dict:
    import logging

    import numpy as np
    import yaml

    logging.getLogger("param").setLevel(logging.ERROR)  # hvPlot's sizing notices are not what we measure
    if mode == "cached":
        from lumen_ext import hooks
        from lumen_ext.cache import CacheConfig

        # As `lumen-ext serve` does: Lumen fixes (views share the frame instead of deep-copying it), patched and
        # repainted plots, the stage cache, and the cached aggregation, loaded on first use.
        hooks.enable("serving.lumen-fixes", "cache", "views", settings=hooks.Settings(cache=CacheConfig()))
    from bokeh.document import Document
    from lumen.dashboard import Dashboard
    from lumen.state import state
    from lumen.views.base import hvPlotView

    counters = Counters()
    steps: dict[str, dict] = {}

    def measure(name: str, action) -> None:
        reads, aggs = counters.snapshot()
        t0 = time.perf_counter()
        action()
        seconds = time.perf_counter() - t0
        step = steps.setdefault(name, {"seconds": [], "reads": 0, "aggs": 0})
        step["seconds"].append(seconds)
        step["reads"] += counters.reads - reads
        step["aggs"] += counters.aggs - aggs

    holder: dict = {}

    def first_render() -> None:
        dash = Dashboard(str(spec))
        views = [v for layout in dash.layouts for card in layout._cards for v in card.views]
        view = next(
            v for v in views if isinstance(v, hvPlotView) and (v.datashade or v.kwargs.get("rasterize"))
        )
        holder.update(dash=dash, view=view, root=dash._template.main[0].get_root(Document()))

    measure("first render", first_render)
    view = holder["view"]
    first = _first_image(view)
    figure = _figure(view).id
    declared = yaml.safe_load(spec.read_text())["variables"]
    cmaps = [o for o in declared["cmap"]["options"] if o != state.variables.cmap]
    cnorms = [o for o in declared["cnorm"]["options"] if o != state.variables.cnorm]
    for i in range(repeats):
        measure("colormap change", lambda i=i: setattr(state.variables, "cmap", cmaps[i % len(cmaps)]))
    palette = list(_figure_mapper(view).palette)
    cmap_figure_kept = _figure(view).id == figure
    for i in range(repeats):
        measure("cnorm change", lambda i=i: setattr(state.variables, "cnorm", cnorms[i % len(cnorms)]))
    # Shading must not change the data shown.
    after = _first_image(view)
    shaded_same = bool(np.array_equal(first.dimension_values(2), after.dimension_values(2), equal_nan=True))
    new, seen = VIEWPORTS[:repeats], VIEWPORTS[:repeats]
    for x_range, y_range in new:
        measure(
            "pan/zoom, new viewport",
            lambda x=x_range, y=y_range: _range_stream(view._panel.object).event(x_range=x, y_range=y),
        )
    for x_range, y_range in seen:
        measure(
            "viewport revisit",
            lambda x=x_range, y=y_range: _range_stream(view._panel.object).event(x_range=x, y_range=y),
        )
    result = {"mode": mode, "steps": steps, "rows": len(view.pipeline.data), "shaded_same_data": shaded_same}
    # What the plot shades with after the colormap changes (and before the cnorm ones): the palette of its
    # Bokeh colour mapper, which is what the browser draws with.
    from holoviews.plotting.util import process_cmap

    result["cmap"] = {
        "variable": cmaps[(repeats - 1) % len(cmaps)],
        "palette_matches": palette == list(process_cmap(cmaps[(repeats - 1) % len(cmaps)], None)),
        "figure_kept": cmap_figure_kept,
    }
    if mode == "cached":
        from lumen_ext.views import datashader as cached_views
        from lumen_ext.views import reshade

        result["cache"] = cached_views.stats()
        result["reshade"] = reshade.stats()
    return result


# --------------------------------------------------------------------------------------------------------
# Engine comparison: the same count grid from Datashader on a frame and from a DuckDB GROUP BY


def compare_engines(parquet: Path, repeats: int) -> list[dict]:
    import datashader as ds
    import duckdb
    import numpy as np
    import pandas as pd

    width, height = 700, 500
    (x0, x1), (y0, y1) = (-74.05, -73.75), (40.60, 40.90)
    frame = pd.read_parquet(parquet, columns=["pickup_lon", "pickup_lat"])
    canvas = ds.Canvas(plot_width=width, plot_height=height, x_range=(x0, x1), y_range=(y0, y1))
    canvas.points(frame.iloc[:1000], "pickup_lon", "pickup_lat", ds.count())  # numba compilation
    timings, grid = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        grid = canvas.points(frame, "pickup_lon", "pickup_lat", ds.count()).values
        timings.append(time.perf_counter() - t0)
    # Datashader's own pixel mapping (glyphs/points.py): scale and translate, floor, and points exactly on the
    # upper bound land in the last pixel.
    sx, sy = width / (x1 - x0), height / (y1 - y0)
    tx, ty = -x0 * sx, -y0 * sy
    sql = f"""
        SELECT least(CAST(floor(pickup_lon * {sx!r} + {tx!r}) AS INTEGER), {width - 1}) AS i,
               least(CAST(floor(pickup_lat * {sy!r} + {ty!r}) AS INTEGER), {height - 1}) AS j,
               count(*) AS n
        FROM read_parquet('{parquet}')
        WHERE pickup_lon BETWEEN {x0!r} AND {x1!r} AND pickup_lat BETWEEN {y0!r} AND {y1!r}
        GROUP BY 1, 2
    """
    con = duckdb.connect()
    duck_timings, binned = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        binned = con.execute(sql).df()
        duck_timings.append(time.perf_counter() - t0)
    duck_grid = np.zeros((height, width), dtype=np.int64)
    duck_grid[binned["j"].to_numpy(), binned["i"].to_numpy()] = binned["n"].to_numpy()
    equal = bool((duck_grid == grid.astype(np.int64)).all())
    return [
        {"engine": "Datashader, in-memory frame", "median_s": statistics.median(timings), "equal": True},
        {
            "engine": "DuckDB GROUP BY on the Parquet",
            "median_s": statistics.median(duck_timings),
            "equal": equal,
        },
    ]


# --------------------------------------------------------------------------------------------------------
# Driver


def _run_mode(mode: str, spec: Path, repeats: int) -> dict:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", mode, "--spec", str(spec), "--repeats", str(repeats)],
        capture_output=True,
        text=True,
        timeout=1200,
        env=env,
        cwd=REPO,
    )
    for line in proc.stdout.splitlines():
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER) :])
    raise RuntimeError(f"{mode} worker exited {proc.returncode}:\n{proc.stderr[-3000:]}")


def _ms(seconds: list[float]) -> float:
    return statistics.median(seconds) * 1000


def print_table(cached: dict, vanilla: dict) -> None:
    print(f"\n{cached['rows']:,} rows in the view's pipeline; medians of the repeats, server side")
    header = f"| {'step':<24} | {'cached ms':>10} | {'reads':>5} | {'aggs':>4} | {'vanilla ms':>10} | {'reads':>5} | {'aggs':>4} | {'speed-up':>8} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    for name, c in cached["steps"].items():
        v = vanilla["steps"][name]
        speedup = _ms(v["seconds"]) / _ms(c["seconds"])
        print(
            f"| {name:<24} | {_ms(c['seconds']):>10.0f} | {c['reads']:>5} | {c['aggs']:>4} "
            f"| {_ms(v['seconds']):>10.0f} | {v['reads']:>5} | {v['aggs']:>4} | {speedup:>7.1f}x |"
        )
    print(f"cached aggregation statistics: {cached.get('cache')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-duckdb", action="store_true", help="skip the aggregation engine comparison")
    parser.add_argument("--worker", choices=["cached", "vanilla"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.repeats = max(1, min(args.repeats, len(VIEWPORTS)))
    if args.worker:
        print(MARKER + json.dumps(run_worker(args.worker, args.spec.resolve(), args.repeats)), flush=True)
        return 0

    from lumen_ext.data import synthetic

    parquet = synthetic.ensure_synthetic(synthetic.DEFAULT_ROWS)
    cached = _run_mode("cached", args.spec, args.repeats)
    vanilla = _run_mode("vanilla", args.spec, args.repeats)
    print_table(cached, vanilla)
    if not args.no_duckdb:
        print("\nAggregation engines, one 700x500 count grid over the whole file (medians):")
        print(f"| {'engine':<32} | {'median ms':>9} | equal to Datashader |")
        print(f"|{'-' * 34}|{'-' * 11}|{'-' * 21}|")
        for row in compare_engines(Path(parquet), args.repeats):
            print(
                f"| {row['engine']:<32} | {row['median_s'] * 1000:>9.0f} | {'yes' if row['equal'] else 'NO':<19} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
