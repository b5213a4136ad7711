"""Indentation slips, told in an analyst's words instead of PyYAML's.

A line indented one space too few or too many is the commonest YAML error, and PyYAML's report of it misleads:
"while parsing a block mapping ... expected <block end>, but found '<block mapping start>'" with its context mark
on the *parent* (the line where the block began, often several lines up), or "mapping values are not allowed
here" on a line indented deeper than the key above it (YAML reads the line as the rest of that key's value).

:func:`indentation_problem` recognises those two reports and returns the bad line, the column of its first
character, a message that says what is wrong with the indentation, and a hint naming the indentations that would
fit (taken from the lines above, as YAML sees the open blocks). PyYAML's own words stay as a short detail. Other
syntax errors return None and keep the loader's generic wording.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from lumen_ext.validation.lines import LineMap

__all__ = ["IndentationProblem", "indentation_problem"]

# `- ` prefixes (nested ones too: `- - key: v`), then the key or value that starts the line's content.
_ITEM = re.compile(r"(?:-(?:[ \t]+|$))*")
# A `key: value` line whose value is a plain scalar (no quote, flow collection, block scalar, anchor or tag).
_KEY_PLAIN_VALUE = re.compile(r"""([^\s#'"\[{&*!|>-][^:#]*?|-[^\s:#][^:#]*?):[ \t]+([^\s#'"\[{&*!|>].*)$""")
_KEY = re.compile(r"""([^\s#'"\[{&*!|>-][^:#]*?|-[^\s:#][^:#]*?):(?:[ \t]|$)""")


@dataclass(frozen=True)
class IndentationProblem:
    index: int  # character offset of the bad line's first non-blank character
    message: str
    hint: str


@dataclass(frozen=True)
class _Column:
    column: int  # 0-based, spaces before it
    line: int  # 1-based editor line
    what: str  # "`type:`" or "the list item `-`"


def indentation_problem(lines: LineMap, exc: yaml.MarkedYAMLError) -> IndentationProblem | None:
    problem, mark = exc.problem or "", exc.problem_mark
    if mark is None:
        return None
    line = lines.position(mark.index)[0]
    if not 0 < line <= lines.count:
        return None
    text = lines.lines[line - 1]
    indent = len(text) - len(text.lstrip(" "))
    start = mark.index - (lines.position(mark.index)[1] - 1) + indent
    detail = f"(PyYAML: {problem})"
    if isinstance(exc, yaml.parser.ParserError) and problem.startswith("expected <block end>"):
        if exc.context not in ("while parsing a block mapping", "while parsing a block collection"):
            return None
        if exc.context_mark is not None and lines.position(exc.context_mark.index)[0] == line:
            return None
        return _misaligned(lines, line, indent, start, detail)
    if isinstance(exc, yaml.scanner.ScannerError) and problem == "mapping values are not allowed here":
        return _too_deep(lines, line, indent, start, detail)
    return None


def _misaligned(lines: LineMap, line: int, indent: int, start: int, detail: str) -> IndentationProblem | None:
    """A line whose indentation matches no open block above it (or a `-` item where a key belongs)."""
    columns = [c for c in _open_columns(lines, line) if c.column != indent]
    if not columns:
        return None
    # The nearest fitting indentations, the deeper first on a tie: usually the line belongs to the block above.
    nearest = sorted(columns, key=lambda c: (abs(c.column - indent), -c.column))[:2]
    options = " or ".join(f"{c.column} spaces to line up with {c.what} on line {c.line}" for c in nearest)
    return IndentationProblem(
        start,
        f"this line's indentation ({_spaces(indent)}) does not match the lines above it, so YAML cannot tell "
        f"which block it belongs to {detail}",
        f"indent it {options}",
    )


def _too_deep(lines: LineMap, line: int, indent: int, start: int, detail: str) -> IndentationProblem | None:
    """A `key:` line indented deeper than the `key: value` above it: YAML reads it as the rest of that value."""
    above = _content_line_above(lines, line)
    if above is None:
        return None
    above_line, above_text = above
    above_indent, content = _content(above_text)  # the column of the key above, after any `- `
    found = _KEY_PLAIN_VALUE.match(content)
    if found is None or indent <= above_indent:
        return None
    key = found.group(1).strip()
    return IndentationProblem(
        start,
        f"this line is indented deeper ({_spaces(indent)}) than `{key}:` on line {above_line} "
        f"({_spaces(above_indent)}), so YAML reads it as the rest of the value of `{key}:` {detail}",
        f"indent it {_spaces(above_indent)} like `{key}:` (or, if `{key}:` is the line that slipped, fix that "
        f"one); if the `:` belongs to the text, quote the value",
    )


def _open_columns(lines: LineMap, line: int) -> list[_Column]:
    """The indentations a line may take after the lines above it: the keys and `-` items of every open block."""
    columns: list[_Column] = []
    limit: int | None = None
    for number in range(line - 1, 0, -1):
        text = lines.lines[number - 1]
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        indent = len(text) - len(text.lstrip(" "))
        content_column, content = _content(text)
        if limit is not None and indent >= limit:
            continue  # inside a block that is already closed
        dashes = _ITEM.match(text[indent:]).group(0)
        for offset, char in enumerate(dashes):
            if char == "-" and (limit is None or indent + offset < limit):
                columns.append(_Column(indent + offset, number, "the list item `-`"))
        key = _KEY.match(content)
        if key and (limit is None or content_column < limit):
            columns.append(_Column(content_column, number, f"`{key.group(1).strip()}:`"))
        limit = indent
        if indent == 0:
            break
    seen: set[int] = set()
    return [c for c in columns if not (c.column in seen or seen.add(c.column))]


def _content_line_above(lines: LineMap, line: int) -> tuple[int, str] | None:
    for number in range(line - 1, 0, -1):
        text = lines.lines[number - 1]
        if text.strip() and not text.lstrip().startswith("#"):
            return number, text
    return None


def _content(text: str) -> tuple[int, str]:
    """The column where a line's content starts, after its indentation and any `- ` item prefixes, and that
    content."""
    indent = len(text) - len(text.lstrip(" "))
    column = indent + len(_ITEM.match(text[indent:]).group(0))
    return column, text[column:].rstrip()


def _spaces(count: int) -> str:
    return "1 space" if count == 1 else f"{count} spaces"
