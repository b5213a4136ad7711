"""`lumen-ext test`'s text output: per spec, one line per check (failures with what was found), then a summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from lumen_ext.gate.results import Check, SpecResult

__all__ = ["write_text"]


def write_text(results: Sequence[SpecResult], stream: TextIO, seconds: float, color: bool = False) -> None:
    def paint(code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if color else text

    for result in results:
        stream.write(paint("1", result.spec) + "\n")
        for check in result.checks:
            stream.write(_line(check, paint))
    checks = [check for result in results for check in result.checks]
    failed_checks = sum(not check.ok for check in checks)
    failed_specs = sum(not result.ok for result in results)
    summary = (
        f"{len(results)} spec{'s' * (len(results) != 1)}: {len(results) - failed_specs} passed, "
        f"{failed_specs} failed; {len(checks)} checks, {failed_checks} failed ({seconds:.0f} s)"
    )
    stream.write(paint("1;31" if failed_checks else "1;32", summary) + "\n")


def _line(check: Check, paint) -> str:
    status = paint("32", "PASS") if check.ok else paint("1;31", "FAIL")
    where = f" ({check.where})" if check.where else ""
    if check.ok:
        detail = f": {check.detail}" if check.detail else ""
        return f"  {status}  {check.name}{detail}{where}\n"
    lines = (check.detail or "").splitlines() or [""]
    out = f"  {status}  {check.name}{where}\n"
    return out + "".join(f"          {line}\n" for line in lines if line)
