"""Load a spec the way Lumen reads it, but safely, remembering where every key and value came from.

Lumen parses with ``yaml.load(text, Loader=yaml.Loader)`` (PyYAML, YAML 1.1, pure-Python parser). We compose the
node graph with PyYAML's composer (`lumen_ext.validation.compose`: same scanner, parser and implicit resolver, so
the same document, with alias bombs and absurd nesting refused), then build the Python data ourselves from the
nodes. That is where we differ on purpose:

* a ``!!python/...`` tag is reported, never constructed; any other unknown tag is reported as Lumen would fail;
* a scalar PyYAML cannot build (`!!float abc`, a plain ``2024-02-30``) is reported (`lumen_ext.validation.scalars`);
* a repeated key is reported (PyYAML keeps the last value silently, and so do we, to match what Lumen sees);
* the position index (`lumen_ext.validation.positions`) finds where each value was written, so a diagnostic
  about ``("layouts", 0, "views", "map", "x")`` lands on the right line and column. Positions are in editor terms
  (`lumen_ext.validation.lines`), computed from the marks' character offsets, not from PyYAML's line numbers.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lumen_ext.validation import collector
from lumen_ext.validation.compose import ComposeRefused, compose
from lumen_ext.validation.diagnostics import FILE_START, Span
from lumen_ext.validation.indentation import indentation_problem
from lumen_ext.validation.jinja import EnvCall, JinjaFinding, neutralise
from lumen_ext.validation.lines import YAML_ONLY_BREAKS, LineMap
from lumen_ext.validation.positions import NodeInfo, Path, PositionIndex, Source
from lumen_ext.validation.scalars import SCALAR_TAGS, ScalarBuilder, ScalarProblem

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_STR = "tag:yaml.org,2002:str"
_SAFE_TAGS = set(yaml.SafeLoader.yaml_constructors) - {None}
_PYTHON_PREFIX = "tag:yaml.org,2002:python/"


@dataclass(slots=True)
class LoadProblem:
    span: Span
    rule: str
    message: str
    hint: str | None = None


@dataclass(slots=True)
class LoadedSpec:
    text: str  # as parsed: without a leading byte order mark
    lines: LineMap
    data: Any = None
    positions: PositionIndex | None = None  # where each value is written (None when nothing was built)
    problems: list[LoadProblem] = field(default_factory=list)
    parsed: bool = False  # False when YAML could not be parsed at all
    env_calls: list[EnvCall] = field(default_factory=list)  # Jinja `env('KEY')` calls, by offset

    def info(self, path: Path) -> NodeInfo | None:
        return self.positions.info(tuple(path)) if self.positions else None

    def templated(self, path: Path) -> bool:
        """Whether the value at ``path`` (or an enclosing one) is unknown until run time (see `NodeInfo`)."""
        return self.positions.is_templated(tuple(path)) if self.positions else False

    def locate(self, path: Path, target: str = "value") -> Span:
        """Where to point for ``path``: the key itself, the value, or (``"mapping"``) the mapping at ``path``."""
        path = tuple(path)
        info = self.info(path)
        if info is None:
            # The node does not exist (e.g. a missing key): point at the closest ancestor we know.
            parent = self.positions.closest(path) if self.positions else None
            if parent is None:
                return FILE_START
            return parent.key or parent.head or parent.value
        if target == "key":
            return info.key or info.value
        if target == "mapping":
            return info.key or info.head or info.value
        if info.block and info.key is not None:
            return info.key
        return info.value

    def substring(self, path: Path, offset: int, length: int) -> Span:
        """The span of ``value[offset:offset+length]`` when the scalar is written on one line without escapes."""
        info = self.info(path)
        if info is None or info.raw is None:
            return self.locate(path)
        raw, span = info.raw, info.value
        shift = 1 if raw[:1] in "'\"" else 0
        start = span.column + shift + offset
        return Span(span.line, start, span.line, start + length)


class _Builder:
    """Turns a composed node graph into plain Python data, filling the position index as it goes."""

    def __init__(self, loaded: LoadedSpec, templated: list[tuple[int, int]], text: str, explicit: set[int]):
        self.loaded = loaded
        self.lines = loaded.lines
        self.positions = loaded.positions = PositionIndex(Source(text, loaded.lines))
        self.templated = templated
        self.templated_ends = [end for _, end in templated]
        self.explicit = explicit  # ids of scalars whose tag is written in the text
        self.scalars = ScalarBuilder()
        self.collections = yaml.SafeLoader("")  # for `!!set`, `!!omap`, `!!pairs`: PyYAML's own constructors
        self.done: dict[
            int, Any
        ] = {}  # collection node id -> built value: aliases share, alias bombs stay linear
        self.active: set[int] = set()

    def problem(self, node: Node, rule: str, message: str, hint: str | None = None) -> None:
        self.loaded.problems.append(LoadProblem(self.positions.source.span(node), rule, message, hint))

    def _is_templated(self, node: Node) -> bool:
        """Whether a substituted Jinja expression overlaps the node (the ranges are sorted and disjoint)."""
        lo, hi = node.start_mark.index, node.end_mark.index
        i = bisect_right(self.templated_ends, lo)  # the first range ending after the node starts
        return i < len(self.templated) and self.templated[i][0] < hi

    def unknown(self, node: Node) -> None:
        """The checks must not second-guess this value: a rejected tag, or a value PyYAML cannot build."""
        self.positions.templated.add(id(node))

    def root(self, node: Node) -> Any:
        self.positions.root = node
        return self.build(node)

    def build(self, node: Node) -> Any:
        tag = node.tag
        if isinstance(node, ScalarNode) and tag in _SAFE_TAGS:
            # Most nodes: nothing to share or recurse into, so no bookkeeping (an aliased scalar is rebuilt).
            if self.templated and self._is_templated(node):
                self.unknown(node)
            return node.value if tag == _STR else self._scalar(node)
        nid = id(node)
        if nid in self.active:
            # PyYAML would build a self-containing structure; Lumen's validator then recurses forever.
            self.problem(node, "yaml-syntax", "recursive alias: this node contains itself")
            return None
        if nid in self.done:
            return self.done[nid]
        if tag.startswith(_PYTHON_PREFIX):
            self.unknown(node)
            self.problem(
                node,
                "unsafe-yaml-tag",
                f"YAML tag `!!{tag.removeprefix('tag:yaml.org,2002:')}` would run Python code: Lumen loads "
                "specs with PyYAML's unsafe `yaml.Loader`",
                "remove the tag; lumen-ext never constructs it",
            )
            return None
        self.active.add(nid)
        try:
            if isinstance(node, MappingNode) and tag == _MAP:
                value = self._mapping(node)
            elif isinstance(node, SequenceNode) and tag == _SEQ:
                value = self._sequence(node)
            elif tag in _SAFE_TAGS:
                value = self._collection(node)
            else:
                self.unknown(node)
                self.problem(
                    node,
                    "unknown-yaml-tag",
                    f"unknown YAML tag `{tag}`: Lumen's loader has no constructor for it and fails",
                    "remove the tag",
                )
                value = None
        finally:
            self.active.discard(nid)
        self.done[nid] = value
        return value

    def _sequence(self, node: SequenceNode) -> list:
        value: list = []
        nid, done, shared, build = id(node), self.done, self.positions.shared, self.build
        done[nid] = value
        for i, item in enumerate(node.value):
            if id(item) in done:  # built before: an alias (see positions.py)
                shared.add((nid, i))
            value.append(build(item))
        return value

    def _unbuildable(self, node: Node, message: str, hint: str) -> None:
        """Report a value PyYAML cannot build; the checks then treat it as unknown, not as the None we keep."""
        self.unknown(node)
        self.problem(node, "invalid-value", message, hint)

    def _scalar(self, node: ScalarNode) -> Any:
        try:
            return self.scalars.build(node, id(node) in self.explicit)
        except ScalarProblem as exc:
            self._unbuildable(node, exc.message, exc.hint)
            return None

    def _collection(self, node: Node) -> Any:
        """A collection under another standard tag: `!!set`, `!!omap`, `!!pairs`, or a scalar tag by mistake."""
        short = node.tag.removeprefix("tag:yaml.org,2002:")
        if node.tag in SCALAR_TAGS:
            self._unbuildable(
                node,
                f"`!!{short}` needs a scalar, not a {node.id}; PyYAML cannot build it, so Lumen fails to load "
                "the file",
                f"remove the `!!{short}` tag",
            )
            return None
        try:
            return self.collections.construct_object(node, deep=True)
        except Exception as exc:  # members fail like scalars do (ValueError, KeyError...: see scalars.py)
            reason = str(getattr(exc, "problem", None) or "") or type(exc).__name__
            self._unbuildable(
                node,
                f"PyYAML cannot build this `!!{short}` ({reason}), so Lumen fails to load the file",
                f"fix its members or remove the `!!{short}` tag",
            )
            return None

    def _merged_pairs(self, node: MappingNode) -> list[tuple[Node, Node, bool]]:
        """Key/value node pairs with ``<<`` merges expanded first, as PyYAML's flatten_mapping does."""
        merged: list[tuple[Node, Node, bool]] = []
        own: list[tuple[Node, Node, bool]] = []
        for key, value in node.value:
            if key.tag != _MERGE:
                own.append((key, value, True))
                continue
            sources = value.value if isinstance(value, SequenceNode) else [value]
            for src in reversed(sources):
                if not isinstance(src, MappingNode):
                    self.problem(src, "yaml-syntax", f"expected a mapping for merging, but found {src.id}")
                    continue
                if id(src) in self.active:
                    self.problem(src, "yaml-syntax", "recursive merge: this mapping merges itself")
                    continue
                self.active.add(id(src))
                try:
                    merged.extend((k, v, False) for k, v, _ in self._merged_pairs(src))
                finally:
                    self.active.discard(id(src))
        return merged + own

    def _key(self, key_node: Node) -> tuple[bool, Any]:
        """(usable, key): a key PyYAML cannot build or hash leaves its whole entry out, as Lumen could not load it."""
        if isinstance(key_node, ScalarNode) and key_node.tag not in _SAFE_TAGS:
            key = key_node.value
        elif isinstance(key_node, ScalarNode):
            try:
                key = self.scalars.build(key_node, id(key_node) in self.explicit)
            except ScalarProblem as exc:
                self.problem(key_node, "invalid-value", exc.message, exc.hint)
                return False, None
        else:
            self.problem(
                key_node,
                "yaml-syntax",
                f"a {key_node.id} used as a mapping key: PyYAML cannot build it ('found unhashable key')",
            )
            return False, None
        try:
            hash(key)
        except TypeError:
            self.problem(key_node, "yaml-syntax", "found unhashable key")
            return False, None
        return True, key

    def _mapping(self, node: MappingNode) -> dict:
        result: dict = {}
        self.done[id(node)] = result
        entries = self.positions.entries[id(node)] = {}
        seen: dict[Any, Node] = {}
        for key_node, value_node, own in self._merged_pairs(node):
            usable, key = self._key(key_node)
            if not usable:
                continue
            if own and key in seen:
                first = self.lines.position(seen[key].start_mark.index)[0]
                self.problem(
                    key_node,
                    "duplicate-key",
                    f"duplicate key `{key}` (first defined on line {first}); PyYAML silently keeps only this last "
                    "value",
                    "merge the two entries or rename one of them",
                )
            if own:
                seen[key] = key_node
            # Later entries win: an explicit key overrides the one a ``<<`` merge brought in, as in PyYAML.
            if key in entries:
                self.positions.shared.discard((id(node), key))
            entries[key] = (key_node, value_node)
            if id(value_node) in self.done:  # built before: an alias or a merged value (see positions.py)
                self.positions.shared.add((id(node), key))
            result[key] = self.build(value_node)
        return result


