"""`lumen-ext validate [--format text|json|github|sarif] [--no-data] PATH...`

Exit status: 0 no errors (warnings allowed), 1 errors, 2 usage error, unreadable input or an internal error
(lumen-ext failed on a file: the report is still complete and well-formed, the traceback goes to stderr).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from lumen_ext.security.options import add_policy_argument, policy_from_args

if TYPE_CHECKING:
    from lumen_ext.validation.diagnostics import Report

FORMATS = ("text", "json", "github", "sarif")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="spec files, or folders searched for *.yaml/*.yml"
    )
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument(
        "--no-data",
        dest="data",
        action="store_false",
        help="read no data files or databases; columns are checked against the spec's lock file "
        "(NAME.lock.json, written by `lumen-ext lock`) when there is one, else not at all",
    )
    parser.add_argument(
        "--list-rules", action="store_true", help="print every rule id with its meaning and exit"
    )
    add_policy_argument(parser)
    parser.epilog = (
        "Exit status: 0 no errors (warnings allowed), 1 errors found, 2 usage error, unreadable input or "
        "an internal error."
    )


def use_color(stream) -> bool:
    if os.environ.get("NO_COLOR"):  # https://no-color.org: any non-empty value disables colour
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty() and os.environ.get("TERM") != "dumb"


def _list_rules() -> int:
    from lumen_ext.validation.rules import RULES

    width = max(len(r) for r in RULES)
    for rule in RULES.values():
        sys.stdout.write(f"{rule.id:<{width}}  {rule.severity:<7}  {rule.summary}\n")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.list_rules:
        return _list_rules()
    if not args.paths:
        sys.stderr.write("lumen-ext validate: error: give at least one PATH (a spec file or a folder)\n")
        return 2
    from lumen_ext.validation.engine import UnreadableInput, validate_paths
    from lumen_ext.validation.reporters import REPORTER_BY_NAME

    policy = policy_from_args(args, "lumen-ext validate")
    if policy is None:
        return 2
    try:
        report = validate_paths(args.paths, data=args.data, policy=policy)
    except UnreadableInput as exc:
        sys.stderr.write(f"lumen-ext validate: error: {exc}\n")
        return 2
    if not report.files:
        sys.stderr.write(
            "lumen-ext validate: error: no *.yaml or *.yml files found in " + ", ".join(args.paths) + "\n"
        )
        return 2
    REPORTER_BY_NAME[args.format](sys.stdout, color=use_color(sys.stdout)).report(report)
    for file in report.files:
        for trace in file.tracebacks:
            sys.stderr.write(f"lumen-ext validate: internal error in {trace}")
    return exit_status(report)


def exit_status(report: Report) -> int:
    """2 when lumen-ext itself failed on a file (its report is complete otherwise), 1 on errors, else 0."""
    if report.crashed:
        return 2
    return 1 if report.errors else 0
