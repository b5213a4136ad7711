"""`lumen-ext precache SPEC.yaml`: compute a dashboard's likely states ahead of its viewers.

Each pipeline is run over the states a viewer is likely to ask for, and every stage result lands in the shared
second tier of the stage cache (a cache directory or Redis), which the serving processes read. The states come
from the pipeline's own ``precache:`` key when it has one (Lumen's documented format: a cross product of
``filters``/``variables`` value lists, or a list of explicit states), otherwise from its widget filters: the
pipeline as loaded, then each categorical filter set to one value at a time, the way a viewer picks one.
Continuous filters (ranges, dates) have no list of values and are left as they are.

Lumen 1.4's own ``lumen-spec precache`` loads the pipelines and computes nothing.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lumen_ext.cache import rollup
from lumen_ext.security.guards.pipeline_faults import fault_of
from lumen_ext.security.options import add_policy_argument, policy_from_args

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, metavar="SPEC", help="the Lumen YAML spec whose states to compute")
    tier = parser.add_mutually_exclusive_group(required=True)
    tier.add_argument("--cache-dir", type=Path, metavar="DIR", help="file tier shared with `lumen-ext serve`")
    tier.add_argument("--redis-url", metavar="URL", help="Redis tier shared with `lumen-ext serve`")
    parser.add_argument(
        "--max-values", type=int, default=50, help="values tried per categorical filter (default: 50)"
    )
    parser.add_argument(
        "--max-states", type=int, default=500, help="states computed per pipeline at most (default: 500)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_policy_argument(parser)


@dataclass
class PipelineStates:
    name: str
    states: list[dict[str, dict[str, Any]]]
    truncated: bool = False


@dataclass
class PrecacheReport:
    pipelines: list[PipelineStates] = field(default_factory=list)
    computed: int = 0
    failed: int = 0
    seconds: float = 0.0


def _declared_states(spec: Any) -> list[dict[str, dict[str, Any]]] | None:
    """The states of a pipeline's ``precache:`` key, expanded as Lumen expands them."""
    if not spec:
        return None
    if isinstance(spec, list):
        return [dict(state) for state in spec]
    from lumen.pipeline import expand_queries

    return [dict(state) for state in expand_queries(spec)]


def _filter_states(pipeline: Any, max_values: int) -> Iterator[dict[str, dict[str, Any]]]:
    """The loaded state, then each categorical widget filter set to one of its values."""
    yield {"filters": {}}
    for filt in pipeline.traverse("filters"):
        widget = getattr(filt, "widget", None)
        options = getattr(widget, "options", None)
        if filt.filter_type != "widget" or not options:
            continue
        values = list(options.values() if isinstance(options, dict) else options)[:max_values]
        multi = isinstance(filt.value, list | tuple) or getattr(filt, "multi", False)
        for value in values:
            yield {"filters": {filt.field: [value] if multi else value}}


def plan_states(
    pipelines: dict[str, Any], pipeline_specs: dict[str, Any], max_values: int, max_states: int
) -> list[PipelineStates]:
    plans = []
    for name, pipeline in pipelines.items():
        spec = pipeline_specs.get(name)
        declared = _declared_states(spec.get("precache") if isinstance(spec, dict) else None)
        states = iter(declared) if declared is not None else _filter_states(pipeline, max_values)
        chosen = list(itertools.islice(states, max_states + 1))
        plans.append(PipelineStates(name, chosen[:max_states], truncated=len(chosen) > max_states))
    return plans


