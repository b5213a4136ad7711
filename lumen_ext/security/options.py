"""The ``--policy`` command-line option, shared by `lumen-ext validate` and `lumen-ext serve` so both judge a spec
by the same operator policy."""

from __future__ import annotations

import argparse
import os

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


def policy_argument(policy: Policy | str | os.PathLike | None) -> Policy:
    """The ``policy=`` of the embedding doors: a :class:`Policy`, a policy file's path, or None (the defaults)."""
    if policy is None or isinstance(policy, str | os.PathLike):
        return load_policy(policy)
    if not isinstance(policy, Policy):
        raise TypeError(f"policy must be a Policy or a policy file's path, not {type(policy).__name__}")
    return policy
