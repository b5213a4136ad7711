"""Indentation slips: the diagnostic sits on the bad line, in words, with the indentations that would fit."""

from __future__ import annotations

import pytest

from lumen_ext.validation.loader import load_text

BASE = """\
pipelines:
  main:
    source: sales
    filters:
      - type: widget
        field: region
        label: Region
"""


def _with_line(number: int, text: str) -> str:
    lines = BASE.splitlines()
    lines[number - 1] = text
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "line", "column", "message", "hint"),
    [
        (
            _with_line(7, "       label: Region"),
            7,
            8,
            "this line's indentation (7 spaces) does not match the lines above it, so YAML cannot tell which "
            "block it belongs to (PyYAML: expected <block end>, but found '<block mapping start>')",
            "indent it 8 spaces to line up with `field:` on line 6 or 6 spaces to line up with the list item `-` "
            "on line 5",
        ),
        (
            _with_line(4, "   filters:"),
            4,
            4,
            "this line's indentation (3 spaces) does not match the lines above it, so YAML cannot tell which "
            "block it belongs to (PyYAML: expected <block end>, but found '<block mapping start>')",
            "indent it 4 spaces to line up with `source:` on line 3 or 2 spaces to line up with `main:` on line 2",
        ),
        (
            _with_line(7, "         label: Region"),
            7,
            10,
            "this line is indented deeper (9 spaces) than `field:` on line 6 (8 spaces), so YAML reads it as the "
            "rest of the value of `field:` (PyYAML: mapping values are not allowed here)",
            "indent it 8 spaces like `field:` (or, if `field:` is the line that slipped, fix that one); if the "
            "`:` belongs to the text, quote the value",
        ),
        (
            # The item went deeper, its sibling key did not: reported on the first line that no longer fits.
            _with_line(5, "        - type: widget"),
            6,
            9,
            "this line's indentation (8 spaces) does not match the lines above it, so YAML cannot tell which "
            "block it belongs to (PyYAML: expected <block end>, but found '?')",
            "indent it 10 spaces to line up with `type:` on line 5 or 4 spaces to line up with `filters:` on line 4",
        ),
    ],
    ids=["key-one-less", "key-between-levels", "key-one-more", "item-under-key"],
)
def test_indentation_slip_points_at_the_bad_line(text, line, column, message, hint):
    loaded = load_text(text)
    assert len(loaded.problems) == 1
    problem = loaded.problems[0]
    assert problem.rule == "yaml-syntax"
    assert (problem.span.line, problem.span.column) == (line, column)
    assert problem.message == message
    if hint is not None:
        assert problem.hint == hint


@pytest.mark.parametrize(
    "text",
    [
        "config:\n  title: [a, b\n  layout: tabs\n",  # an unclosed `[`: reported where it began
        "config:\n  title: a: b\n",  # a `: ` inside a plain value on its own line
    ],
    ids=["unclosed-flow", "colon-in-value"],
)
def test_other_syntax_errors_keep_the_generic_wording(text):
    (problem,) = load_text(text).problems
    assert problem.rule == "yaml-syntax"
    assert not problem.message.startswith("this line")
