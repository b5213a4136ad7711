"""`lumen-ext data`: generate the synthetic rides dataset (and, on request, re-export the sample data).

lumen-ext data                      # sources/generated/rides_10m.parquet, unless already there
lumen-ext data --rows 1000000       # sources/generated/rides_1m.parquet
lumen-ext data --rows 1000000 --rows 10000000 --force
lumen-ext data --samples            # rewrite sources/*.csv|parquet from the hvsampledata package
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lumen_ext.data import synthetic


def _row_count(text: str) -> int:
    """Accept 10000000, 10_000_000, 10m or 250k."""
    cleaned = text.strip().lower().replace("_", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(cleaned[-1:], 1)
    digits = cleaned[:-1] if factor > 1 else cleaned
    try:
        rows = int(digits) * factor
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a row count: {text!r}") from None
    if rows < 1:
        raise argparse.ArgumentTypeError(f"row count must be positive: {text!r}")
    return rows


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rows",
        type=_row_count,
        action="append",
        metavar="N",
        help=f"rows to generate (e.g. 1000000, 1m, 250k); repeat for several files "
        f"(default: {synthetic.DEFAULT_ROWS:_})",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"output folder (default: {synthetic.DEFAULT_OUT_DIR})",
    )
    parser.add_argument("--seed", type=int, default=synthetic.DEFAULT_SEED, help="random seed")
    parser.add_argument("--force", action="store_true", help="regenerate even when an up-to-date file exists")
    parser.add_argument(
        "--samples",
        action="store_true",
        help="instead, re-export the small real datasets from hvsampledata into sources/",
    )


def run(args: argparse.Namespace) -> int:
    if args.samples:
        return _export_samples(args.out)
    for rows in args.rows or [synthetic.DEFAULT_ROWS]:
        path = synthetic.synthetic_path(rows, args.out)
        if not args.force and synthetic.is_current(path, rows, args.seed):
            print(f"up to date: {path} ({rows:,} rows)")
            continue
        started = time.perf_counter()
        synthetic.ensure_synthetic(rows, args.out, seed=args.seed, force=args.force)
        elapsed = time.perf_counter() - started
        size_mb = path.stat().st_size / 1e6
        print(f"wrote {path} ({rows:,} rows, {size_mb:,.1f} MB) in {elapsed:.1f} s")
    return 0


def _export_samples(out: Path | None) -> int:
    from lumen_ext.data import samples

    out_dir = out or synthetic.DEFAULT_OUT_DIR.parent
    try:
        written = samples.export_samples(out_dir)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in written:
        print(f"wrote {path}")
    return 0
