"""`lumen-ext doctor`: the hooks table with what each hook would do on this machine, and why.

For every row: the upstream version installed against the tested range, whether the upstream code still has the
fingerprint the hook was written against, and what ``install`` would decide for the chosen profile. Exit 0 when
every hook of the profile would be enabled on unchanged upstream code, 1 otherwise (a skipped or drifted hook is
something to look at before deploying), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata

from lumen_ext.hooks import registry
from lumen_ext.hooks.settings import Settings
from lumen_ext.hooks.table import HOOKS, PROFILES

__all__ = ["configure", "run"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", choices=PROFILES, default="serve", help="which installation to check")
    parser.add_argument("--format", choices=("text", "json"), default="text")


def _installed(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "-"


def rows(profile: str) -> list[dict[str, str]]:
    """One dict per hook of the table (in table order), for ``profile``."""
    from lumen_ext.cache.config import CacheConfig
    from lumen_ext.hooks import drift

    # Settings under which every hook applies: what each one *could* do here.
    settings = Settings(cache=CacheConfig(), public_url="http://127.0.0.1")
    decisions = {
        d.hook.name: d for d in registry.decide([h for h in HOOKS if profile in h.profiles], settings)
    }
    out = []
    for hook in HOOKS:
        decision = decisions.get(hook.name)
        if decision is None:
            state, reason = "not in profile", ""
        else:
            state, reason = decision.state, decision.reason
            if state == "enable":
                state = "deferred" if hook.deferred else "enabled"
        try:
            current = drift.fingerprint(hook)
            code = "unchanged" if current == hook.fingerprint else f"changed ({current})"
        except Exception as exc:  # an absent optional module, a target that moved
            code = f"unreadable ({type(exc).__name__}: {exc})"
        out.append(
            {
                "hook": hook.name,
                "kind": hook.kind,
                "target": hook.target,
                "upstream": hook.upstream,
                "installed": _installed(hook.distribution),
                "written_against": hook.written_against,
                "code": code,
                "state": state,
                "reason": reason,
                "why": hook.why,
            }
        )
    return out


def run(args: argparse.Namespace) -> int:
    table = rows(args.profile)
    if args.format == "json":
        json.dump(table, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        width = max(len(row["hook"]) for row in table)
        for row in table:
            note = f" ({row['reason']})" if row["reason"] else ""
            sys.stdout.write(
                f"{row['hook']:<{width}}  {row['state']:<14} {row['installed']:<8} {row['code']:<10} "
                f"{row['target']}{note}\n"
            )
    problems = [
        row
        for row in table
        if row["state"] not in ("enabled", "deferred", "not in profile", "absent", "not applicable")
        or (row["code"] != "unchanged" and row["state"] != "absent")
    ]
    in_profile = sum(1 for row in table if row["state"] != "not in profile")
    sys.stderr.write(
        f"lumen-ext doctor: {in_profile} hooks in profile {args.profile!r}, {len(problems)} to review\n"
    )
    return 1 if problems else 0
