"""The ``--policy`` command-line option, shared by `lumen-ext validate` and `lumen-ext serve` so both judge a spec
by the same operator policy."""

from __future__ import annotations

import argparse

from lumen_ext.security.policy import Policy, PolicyError, load_policy


def add_policy_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        metavar="FILE",
        help="operator security policy (.toml/.yaml): allowed modules, directories, callbacks, ... "
        "(default: the safe built-in policy)",
    )


def policy_from_args(args: argparse.Namespace, prog: str) -> Policy | None:
    """The policy named by ``--policy``, or None after printing why it is unusable (the caller exits 2)."""
    try:
        return load_policy(args.policy)
    except PolicyError as exc:
        import sys

        sys.stderr.write(f"{prog}: error: {exc}\n")
        return None
