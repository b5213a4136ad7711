"""One renderer per output format, chosen by name (``REPORTER_BY_NAME``, as in check-jsonschema)."""

from __future__ import annotations

from typing import ClassVar, TextIO

from lumen_ext import __version__
from lumen_ext.validation import jsonwrite
from lumen_ext.validation.diagnostics import Diagnostic, Report
from lumen_ext.validation.lines import editor_lines, excerpt, visible
from lumen_ext.validation.rules import RULES


class Reporter:
    name: ClassVar[str]

    def __init__(self, stream: TextIO, color: bool = False):
        self.stream = stream
        self.color = color

    def report(self, report: Report) -> None:
        raise NotImplementedError


class TextReporter(Reporter):
    """``path:line:col: error[rule]: message``, the source line with a caret under the span, the hint."""

    name = "text"
    _STYLES: ClassVar[dict[str, str]] = {
        "error": "1;31",
        "warning": "1;33",
        "bold": "1",
        "dim": "2",
        "hint": "36",
    }

    def _c(self, style: str, text: str) -> str:
        return f"\x1b[{self._STYLES[style]}m{text}\x1b[0m" if self.color else text

    def report(self, report: Report) -> None:
        write = self.stream.write
        for file in report.files:
            lines = editor_lines(file.text)
            for d in file.diagnostics:
                write(self.render(d, lines))
        errors, warnings = report.errors, report.warnings
        nfiles = len(report.files)
        if errors or warnings:
            summary = (
                f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(nfiles, 'file')}"
            )
            write(self._c("error" if errors else "warning", summary) + "\n")
        else:
            write(f"{_plural(nfiles, 'file')} checked, no problems found\n")

    def render(self, d: Diagnostic, lines: list[str]) -> str:
        head = (
            f"{self._c('bold', f'{d.file}:{d.line}:{d.column}:')} "
            f"{self._c(d.severity, f'{d.severity}[{d.rule}]')}: {d.message}\n"
        )
        out = [head]
        if 0 < d.line <= len(lines):
            line = lines[d.line - 1]
            gutter = len(str(d.line))
            end = d.span.end_column if d.span.end_line == d.line else len(line) + 1
            source, column, end = excerpt(line, d.column, end)
            source = visible(source).expandtabs(1)  # one character for one: the caret stays in place
            width = max(1, min(end, len(source) + 1) - column)
            caret = " " * (column - 1) + "^" * width
            out.append(f"{self._c('dim', f' {d.line} |')} {source}\n")
            out.append(f"{self._c('dim', ' ' * (gutter + 1) + ' |')} {self._c(d.severity, caret)}\n")
        if d.hint:
            out.append(f"  {self._c('hint', '= hint:')} {d.hint}\n")
        return "".join(out)


class JsonReporter(Reporter):
    """One JSON object: ``{"version": 1, "files", "diagnostics", "summary"}``."""

    name = "json"

    def report(self, report: Report) -> None:
        payload = {
            "version": 1,
            "files": [f.path for f in report.files],
            "diagnostics": [d.to_dict() for d in report.diagnostics],
            "summary": {"errors": report.errors, "warnings": report.warnings},
        }
        self.stream.write(jsonwrite.dumps(payload) + "\n")  # json.dumps(payload, indent=2), faster


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


class GithubReporter(Reporter):
    """GitHub Actions workflow commands; the runner turns them into annotations on the pull request."""

    name = "github"

    def report(self, report: Report) -> None:
        for d in report.diagnostics:
            props = ",".join(
                f"{k}={_escape_property(str(v))}"
                for k, v in (
                    ("file", d.file),
                    ("line", d.span.line),
                    ("col", d.span.column),
                    ("endLine", d.span.end_line),
                    ("endColumn", d.span.end_column),
                    ("title", d.rule),
                )
            )
            message = d.message + (f"\nhint: {d.hint}" if d.hint else "")
            self.stream.write(f"::{d.severity} {props}::{_escape_data(message)}\n")


class SarifReporter(Reporter):
    """SARIF 2.1.0, for code-scanning dashboards; every rule is listed in ``tool.driver.rules``."""

    name = "sarif"
    SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

    def report(self, report: Report) -> None:
        index = {rule_id: i for i, rule_id in enumerate(RULES)}
        rules = [
            {
                "id": r.id,
                "name": r.id,
                "shortDescription": {"text": r.summary},
                "defaultConfiguration": {"level": r.severity},
            }
            for r in RULES.values()
        ]
        results = []
        for d in report.diagnostics:
            message = d.message + (f" (hint: {d.hint})" if d.hint else "")
            results.append(
                {
                    "ruleId": d.rule,
                    "ruleIndex": index[d.rule],
                    "level": d.severity,
                    "message": {"text": message},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": {"uri": d.file.replace("\\", "/")},
                                "region": {
                                    "startLine": d.span.line,
                                    "startColumn": d.span.column,
                                    "endLine": d.span.end_line,
                                    "endColumn": d.span.end_column,
                                },
                            }
                        }
                    ],
                }
            )
        sarif = {
            "$schema": self.SCHEMA,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "lumen-ext",
                            "version": __version__,
                            "rules": rules,
                        }
                    },
                    "columnKind": "unicodeCodePoints",
                    "artifacts": [{"location": {"uri": f.path.replace("\\", "/")}} for f in report.files],
                    "results": results,
                }
            ],
        }
        self.stream.write(jsonwrite.dumps(sarif) + "\n")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


REPORTER_BY_NAME: dict[str, type[Reporter]] = {
    cls.name: cls for cls in (TextReporter, JsonReporter, GithubReporter, SarifReporter)
}
