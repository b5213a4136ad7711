"""Fuzz ``lumen-ext validate`` (and the loader ``lumen-ext serve`` gives Lumen) with generated and mutated specs.

Cases come in classes (`fuzz_cases`: generated, mutated, scalar tags, alias bombs, Unicode line separators,
line ends and BOMs, huge inputs and deep nesting, non-string ``type:``), each a seeded function of its index, so
a run is reproducible and any case can be regenerated alone. Every case is validated the way the CLI does it
(file on disk, data checks on, all four output formats) and must satisfy `fuzz_oracles`: no traceback or
``internal-error``, valid JSON and SARIF, every reported line inside the file as an editor counts lines, and at
most ``--limit-seconds`` (2 s) for the validation and the slowest of the four renderings (what ``lumen-ext
validate --format F`` costs for the worst F), counted in CPU seconds of the process: on the shared 2-core machine
wall time measures the other jobs too (it is shown beside; ``--hang-seconds`` of it abandon a case). Each case
also goes through ``lumen_ext.security.templating.load_spec_text`` (the loader ``lumen-ext serve`` gives Lumen)
and the security lint, which may refuse only with their documented errors; except huge inputs and what
validation refuses as an alias bomb or too deep, which serve never loads (it validates first) and which that
loader, like Lumen's, expands in full.

Usage::

    python bench/fuzz_specs.py --cases 10000 --seed 1        # about 2 minutes on the shared 2-core machine
    python bench/fuzz_specs.py --only huge --case 17 --seed 1 --show    # one case again, with its text

Prints a table per class (cases, failures, median and max CPU seconds, max wall seconds) and exits 1 when any
case failed.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parent))  # fuzz_cases and fuzz_oracles sit beside this file

from fuzz_cases import ATTACKS, CLASSES, EXAMPLES, REPO, case_text, configure, generated, mutated, schedule
from fuzz_oracles import problems, run_validator

__all__ = ["ATTACKS", "check", "check_loader_and_lint", "check_validator", "run", "specs"]

# What lumen-ext serve never hands to its loader, because validation refuses it first: the loader and the lint
# walk the data as PyYAML builds it, alias expansion and all.
NOT_FOR_SERVE_LOADER = {"yaml-alias-bomb", "yaml-too-deep"}

# The original generated and mutated specs, as a hypothesis strategy (tests/security/test_fuzz.py uses it).
specs = st.integers(0, 2**32 - 1).map(lambda n: (generated, mutated)[n % 2](random.Random(n)))


class Hang(Exception):
    pass


def check_loader_and_lint(text: str) -> None:
    """The safe loader refuses only with its documented errors; the lint never raises on what it loads."""
    import jinja2

    from lumen_ext.security.templating import SpecLoadRefused, load_spec_text
    from lumen_ext.validation.security import unsafe_constructs

    try:
        data = load_spec_text(text)
    except (SpecLoadRefused, yaml.YAMLError, jinja2.TemplateError, RecursionError):
        # RecursionError: PyYAML's composer on pathologically nested input; Lumen's loader hits it too.
        return
    except Exception as exc:
        # PyYAML's own constructors on a malformed scalar (`!!float abc`: ValueError, `!!int ""`: IndexError...):
        # Lumen's loader fails the same way, and lumen-ext serve reports it from validation (`invalid-value`)
        # before it loads anything. An exception raised anywhere else is a bug.
        if "yaml" not in Path(traceback.extract_tb(exc.__traceback__)[-1].filename).parts:
            raise
        return
    if isinstance(data, dict):
        issues = unsafe_constructs(data, REPO / "fuzz" / "spec.yaml")
        assert isinstance(issues, list)


def check_validator(text: str) -> None:
    """``lumen-ext validate`` (without data checks) reports problems as diagnostics and never raises."""
    from lumen_ext.validation import validate_text

    report = validate_text(text, "fuzz.yaml", REPO / "fuzz", data=False)
    assert report.path == "fuzz.yaml"
    assert not report.tracebacks, report.tracebacks[0]


def check(text: str) -> None:
    """Run one spec text through the loader, the lint and the validator; raise on any unexpected behaviour."""
    check_loader_and_lint(text)
    check_validator(text)


@dataclass
class Tally:
    seconds: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # CPU
    wall: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # the longest wall time
    failed: Counter = field(default_factory=Counter)  # class -> failed cases
    kinds: Counter = field(default_factory=Counter)  # (class, problem) -> cases
    first: dict = field(default_factory=dict)  # (class, problem) -> first failing index

    @property
    def cases(self) -> int:
        return sum(len(v) for v in self.seconds.values())


def _short(exc: BaseException) -> str:
    frame = traceback.extract_tb(exc.__traceback__)[-1]
    return f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"


def run_case(
    name: str, text: str, workdir: Path, limit_seconds: float, hang_seconds: float
) -> tuple[float, float, list[str]]:
    """Validate one case; its time (validation and the slowest of the four renderings, what the CLI costs with
    the slowest ``--format``) in CPU and wall seconds, and every broken promise."""

    def on_alarm(signum, frame):
        raise Hang

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, hang_seconds)
    start = time.perf_counter()
    try:
        outcome = run_validator(text, workdir)
        elapsed, wall = outcome.seconds, outcome.wall
        found = problems(text, outcome)
        if name != "huge" and not outcome.rules & NOT_FOR_SERVE_LOADER:
            try:
                check_loader_and_lint(text)
            except Hang:
                raise
            except Exception as exc:  # the serve loader's contract is the same: no traceback
                found.append(f"loader+lint: {_short(exc)}")
    except Hang:
        return hang_seconds, time.perf_counter() - start, [f"hang (> {hang_seconds:g} s)"]
    except Exception as exc:  # escaped validation or a reporter: the traceback the CLI would print
        return 0.0, time.perf_counter() - start, [f"traceback: {_short(exc)}"]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if elapsed > limit_seconds:
        found.append(f"slow (> {limit_seconds:g} CPU s)")
    return elapsed, wall, found


def run(
    cases: int,
    seed: int,
    only: str | None = None,
    limit_seconds: float = 2.0,
    hang_seconds: float = 20.0,
    max_seconds: float = 3600.0,
    progress: bool = False,
) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + max_seconds
    order = schedule(cases, seed, only)
    with tempfile.TemporaryDirectory(prefix="lumen-ext-fuzz-") as tmp:
        workdir = Path(tmp)
        # So the data checks run on what the specs reference (tests/examples and the non-string-type skeleton).
        shutil.copy(EXAMPLES / "invalid" / "sales.csv", workdir)
        for n, (name, index) in enumerate(order, 1):
            if time.monotonic() > deadline:
                break
            elapsed, wall, found = run_case(
                name, case_text(seed, name, index), workdir, limit_seconds, hang_seconds
            )
            tally.seconds[name].append(elapsed)
            tally.wall[name] = max(tally.wall[name], wall)
            if found:
                tally.failed[name] += 1
            for kind in dict.fromkeys(found):
                tally.kinds[name, kind] += 1
                tally.first.setdefault((name, kind), index)
            if progress and n % 500 == 0:
                print(f"  {n:,}/{len(order):,} cases, {sum(tally.failed.values())} failed", file=sys.stderr)
    return tally


def table(tally: Tally) -> str:
    rows = [("class", "cases", "failures", "median CPU s", "max CPU s", "max wall s")]
    every: list[float] = []
    for name in CLASSES:
        times = tally.seconds.get(name)
        if not times:
            continue
        every += times
        rows.append(
            (
                name,
                f"{len(times):,}",
                f"{tally.failed[name]:,}",
                f"{statistics.median(times):.3f}",
                f"{max(times):.2f}",
                f"{tally.wall[name]:.2f}",
            )
        )
    if every:
        rows.append(
            (
                "all",
                f"{len(every):,}",
                f"{sum(tally.failed.values()):,}",
                f"{statistics.median(every):.3f}",
                f"{max(every):.2f}",
                f"{max(tally.wall.values()):.2f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append(
                "|" + "|".join("-" * (w + 1) + ("-" if j == 0 else ":") for j, w in enumerate(widths)) + "|"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", "--examples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", choices=list(CLASSES), help="run one class")
    parser.add_argument("--case", type=int, help="with --only: run this one case")
    parser.add_argument("--show", action="store_true", help="print the text of the failing (or --case) cases")
    parser.add_argument("--limit-seconds", type=float, default=2.0, help="a case using more CPU time fails")
    parser.add_argument(
        "--hang-seconds", type=float, default=20.0, help="a case is abandoned after this long"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=3600.0, help="stop starting cases after this long"
    )
    parser.add_argument("--max-bytes", type=int, default=1_500_000, help="the largest `huge` case")
    args = parser.parse_args(argv)
    configure(args.max_bytes)
    if args.case is not None:
        if not args.only:
            parser.error("--case needs --only CLASS")
        text = case_text(args.seed, args.only, args.case)
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(EXAMPLES / "invalid" / "sales.csv", tmp)
            # Warm up first, as the cases of a run are: the checks import their modules on first use.
            run_case("generated", case_text(args.seed, "generated", 0), Path(tmp), 60.0, args.hang_seconds)
            elapsed, wall, found = run_case(args.only, text, Path(tmp), args.limit_seconds, args.hang_seconds)
        if args.show:
            print(repr(text[:3000]) + (f"... ({len(text):,} characters)" if len(text) > 3000 else ""))
        print(f"{elapsed:.3f} CPU s, {wall:.3f} wall s; " + ("; ".join(found) or "no problems"))
        return 1 if found else 0
    load = os.getloadavg()[0]
    started = time.perf_counter()
    tally = run(
        args.cases, args.seed, args.only, args.limit_seconds, args.hang_seconds, args.max_seconds, True
    )
    print(table(tally))
    print(
        f"\nseed {args.seed}, {tally.cases:,} cases in {time.perf_counter() - started:,.0f} s; "
        f"load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at the end"
    )
    for (name, kind), count in tally.kinds.most_common():
        index = tally.first[name, kind]
        print(f"  {count:,} x {name}: {kind}  (first: --only {name} --case {index} --seed {args.seed})")
        if args.show:
            print("    " + repr(case_text(args.seed, name, index)[:600]))
    return 1 if tally.failed or tally.cases < min(args.cases, 1) else 0


if __name__ == "__main__":
    sys.exit(main())
