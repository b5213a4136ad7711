"""`lumen-ext validate`: check Lumen dashboard specs like a compiler, before anyone serves them.

Every problem in one run, each with file, line, column, a stable rule id (``lumen-ext validate --list-rules``;
the table is in `lumen_ext.validation.rules`), a message and, where one exists, a "did you mean" hint.

Library use (the server validates before it serves)::

    from lumen_ext.validation import render_html, validate_file

    report = validate_file("dashboard.yaml")
    if report.errors:
        page = render_html(report)

Importing this package loads PyYAML and the checks only: no Panel, Bokeh, HoloViews or Lumen.
"""

from lumen_ext.validation.diagnostics import Diagnostic, FileReport, Report, Span
from lumen_ext.validation.engine import UnreadableInput, validate_file, validate_paths, validate_text
from lumen_ext.validation.html import render_html
from lumen_ext.validation.rules import RULES, Rule

__all__ = [
    "RULES",
    "Diagnostic",
    "FileReport",
    "Report",
    "Rule",
    "Span",
    "UnreadableInput",
    "render_html",
    "validate_file",
    "validate_paths",
    "validate_text",
]
