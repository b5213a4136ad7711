"""Contain a crash inside one check: the file still gets a report, the crash becomes an `internal-error`.

A validator that dies with a traceback leaves CI with an empty stdout where JSON or SARIF was expected, and the
user with none of the other diagnostics. An exception escaping a check is a bug in lumen-ext, whatever the input;
it is reported at the top of the file (its position is unknown), the other checks still run, ``lumen-ext
validate`` exits 2, and the traceback goes to stderr for the bug report.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lumen_ext.validation.diagnostics import FILE_START, Diagnostic, make

RULE = "internal-error"


def internal_error(file: str, what: str, exc: BaseException) -> Diagnostic:
    detail = (str(exc).splitlines() or [""])[0][:200]
    return make(
        file,
        FILE_START,
        RULE,
        f"lumen-ext failed while {what}: {type(exc).__name__}{': ' + detail if detail else ''} ({_where(exc)}); "
        "the other checks ran, but this one did not",
        "this is a bug in lumen-ext, not in the spec: please report it with the file and the traceback printed "
        "on stderr",
    )


def _where(exc: BaseException) -> str:
    """The innermost frame of lumen-ext's own code, which is where the bug most likely is."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "lumen_ext" in Path(f.filename).parts] or frames
    if not ours:
        return "no traceback"
    frame = ours[-1]
    return f"{Path(frame.filename).name}:{frame.lineno}"


@contextmanager
def contained(diagnostics: list[Diagnostic], tracebacks: list[str], file: str, what: str) -> Iterator[None]:
    """Run the block; on an exception, add an `internal-error` diagnostic and keep the traceback text."""
    try:
        yield
    except Exception as exc:  # the point of this module: no check may take the report down
        diagnostics.append(internal_error(file, what, exc))
        tracebacks.append(f"{file}: {what}\n{traceback.format_exc()}")
