"""Where a spec's checks file is: ``NAME.checks`` beside ``NAME.yaml`` (or ``NAME.yml``)."""

from __future__ import annotations

from pathlib import Path

CHECKS_SUFFIX = ".checks"
SPEC_SUFFIXES = (".yaml", ".yml")


def is_checks_file(path: Path) -> bool:
    return path.suffix == CHECKS_SUFFIX


def checks_path(spec: Path) -> Path:
    """The checks file of ``spec`` (which may not exist)."""
    return spec.with_suffix(CHECKS_SUFFIX)


def spec_for(checks: Path) -> Path | None:
    """The spec a checks file belongs to, or None when no ``NAME.yaml``/``NAME.yml`` sits beside it."""
    for suffix in SPEC_SUFFIXES:
        candidate = checks.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None
