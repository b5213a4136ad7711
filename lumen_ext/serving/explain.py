"""``lumen-ext explain spec.yaml [--run]``: how each view's data is computed, and what the cache does.

For every layout and view: the chain of pipelines feeding it (parents first), each pipeline's stages,
where each stage runs (the SQL query, or pandas), and its cache key. The dashboard is built in-process the
way ``lumen-ext serve`` builds a session, so its pipelines load once. ``--run`` adds, per stage, the
timing and cache outcome of that first (cold) load and of a second (warm) recomputation, plus the cache
statistics.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from lumen_ext.security.options import add_policy_argument, policy_from_args

__all__ = ["configure", "explain", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="dashboard spec (YAML)")
    parser.add_argument("--run", action="store_true", help="time each stage, cold and warm, with hit/miss")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--no-pushdown", action="store_true", help="explain without SQL pushdown")
    add_policy_argument(parser)


def run(args: argparse.Namespace) -> int:
    if not args.spec.is_file():
        print(f"lumen-ext explain: {args.spec}: no such file", file=sys.stderr)
        return 2
    policy = policy_from_args(args, "lumen-ext explain")
    if policy is None:
        return 2
    spec = args.spec.resolve()
    os.chdir(spec.parent)  # as `lumen-ext serve` does, so DuckDB paths and cache keys resolve alike
    report = explain(spec, run=args.run, pushdown=not args.no_pushdown, policy=policy)
    if args.format == "json":
        json.dump(report, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(report))
    return 0


def explain(spec: Path, run: bool = False, pushdown: bool = True, policy: Any = None) -> dict[str, Any]:
    """Build the dashboard at ``spec`` with the ``explain`` hooks (stage cache and guards) and describe its
    pipelines."""
    import panel as pn
    from lumen.dashboard import Dashboard
    from lumen.layout import Layout

    from lumen_ext import hooks
    from lumen_ext.cache import CacheConfig
    from lumen_ext.cache.runtime import RUNS_ATTR, active_store, parent_key
    from lumen_ext.cache.stages import build_plan

    hooks.install("explain", hooks.Settings(policy=policy, cache=CacheConfig(pushdown=pushdown)))
    store = active_store()
    dash = Dashboard(str(Path(spec).resolve()))
    tabs = (pn.Tabs, getattr(sys.modules["lumen.dashboard"], "Tabs", pn.Tabs))
    if isinstance(dash._layout, tabs):  # `layout: tabs` builds the other tabs lazily
        for i in range(len(dash.layouts)):
            dash._layout.active = i

    described: dict[int, dict[str, Any]] = {}

    def describe(pipeline: Any) -> dict[str, Any]:
        if id(pipeline) in described:
            return described[id(pipeline)]
        cold = getattr(pipeline, RUNS_ATTR, None)
        plan = build_plan(pipeline, store, parent_key(pipeline) if pipeline.pipeline is not None else None)
        entry: dict[str, Any] = {
            "pipeline": pipeline.name,
            "table": pipeline.table,
            "source": type(pipeline.source).__name__ if pipeline.source is not None else None,
            "stages": [
                {"name": s.name, "where": s.where, "key": s.key, "sql": s.sql, "detail": s.detail}
                for s in plan.stages
            ],
            "notes": plan.notes,
        }
        if run:
            entry["cold"] = [_run_dict(r) for r in cold or []]
            pipeline._update_data(force=True)
            entry["warm"] = [_run_dict(r) for r in getattr(pipeline, RUNS_ATTR, None) or []]
        described[id(pipeline)] = entry
        return entry

    layouts = []
    for i, layout in enumerate(dash.layouts):
        if not isinstance(layout, Layout):
            layouts.append({"title": f"layout {i}", "error": f"not loaded: {layout!r}", "views": []})
            continue
        views = []
        for card in layout._cards:
            for view in card.views:
                chain, p = [], getattr(view, "pipeline", None)
                while p is not None:
                    chain.insert(0, p)
                    p = p.pipeline
                views.append(
                    {
                        "view": getattr(view, "view_type", None) or type(view).__name__,
                        "name": view.name,
                        "pipelines": [describe(p) for p in chain],
                    }
                )
        layouts.append({"title": layout.title, "views": views})
    report: dict[str, Any] = {"spec": os.fspath(spec), "layouts": layouts}
    if run:
        from lumen_ext.cache.filescan import scan_stats
        from lumen_ext.cache.plancache import plan_cache

        report["stats"] = {
            **store.stats(),
            "compiled_queries": plan_cache.stats(),
            "file_scans": scan_stats(),
        }
    return report


def _run_dict(r: Any) -> dict[str, Any]:
    return {"name": r.name, "outcome": r.outcome, "ms": round(r.seconds * 1000, 2), "rows": r.rows}


def render_text(report: dict[str, Any]) -> str:
    lines = [f"spec: {report['spec']}"]
    for layout in report["layouts"]:
        lines.append(f"\nlayout: {layout['title']}")
        if layout.get("error"):
            lines.append(f"  ! {layout['error']}")
        for view in layout["views"]:
            lines.append(f"  view {view['view']} ({view['name']})")
            for p in view["pipelines"]:
                lines.append(f"    pipeline {p['pipeline']}  table={p['table']}  source={p['source']}")
                for i, stage in enumerate(p["stages"]):
                    key = (stage["key"] or "")[:12] or "(uncached)"
                    timing = ""
                    if "warm" in p:
                        cold = _outcome(p.get("cold"), i)
                        warm = _outcome(p.get("warm"), i)
                        timing = f"  cold: {cold}  warm: {warm}"
                    detail = f"  [{stage['detail']}]" if stage["detail"] else ""
                    lines.append(
                        f"      {i}. {stage['name']:<26} {stage['where']:<7} key={key}{timing}{detail}"
                    )
                    if stage["sql"]:
                        lines.append(f"         sql: {stage['sql']}")
                for note in p["notes"]:
                    lines.append(f"      note: {note}")
    if "stats" in report:
        lines.append(f"\ncache: {json.dumps(report['stats'])}")
    return "\n".join(lines) + "\n"


def _outcome(runs: list[dict[str, Any]] | None, i: int) -> str:
    if not runs or i >= len(runs):
        return "-"
    r = runs[i]
    return f"{r['outcome']} {r['ms']}ms" if r["outcome"] != "skipped" else "skipped"