def load_text(text: str) -> LoadedSpec:
    """Parse ``text`` as Lumen would (after neutralising Jinja), without executing anything."""
    # A byte order mark is not content: editors hide it and count columns after it, so do we.
    text = text.removeprefix("\ufeff")
    loaded = LoadedSpec(text, LineMap(text))
    neutral = neutralise(text)
    for finding in neutral.findings:
        loaded.problems.append(_finding_problem(loaded.lines, finding))
    loaded.env_calls = neutral.env_calls
    with collector.paused():  # linear time on large files: see collector.py
        _parse(loaded, neutral.text, neutral.templated)
    return loaded


def _parse(loaded: LoadedSpec, text: str, templated: list[tuple[int, int]]) -> None:
    try:
        composed = compose(text)
    except ComposeRefused as exc:
        loaded.problems.append(LoadProblem(loaded.lines.point(exc.index), exc.rule, exc.message, exc.hint))
        return
    except yaml.YAMLError as exc:
        loaded.problems.append(_syntax_problem(loaded, exc))
        return
    loaded.parsed = True
    if composed.root is not None:
        builder = _Builder(loaded, templated, text, composed.explicit)
        try:
            loaded.data = builder.root(composed.root)
        except RecursionError:
            # Composition caps nesting, but a long chain of `<<:` merges recurses once per link.
            loaded.problems.append(
                LoadProblem(
                    FILE_START, "yaml-too-deep", "the document's merges (`<<:`) chain too deeply to build"
                )
            )
            loaded.data, loaded.parsed = None, False


