"""The one diagnostic record every check produces and every reporter renders."""

from __future__ import annotations

from dataclasses import dataclass, field

from lumen_ext.validation.rules import Severity, rule


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A 1-based region of the file. ``end_column`` is exclusive, as in SARIF."""

    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def from_marks(cls, start, end) -> Span:
        """Build from PyYAML marks (0-based line and column)."""
        return cls(start.line + 1, start.column + 1, end.line + 1, end.column + 1)

    @classmethod
    def point(cls, line: int, column: int) -> Span:
        return cls(line, column, line, column + 1)


FILE_START = Span(1, 1, 1, 2)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    file: str
    span: Span
    rule: str
    message: str
    hint: str | None = None
    severity: Severity = "error"

    @property
    def line(self) -> int:
        return self.span.line

    @property
    def column(self) -> int:
        return self.span.column

    def sort_key(self) -> tuple:
        return (self.file, self.span, self.rule, self.message)

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "severity": self.severity,
            "rule": self.rule,
            "message": self.message,
            "hint": self.hint,
        }


def make(
    file: str,
    span: Span,
    rule_id: str,
    message: str,
    hint: str | None = None,
    severity: Severity | None = None,
) -> Diagnostic:
    """A diagnostic whose severity defaults to its rule's."""
    return Diagnostic(file, span, rule_id, message, hint, severity or rule(rule_id).severity)


@dataclass(slots=True)
class FileReport:
    """What one spec file produced; ``text`` is kept so reporters can quote the offending line."""

    path: str
    text: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    tracebacks: list[str] = field(default_factory=list)  # of `internal-error`s, for stderr and bug reports


@dataclass(slots=True)
class Report:
    files: list[FileReport] = field(default_factory=list)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for f in self.files for d in f.diagnostics]

    @property
    def errors(self) -> int:
        return sum(d.severity == "error" for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return sum(d.severity == "warning" for d in self.diagnostics)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def crashed(self) -> bool:
        """Whether lumen-ext itself failed on some file (an `internal-error`: exit 2, not 1)."""
        return any(f.tracebacks for f in self.files)