class Progress:
    """One line on stderr: a bar, the count, elapsed time and an ETA from the mean time per state so far."""

    def __init__(self, total: int, enabled: bool, stream=sys.stderr, width: int = 30):
        self.total, self.enabled, self.stream, self.width = total, enabled, stream, width
        self.done = 0
        self.started = time.monotonic()

    def step(self, label: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        eta = elapsed / self.done * (self.total - self.done)
        filled = round(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(
            f"\r[{bar}] {self.done}/{self.total} states  {elapsed:5.1f} s  ETA {eta:5.1f} s  {label[:40]:<40}"
        )
        if self.done == self.total:
            self.stream.write("\n")
        self.stream.flush()


def _load_pipelines(spec_path: Path) -> dict[str, Any]:
    """Sources, variables and pipelines of the spec, built the way Lumen's loader builds them."""
    from lumen.config import config
    from lumen.dashboard import load_yaml
    from lumen.state import state
    from lumen.variables import Variables

    config.root = str(spec_path.parent)
    state.spec = load_yaml(spec_path.read_text())
    # Outside a session, `from_spec` makes these the process's variables (`state.variables`), as Lumen's
    # Dashboard does; `state.variables` is a `Variables` object, which takes no item assignment.
    Variables.from_spec(state.spec.get("variables", {}))
    for name, source_spec in state.spec.get("sources", {}).items():
        state.load_source(name, source_spec)
    pipelines = dict(state.load_pipelines(auto_update=False))
    # A pipeline that failed to load is an empty stand-in here (security.load-pipelines, logged with its error id):
    # nothing of it is worth computing.
    return {name: p for name, p in pipelines.items() if fault_of(p) is None}


def precache(spec_path: Path, max_values: int, max_states: int, progress: bool) -> PrecacheReport:
    """Compute every planned state of every pipeline; the installed stage cache stores the results."""
    pipelines = _load_pipelines(spec_path)
    from lumen.state import state

    report = PrecacheReport(plan_states(pipelines, state.spec.get("pipelines", {}), max_values, max_states))
    bar = Progress(sum(len(p.states) for p in report.pipelines), progress)
    started = time.monotonic()
    for planned in report.pipelines:
        pipeline = state.pipelines[planned.name]
        restore = None
        for i, qspec in enumerate(planned.states):
            try:
                previous = pipeline._set_spec(qspec)
                if restore is None:
                    restore = previous
                pipeline._update_data(force=True)
                report.computed += 1
                if i == 0:
                    # The first state of a pipeline starts its rollup cube: the other states are answered from it.
                    rollup.wait_for_builds()
            except Exception as exc:  # one bad state must not stop the others; it is reported
                report.failed += 1
                log.warning(
                    "pipeline %s, state %s failed: %s: %s", planned.name, qspec, type(exc).__name__, exc
                )
            bar.step(f"{planned.name} {qspec.get('filters') or qspec.get('variables') or 'as loaded'}")
        if restore:
            pipeline._set_spec(restore)
    report.seconds = time.monotonic() - started
    return report


def run(args: argparse.Namespace) -> int:
    spec = args.spec.resolve()
    if not spec.is_file():
        print(f"lumen-ext precache: no such spec file: {spec}", file=sys.stderr)
        return 2
    policy = policy_from_args(args, "lumen-ext precache")
    if policy is None:
        return 2
    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")

    from lumen_ext import hooks
    from lumen_ext.cache import CacheConfig, stats

    cache_dir = args.cache_dir.resolve() if args.cache_dir else None
    # Precaching runs the spec's sources and transforms: the same guards and cache as serving.
    hooks.install(
        "precache",
        hooks.Settings(policy=policy, cache=CacheConfig(disk_dir=cache_dir, redis_url=args.redis_url)),
    )
    os.chdir(spec.parent)  # as `lumen-ext serve` does, so DuckDB paths and cache keys resolve alike
    report = precache(spec, args.max_values, args.max_states, progress=not args.quiet and sys.stderr.isatty())
    for planned in report.pipelines:
        more = f" (first {len(planned.states)}; raise --max-states for more)" if planned.truncated else ""
        print(f"{planned.name}: {len(planned.states)} states{more}")
    second = {k: v for k, v in stats().items() if k != "memory" and isinstance(v, dict)}
    cubes = rollup.stats()
    print(
        f"computed {report.computed} states in {report.seconds:.1f} s, {report.failed} failed; tier: {second}; "
        f"rollup cubes: {cubes['cubes_built']} built, {cubes['refused']} refused"
    )
    return 1 if report.failed else 0
