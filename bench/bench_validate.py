"""How long one `lumen-ext validate SPEC` takes in a fresh process, against two references measured in the same run.

    python bench/bench_validate.py [--runs 15] [--lumen-runs 5] [--spec PATH]

Rows (each a new interpreter, run round-robin so machine load hits all of them alike):

* ``python -c pass``: the interpreter's own start-up, the floor for any command;
* ``python -c "import yaml, pydantic"``: the baseline, what any pydantic-based YAML checker pays before work;
* ``lumen-ext validate`` with and without ``--no-data``;
* ``lumen-spec validate``: Lumen 1.4.0's validator (imports Panel, Bokeh and HoloViews; about 3 s).

Bytecode caches: if ``PYTHONDONTWRITEBYTECODE`` is set, every process recompiles lumen-ext from source, which is
not how an installed package runs. The children run without it, after one warm-up run that writes the caches.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SPECS = [
    REPO.parent / "shared" / "lumen-corpus" / "offline" / "penguins" / "penguins.yaml",
    REPO / "tests" / "examples" / "valid" / "full_featured.yaml",
]
TARGET_SECONDS = 0.35


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, timeout=120, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):  # 1: the spec has errors, still a complete run
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="runs per fast command (default 15)")
    parser.add_argument("--lumen-runs", type=int, default=5, help="runs of lumen-spec validate (default 5)")
    parser.add_argument("--spec", type=Path, default=next((p for p in DEFAULT_SPECS if p.exists()), None))
    args = parser.parse_args()
    spec = str(args.spec)
    python = sys.executable
    bindir = Path(python).parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    commands: dict[str, tuple[list[str], int]] = {
        "python -c pass": ([python, "-c", "pass"], args.runs),
        'python -c "import yaml, pydantic"': ([python, "-c", "import yaml, pydantic"], args.runs),
        "lumen-ext validate": ([python, "-m", "lumen_ext", "validate", spec], args.runs),
        "lumen-ext validate --no-data": (
            [python, "-m", "lumen_ext", "validate", "--no-data", spec],
            args.runs,
        ),
    }
    lumen_spec = shutil.which("lumen-spec", path=str(bindir)) or shutil.which("lumen-spec")
    if lumen_spec and args.lumen_runs > 0:
        commands["lumen-spec validate"] = ([lumen_spec, "validate", spec], args.lumen_runs)

    for cmd, _ in commands.values():  # warm-up: bytecode caches, OS file cache
        _timed(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(max(n for _, n in commands.values())):
        for name, (cmd, n) in commands.items():
            if i < n:
                times[name].append(_timed(cmd, env))

    medians = {name: statistics.median(t) for name, t in times.items()}
    base = medians['python -c "import yaml, pydantic"']
    lumen = medians.get("lumen-spec validate")
    print(f"spec: {spec}")
    print(f"load average: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs\n")
    header = f"{'command':<36} {'runs':>4} {'median s':>9} {'min s':>7} {'vs yaml+pydantic':>17} {'vs lumen-spec':>14}"
    print(header)
    print("-" * len(header))
    for name, t in times.items():
        vs_lumen = f"{medians[name] / lumen:.3f}x" if lumen else "n/a"
        print(
            f"{name:<36} {len(t):>4} {medians[name]:>9.3f} {min(t):>7.3f} "
            f"{medians[name] / base:>16.2f}x {vs_lumen:>14}"
        )
    ours = medians["lumen-ext validate"]
    print(
        f"\nlumen-ext validate: median {ours:.3f} s; target <= {TARGET_SECONDS} s: "
        f"{'met' if ours <= TARGET_SECONDS else 'NOT met'}"
        + (f"; {lumen / ours:.1f}x faster than lumen-spec validate" if lumen else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
