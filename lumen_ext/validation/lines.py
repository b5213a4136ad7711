"""Line and column in editor terms: only ``\\n``, ``\\r\\n`` and ``\\r`` end a line.

PyYAML (like YAML 1.1) also breaks lines at U+0085, U+2028 and U+2029, so its marks' ``line`` and ``column``
disagree with every editor, GitHub annotation and SARIF viewer as soon as a file contains one of them (a
one-line file could get a diagnostic on "line 3"). Marks also carry ``index``, the character offset into the
parsed text, which both of PyYAML's parsers count exactly; every position we report is computed from that.
"""

from __future__ import annotations

import re
from bisect import bisect_right

from lumen_ext.validation.diagnostics import Span

_BREAK = re.compile(r"\r\n|\r|\n")
# Characters YAML 1.1 (and str.splitlines) treat as line breaks but editors do not.
YAML_ONLY_BREAKS = {
    "\x85": "U+0085 NEXT LINE",
    "\u2028": "U+2028 LINE SEPARATOR",
    "\u2029": "U+2029 PARAGRAPH SEPARATOR",
}


_SHOW_BREAKS = {ord(char): "\N{SYMBOL FOR NEWLINE}" for char in YAML_ONLY_BREAKS}


def visible(line: str) -> str:
    """A source line to quote under a diagnostic: a YAML-only break shown as one visible character (so carets
    still line up), since a terminal would start a new line at it, or show nothing where YAML sees a break."""
    return line.translate(_SHOW_BREAKS)


# Lines up to this long are quoted whole under a diagnostic; a longer one (a generated or minified spec, a 1.5 MB
# flow list on one line) only around the span: quoting it whole once per diagnostic made the text output grow with
# the square of the file.
QUOTE_LIMIT = 240
QUOTE_CONTEXT = 80


def excerpt(line: str, column: int, end_column: int) -> tuple[str, int, int]:
    """What to quote of ``line`` for the span ``column``..``end_column`` (1-based, end exclusive), and the span's
    columns in the quote; an ellipsis marks where a long line was cut."""
    if len(line) <= QUOTE_LIMIT:
        return line, column, end_column
    start = max(0, column - 1 - QUOTE_CONTEXT)
    stop = min(len(line), max(end_column - 1, column) + QUOTE_CONTEXT, start + QUOTE_LIMIT)
    head, tail = (
        ("\N{HORIZONTAL ELLIPSIS}" if start else ""),
        ("\N{HORIZONTAL ELLIPSIS}" if stop < len(line) else ""),
    )
    shift = start - len(head)
    return head + line[start:stop] + tail, column - shift, min(end_column, stop + 1) - shift


def editor_lines(text: str) -> list[str]:
    """The lines an editor shows, without their breaks; a final line break does not start another line."""
    lines = _BREAK.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


class LineMap:
    """Converts character offsets of one text to 1-based editor line and column (code points, as in SARIF)."""

    __slots__ = ("_length", "_starts", "lines")

    def __init__(self, text: str):
        self._starts = [0, *(m.end() for m in _BREAK.finditer(text))]
        self._length = len(text)
        self.lines = editor_lines(text)

    @property
    def count(self) -> int:
        """How many lines an editor shows (at least 1, also for an empty file)."""
        return len(self.lines)

    def position(self, index: int) -> tuple[int, int]:
        index = min(max(index, 0), self._length)
        row = bisect_right(self._starts, index) - 1
        return row + 1, index - self._starts[row] + 1

    def span(self, start: int, end: int) -> Span:
        line, column = self.position(start)
        end_line, end_column = self.position(max(end, start))
        return Span(line, column, end_line, end_column)

    def point(self, index: int) -> Span:
        line, column = self.position(index)
        return Span.point(line, column)
