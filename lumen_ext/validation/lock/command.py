"""`lumen-ext lock [--check] SPEC...`: write each spec's lock file (``NAME.lock.json`` beside it), or check that
it is current.

Exit status, as `lumen-ext validate`'s: 0 done (with ``--check``: every lock current), 1 a lock could not be
built (data missing or unreadable, the spec not YAML) or, with ``--check``, is missing or stale, 2 usage error or
unreadable input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lumen_ext.validation.diagnostics import FileReport, Report
from lumen_ext.validation.engine import UnreadableInput, expand_paths
from lumen_ext.validation.lock.build import LockBuild, build_lock
from lumen_ext.validation.lock.lockfile import dumps, lock_path
from lumen_ext.validation.reporters import TextReporter


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="SPEC", help="spec files, or folders searched for *.yaml/*.yml"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when a lock file is missing or differs from the data (for CI)",
    )
    parser.epilog = (
        "Each spec's lock file (NAME.lock.json beside NAME.yaml) records every table's columns and their types, "
        "row counts and a fingerprint of the data; `lumen-ext validate` checks columns against it where the "
        "data is away (--no-data) and reports drift where the data is here. Exit status: 0 done (--check: "
        "current), 1 a lock could not be built, or is missing or stale, 2 usage error or unreadable input."
    )


def run(args: argparse.Namespace) -> int:
    if not args.paths:
        sys.stderr.write("lumen-ext lock: error: give at least one SPEC (a spec file or a folder)\n")
        return 2
    try:
        specs = expand_paths(args.paths)
        texts = [(spec, _read(spec)) for spec in specs]
    except UnreadableInput as exc:
        sys.stderr.write(f"lumen-ext lock: error: {exc}\n")
        return 2
    if not specs:
        sys.stderr.write(
            "lumen-ext lock: error: no *.yaml or *.yml files found in " + ", ".join(args.paths) + "\n"
        )
        return 2
    status = 0
    for spec, text in texts:
        built = build_lock(spec, str(spec), text)
        if built.data is None:
            _report_errors(spec, built)
            status = 1
        elif args.check:
            status = max(status, _check(spec, built.data))
        else:
            _write(spec, built.data)
    return status


def _read(spec: Path) -> str:
    try:
        return spec.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableInput(f"{spec}: {exc.strerror if isinstance(exc, OSError) else exc}") from exc


def _report_errors(spec: Path, built: LockBuild) -> None:
    TextReporter(sys.stdout).report(Report([FileReport(str(spec), built.text, built.errors)]))
    sys.stdout.write(f"{lock_path(spec)}: not written\n")


def _write(spec: Path, data: dict) -> None:
    path = lock_path(spec)
    text = dumps(data)
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    if old != text:
        path.write_text(text, encoding="utf-8")
    sys.stdout.write(f"{path}: {'unchanged' if old == text else 'written'}; {_summary(data)}\n")


def _check(spec: Path, data: dict) -> int:
    path = lock_path(spec)
    if not path.is_file():
        sys.stdout.write(f"{path}: missing; run `lumen-ext lock {spec}`\n")
        return 1
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        sys.stdout.write(f"{path}: unreadable ({exc}); run `lumen-ext lock {spec}`\n")
        return 1
    differences = differences_between(old, data)
    if not differences:
        sys.stdout.write(f"{path}: current; {_summary(data)}\n")
        return 0
    sys.stdout.write(f"{path}: stale; run `lumen-ext lock {spec}`\n")
    for line in differences:
        sys.stdout.write(f"  {line}\n")
    return 1


def differences_between(old: dict, new: dict) -> list[str]:
    """What differs between two locks of one spec, one line each; the lumen-ext version that wrote them aside
    (an upgrade alone does not make a lock stale)."""
    out = [
        f"`{key}`: {old.get(key)!r} -> {new.get(key)!r}"
        for key in ("format", "generated")
        if old.get(key) != new.get(key)
    ]
    old_sources = old.get("sources") if isinstance(old.get("sources"), dict) else {}
    new_sources = new["sources"]
    for name in sorted(set(old_sources) | set(new_sources)):
        before, after = old_sources.get(name), new_sources.get(name)
        if before == after:
            continue
        if before is None or after is None:
            out.append(f"source `{name}`: {'added' if before is None else 'no longer declared'}")
            continue
        if not isinstance(before, dict) or before.get("type") != after.get("type") or "tables" not in after:
            out.append(f"source `{name}`: changed")
            continue
        out += _table_differences(name, before.get("tables") or {}, after["tables"])
    return out


def _table_differences(source: str, before: dict, after: dict) -> list[str]:
    out = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table), after.get(table)
        where = f"table `{table}` of source `{source}`"
        if old == new:
            continue
        if old is None or new is None:
            out.append(f"{where}: {'added' if old is None else 'no longer declared'}")
            continue
        if not isinstance(old, dict):
            out.append(f"{where}: changed")
            continue
        changed = [
            _column_changes(old.get("columns"), new.get("columns")) if key == "columns" else f"{key} changed"
            for key in ("declared", "unlocked", "columns", "rows", "fingerprint")
            if old.get(key) != new.get(key)
        ]
        out.append(f"{where}: {'; '.join(changed)}")
    return out


def _column_changes(old: object, new: object) -> str:
    if not isinstance(old, dict) or not isinstance(new, dict):
        return "columns changed"
    parts = [f"`{c}` gone" for c in old if c not in new]
    parts += [f"`{c}` {old[c]} -> {new[c]}" for c in old if c in new and old[c] != new[c]]
    parts += [f"`{c}` new" for c in new if c not in old]
    return "columns: " + (", ".join(parts) if parts else "reordered")


def _summary(data: dict) -> str:
    locked, unlocked = [], []
    for source, sdata in data["sources"].items():
        if "unlocked" in sdata:
            unlocked.append(f"{source}: {sdata['unlocked']}")
        for table, entry in sdata.get("tables", {}).items():
            if "columns" in entry:
                rows = f", {entry['rows']} rows" if "rows" in entry else ""
                locked.append(f"{source}.{table} ({len(entry['columns'])} columns{rows})")
            else:
                unlocked.append(f"{source}.{table}: {entry['unlocked']}")
    text = f"{len(locked)} table{'s' if len(locked) != 1 else ''} locked" + (
        ": " + ", ".join(locked) if locked else ""
    )
    return text + "".join(f"\n  not locked: {u}" for u in unlocked)