def _syntax_problem(loaded: LoadedSpec, exc: yaml.YAMLError) -> LoadProblem:
    """PyYAML's error, placed in editor terms, with a word about invisible YAML-only line breaks."""
    if isinstance(exc, yaml.reader.ReaderError):  # a non-printable character: no marks, a character offset
        return LoadProblem(loaded.lines.point(exc.position), "yaml-syntax", str(exc).split("\n", 1)[0])
    if not isinstance(exc, yaml.MarkedYAMLError):
        return LoadProblem(FILE_START, "yaml-syntax", str(exc))
    slip = indentation_problem(loaded.lines, exc)
    # The bad line itself, not the parent where PyYAML's context mark points; unless an invisible YAML-only
    # line break is the cause (the line's indentation is then not what an editor shows).
    if slip is not None and _invisible_break_hint(loaded, loaded.lines.point(slip.index).line) is None:
        return LoadProblem(loaded.lines.point(slip.index), "yaml-syntax", slip.message, slip.hint)
    if exc.problem == "but found another document" and exc.problem_mark is not None:
        # PyYAML's context mark is the first document's start; what to fix is where the second one begins.
        return LoadProblem(
            loaded.lines.point(exc.problem_mark.index),
            "yaml-syntax",
            "a second YAML document starts here; Lumen reads a spec as a single document and refuses the file",
            "remove the `---` and what follows, or move that document into a spec file of its own",
        )
    mark, context = exc.problem_mark or exc.context_mark, exc.context
    if context and exc.context_mark and exc.problem_mark:
        context_line = loaded.lines.position(exc.context_mark.index)[0]
        problem_line = loaded.lines.position(exc.problem_mark.index)[0]
        if context_line != problem_line:
            # e.g. an unclosed `[`: the parser notices on a later line; the cause is where the construct began.
            mark = exc.context_mark
            context = f"{context} (noticed on line {problem_line})"
    span = loaded.lines.point(mark.index) if mark else FILE_START
    message = ": ".join(filter(None, [context, exc.problem])) or str(exc)
    return LoadProblem(span, "yaml-syntax", message, _invisible_break_hint(loaded, span.line))


def _invisible_break_hint(loaded: LoadedSpec, line: int) -> str | None:
    """PyYAML ends a line at U+0085, U+2028 and U+2029; editors show none of them, so say which is there."""
    source = loaded.lines.lines[line - 1] if 0 < line <= loaded.lines.count else ""
    found = [name for char, name in YAML_ONLY_BREAKS.items() if char in source]
    if not found:
        return None
    return (
        f"this line contains {' and '.join(found)}, which YAML 1.1 reads as a line break although editors do "
        "not show one; delete it or replace it with a space"
    )


def _finding_problem(lines: LineMap, finding: JinjaFinding) -> LoadProblem:
    return LoadProblem(lines.span(finding.start, finding.end), finding.rule, finding.message, finding.hint)
