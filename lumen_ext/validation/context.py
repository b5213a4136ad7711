"""What every check shares: the loaded spec, where it lives, and the list diagnostics go to."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any

from lumen_ext.validation.diagnostics import Diagnostic, Span, make
from lumen_ext.validation.loader import LoadedSpec, Path
from lumen_ext.validation.rules import Severity


@dataclass(slots=True)
class CheckContext:
    file: str  # as shown to the user
    spec_dir: FsPath  # what relative data paths resolve against
    loaded: LoadedSpec
    data_checks: bool = True
    diagnostics: list[Diagnostic] = field(default_factory=list)
    _seen: set[tuple] = field(default_factory=set)

    @property
    def data(self) -> Any:
        return self.loaded.data

    def report(
        self,
        path: Path,
        rule: str,
        message: str,
        hint: str | None = None,
        *,
        target: str = "value",
        span: Span | None = None,
        severity: Severity | None = None,
    ) -> None:
        """Add a diagnostic at ``path``, unless the value there came out of Jinja (its real value is unknown)."""
        if self.loaded.templated(path):
            return
        self.emit(span or self.loaded.locate(path, target), rule, message, hint, severity)

    def emit(
        self, span: Span, rule: str, message: str, hint: str | None = None, severity: Severity | None = None
    ) -> None:
        """Add a diagnostic at a known span (no path, so no Jinja filtering)."""
        span = self._clamp(span)
        key = (span, rule, message)
        if key in self._seen:  # one spec node can be reached twice (YAML aliases, shared pipelines)
            return
        self._seen.add(key)
        self.diagnostics.append(make(self.file, span, rule, message, hint, severity))

    def _clamp(self, span: Span) -> Span:
        """PyYAML puts end-of-stream errors on the line after a final newline; keep every span inside the file."""
        lines = self.loaded.lines.lines
        last = len(lines)
        if span.line <= last and span.end_line <= last:
            return span
        line, column = (span.line, span.column) if span.line <= last else (last, len(lines[-1]) + 1)
        if span.end_line <= last:
            return Span(line, column, span.end_line, span.end_column)
        return Span(line, column, last, max(len(lines[-1]) + 1, column + 1 if line == last else 1))


def did_you_mean(name: Any, candidates: Iterable[Any], what: str, list_all: bool = True) -> str | None:
    """A difflib suggestion, or the list of valid names when nothing is close (capped to stay readable)."""
    names = [str(c) for c in candidates]
    if not names:
        return None
    close = difflib.get_close_matches(str(name), names, n=3, cutoff=0.6)
    if close:
        quoted = ", ".join(f"'{c}'" for c in close)
        return f"did you mean {quoted}?" if len(close) == 1 else f"did you mean one of {quoted}?"
    if not list_all:
        return None
    shown = ", ".join(f"'{c}'" for c in names[:8])
    more = f" (and {len(names) - 8} more)" if len(names) > 8 else ""
    return f"available {what}: {shown}{more}"
