"""The library API the server uses before serving: validate_file, Report and render_html."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from lumen_ext.validation import Report, UnreadableInput, render_html, validate_file, validate_text

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_validate_file_counts() -> None:
    report = validate_file(EXAMPLES / "invalid" / "14_multiple_errors.yaml")
    assert isinstance(report, Report)
    assert (report.errors, report.warnings, report.ok) == (5, 0, False)
    assert len(report.diagnostics) == 5
    assert {d.file for d in report.diagnostics} == {report.files[0].path}


def test_validate_file_without_data_checks() -> None:
    assert validate_file(EXAMPLES / "invalid" / "09_bad_view_field.yaml", data=False).ok


def test_validate_file_unreadable(tmp_path: Path) -> None:
    with pytest.raises(UnreadableInput):
        validate_file(tmp_path / "missing.yaml")


def test_valid_report_renders_a_short_summary() -> None:
    html = render_html(validate_file(EXAMPLES / "valid" / "full_featured.yaml"))
    assert "No problems found" in html


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.tags.append(tag)

    def handle_data(self, data) -> None:
        self.text.append(data)


def test_render_html_escapes_everything_from_the_spec() -> None:
    spec = (
        "layouts:\n"
        "  - title: x\n"
        "    '<script>alert(1)</script>': 1\n"
        "    source: '<img src=x onerror=alert(1)>'\n"
        "    views: [{type: table}]\n"
    )
    html = render_html(Report([validate_text(spec, "<b>evil</b>.yaml")]))
    parser = _Collector()
    parser.feed(html)
    assert "script" not in parser.tags and "img" not in parser.tags and "b" not in parser.tags
    assert "<script>" not in html
    text = "".join(parser.text)
    assert "'<script>alert(1)</script>'" in text  # shown to the user, as text
    assert "<b>evil</b>.yaml" in text
    assert "This dashboard spec has 2 errors" in text


def test_render_html_marks_the_span() -> None:
    report = Report([validate_text("config:\n  ncols: many\n")])
    html = render_html(report)
    assert "many</mark>" in html
    assert "line 2, column 10" in html


def test_a_parquet_readers_columns_option_narrows_the_table(tmp_path: Path) -> None:
    """`kwargs: {columns: [...]}` makes pandas' and Dask's read_parquet return only those columns (rides_dask)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"a": [1], "b": [2], "c": [3]}), tmp_path / "t.parquet")
    spec = tmp_path / "t.yaml"
    spec.write_text(
        "sources:\n  s:\n    type: file\n    kwargs:\n      columns: [c, a]\n    tables:\n      t: t.parquet\n"
        "layouts:\n  - title: T\n    source: s\n    views:\n      - type: hvplot\n        x: a\n        y: b\n"
    )
    [unknown] = validate_file(spec).diagnostics
    assert (unknown.rule, unknown.line) == ("unknown-column", 14)
    assert unknown.hint == "available columns: 'c', 'a'"
