"""The diagnostics as an HTML fragment, for the page `lumen-ext serve` shows instead of a broken dashboard."""

from __future__ import annotations

from html import escape

from lumen_ext.validation.diagnostics import Diagnostic, Report
from lumen_ext.validation.lines import editor_lines, excerpt, visible


def render_html(report: Report) -> str:
    """A self-contained ``<section>`` (inline styles only); every piece of spec text is escaped."""
    errors, warnings = report.errors, report.warnings
    parts = [
        '<section class="lumen-ext-diagnostics" style="font-family: system-ui, sans-serif; max-width: 70em">',
        f'<h2 style="margin: 0 0 .5em">{_summary(errors, warnings)}</h2>',
    ]
    for file in report.files:
        if not file.diagnostics:
            continue
        lines = editor_lines(file.text)
        parts.append(f'<h3 style="font-family: monospace">{escape(file.path)}</h3>')
        parts.append('<ol style="padding-left: 1.2em">')
        parts.extend(_item(d, lines) for d in file.diagnostics)
        parts.append("</ol>")
    parts.append("</section>")
    return "\n".join(parts)


def _summary(errors: int, warnings: int) -> str:
    if not errors and not warnings:
        return "No problems found"
    counts = [f"{n} {w}{'' if n == 1 else 's'}" for n, w in ((errors, "error"), (warnings, "warning")) if n]
    return "This dashboard spec has " + " and ".join(counts)


def _item(d: Diagnostic, lines: list[str]) -> str:
    colour = "#b00020" if d.severity == "error" else "#8a6d00"
    out = [
        '<li style="margin-bottom: 1em">',
        f'<div><span style="color: {colour}; font-weight: bold">{escape(d.severity)}'
        f"[{escape(d.rule)}]</span> line {d.line}, column {d.column}: {escape(d.message)}</div>",
    ]
    if 0 < d.line <= len(lines):
        line = lines[d.line - 1]
        end = d.span.end_column if d.span.end_line == d.line else len(line) + 1
        source, column, end = excerpt(line, d.column, end)
        source = visible(source)
        start = min(column - 1, len(source))
        stop = max(start, min(end - 1, len(source)))
        out.append(
            '<pre style="background: #f6f8fa; padding: .4em .6em; margin: .3em 0; overflow-x: auto">'
            f'<span style="color: #888">{d.line} | </span>{escape(source[:start])}'
            f'<mark style="background: none; color: {colour}; text-decoration: underline wavy">'
            f"{escape(source[start:stop]) or '&nbsp;'}</mark>{escape(source[stop:])}</pre>"
        )
    if d.hint:
        out.append(f'<div style="color: #055">hint: {escape(d.hint)}</div>')
    out.append("</li>")
    return "".join(out)
