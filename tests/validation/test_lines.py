"""Positions in editor terms: only \\n, \\r\\n and \\r end a line; a byte order mark is not a character."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lumen_ext.validation import Report, validate_text
from lumen_ext.validation.lines import LineMap, editor_lines, visible
from lumen_ext.validation.reporters import SarifReporter, TextReporter


def naive_position(text: str, index: int) -> tuple[int, int]:
    """Walk the text character by character, as an editor would count."""
    line, column, i = 1, 1, 0
    while i < index:
        if text[i] == "\r" and text[i + 1 : i + 2] == "\n":
            i += 1
        if text[i] in "\r\n":
            line, column = line + 1, 1
        else:
            column += 1
        i += 1
    return line, column


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab\n\r\x85\u2028\u2029é"), max_size=30), st.data())
def test_line_map_counts_like_an_editor(text: str, data) -> None:
    index = data.draw(st.integers(0, len(text)))
    if text[index - 1 : index + 1] == "\r\n":
        index -= 1  # the middle of a CRLF is not a position
    assert LineMap(text).position(index) == naive_position(text, index)
    assert "".join(editor_lines(text)) == "".join(c for c in text if c not in "\r\n")


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("a", ["a"]),
        ("a\n", ["a"]),
        ("a\r\nb\rc\n\n", ["a", "b", "c", ""]),
        ("a\u2028b\x85", ["a\u2028b\x85"]),
    ],
)
def test_editor_lines(text: str, lines: list[str]) -> None:
    assert editor_lines(text) == lines
    assert LineMap(text).count == len(lines)


def diagnostics(text: str) -> list[tuple[int, int, str]]:
    return [(d.line, d.column, d.rule) for d in validate_text(text, "t.yaml", data=False).diagnostics]


SPEC = "config:\n  title: T\n  ncols: many\n"


@pytest.mark.parametrize(
    "text",
    [
        SPEC,
        SPEC.replace("\n", "\r\n"),
        SPEC.replace("\n", "\r"),
        "\ufeff" + SPEC.replace("\n", "\r\n"),
        SPEC.replace("title: T", 'title: "T\u2028\u2029\x85"'),
    ],
    ids=["lf", "crlf", "cr", "bom-crlf", "yaml-only-breaks-in-a-string"],
)
def test_the_same_error_is_on_the_same_editor_line_and_column(text: str) -> None:
    assert diagnostics(text) == [(3, 10, "invalid-type")]


def test_a_one_line_file_never_gets_a_later_line() -> None:
    """The outside fuzz run: PyYAML counted U+2028 as a break and reported line 3 of a one-line file."""
    text = "config: {title: a\u2028b\u2029c, ncols: many}"
    assert diagnostics(text) == [(1, 1 + text.index("many"), "invalid-type")]


def test_syntax_error_after_an_invisible_break_names_it() -> None:
    report = validate_text("a: x\u2028y\nb: 1\n", "t.yaml", data=False)
    [d] = report.diagnostics
    assert (d.line, d.rule) == (1, "yaml-syntax")
    assert "U+2028 LINE SEPARATOR" in d.hint


def test_reporters_quote_the_editor_line_with_the_break_visible() -> None:
    text = 'config: {title: "a\u2028b", ncols: many}\n'
    report = Report([validate_text(text, "t.yaml", data=False)])
    out = io.StringIO()
    TextReporter(out).report(report)
    assert ' 1 | config: {title: "a\u2424b", ncols: many}\n' in out.getvalue()
    out = io.StringIO()
    SarifReporter(out).report(report)
    [result] = json.loads(out.getvalue())["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 1


def test_visible_keeps_one_character_per_break() -> None:
    assert visible("a\x85b\u2028c\u2029") == "a\u2424b\u2424c\u2424"
