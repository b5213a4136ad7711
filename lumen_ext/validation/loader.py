"""Load a spec the way Lumen reads it, but safely, remembering where every key and value came from.

Lumen parses with ``yaml.load(text, Loader=yaml.Loader)`` (PyYAML, YAML 1.1, pure-Python parser). We compose the
node graph with PyYAML's pure-Python ``SafeLoader`` (same scanner, parser and implicit resolver, so the same
document), then build the Python data ourselves from the nodes. That is where we differ on purpose:

* a ``!!python/...`` tag is reported, never constructed; any other unknown tag is reported as Lumen would fail;
* a repeated key is reported (PyYAML keeps the last value silently, and so do we, to match what Lumen sees);
* every mapping key and every value gets a `NodeInfo` in a path-keyed index, so a diagnostic about
  ``("layouts", 0, "views", "map", "x")`` lands on the right line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lumen_ext.validation.diagnostics import FILE_START, Span
from lumen_ext.validation.jinja import JinjaFinding, neutralise

Path = tuple[Any, ...]

_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_SAFE_TAGS = set(yaml.SafeLoader.yaml_constructors) - {None}
_PYTHON_PREFIX = "tag:yaml.org,2002:python/"


@dataclass(slots=True)
class NodeInfo:
    value: Span
    key: Span | None = None  # the mapping key this value sits under, if any
    head: Span | None = None  # for a mapping: its first key, to point at "this mapping" compactly
    block: bool = False  # block-style collection (its span covers many lines)
    templated: bool = False  # its real value is unknown: a substituted Jinja expression or a rejected tag
    raw: str | None = None  # a single-line scalar's source text, to place sub-string diagnostics


@dataclass(slots=True)
class LoadProblem:
    span: Span
    rule: str
    message: str
    hint: str | None = None


@dataclass(slots=True)
class LoadedSpec:
    text: str
    data: Any = None
    index: dict[Path, NodeInfo] = field(default_factory=dict)
    problems: list[LoadProblem] = field(default_factory=list)
    parsed: bool = False  # False when YAML could not be parsed at all

    def info(self, path: Path) -> NodeInfo | None:
        return self.index.get(tuple(path))

    def templated(self, path: Path) -> bool:
        """Whether the value at ``path`` (or an enclosing one) is unknown until run time (see `NodeInfo`)."""
        path = tuple(path)
        return any(
            (info := self.index.get(path[:n])) is not None and info.templated
            for n in range(len(path), -1, -1)
        )

    def locate(self, path: Path, target: str = "value") -> Span:
        """Where to point for ``path``: the key itself, the value, or (``"mapping"``) the mapping at ``path``."""
        path = tuple(path)
        info = self.index.get(path)
        if info is None:
            # The node does not exist (e.g. a missing key): point at the closest ancestor we know.
            for n in range(len(path) - 1, -1, -1):
                parent = self.index.get(path[:n])
                if parent is not None:
                    return parent.key or parent.head or parent.value
            return FILE_START
        if target == "key":
            return info.key or info.value
        if target == "mapping":
            return info.key or info.head or info.value
        if info.block and info.key is not None:
            return info.key
        return info.value

    def substring(self, path: Path, offset: int, length: int) -> Span:
        """The span of ``value[offset:offset+length]`` when the scalar is written on one line without escapes."""
        info = self.index.get(tuple(path))
        if info is None or info.raw is None:
            return self.locate(path)
        raw, span = info.raw, info.value
        shift = 1 if raw[:1] in "'\"" else 0
        start = span.column + shift + offset
        return Span(span.line, start, span.line, start + length)


class _Builder:
    """Turns a composed node graph into plain Python data plus the position index."""

    def __init__(self, loaded: LoadedSpec, templated: list[tuple[int, int]], text: str):
        self.loaded = loaded
        self.templated = templated
        self.text = text
        self.scalars = yaml.SafeLoader("")  # only its scalar constructors are used
        self.done: dict[int, Any] = {}  # node id -> built value: aliases share, alias bombs stay linear
        self.active: set[int] = set()

    def problem(self, node: Node, rule: str, message: str, hint: str | None = None) -> None:
        self.loaded.problems.append(
            LoadProblem(Span.from_marks(node.start_mark, node.end_mark), rule, message, hint)
        )

    def _is_templated(self, node: Node) -> bool:
        lo, hi = node.start_mark.index, node.end_mark.index
        return any(s < hi and lo < e for s, e in self.templated)

    def record(self, path: Path, node: Node, key: Node | None) -> None:
        # Later records win: an explicit key overrides the one a ``<<`` merge brought in, as in PyYAML.
        info = NodeInfo(
            Span.from_marks(node.start_mark, node.end_mark),
            Span.from_marks(key.start_mark, key.end_mark) if key is not None else None,
        )
        if isinstance(node, ScalarNode):
            info.templated = self._is_templated(node)
            if node.start_mark.line == node.end_mark.line and node.style in (None, "'", '"'):
                raw = self.text[node.start_mark.index : node.end_mark.index]
                if raw == node.value if node.style is None else raw[1:-1] == node.value:
                    info.raw = raw
        else:
            info.block = not node.flow_style
            if isinstance(node, MappingNode) and node.value:
                first = node.value[0][0]
                info.head = Span.from_marks(first.start_mark, first.end_mark)
        self.loaded.index[path] = info

    def build(self, node: Node, path: Path, key: Node | None = None) -> Any:
        self.record(path, node, key)
        nid = id(node)
        if nid in self.active:
            # PyYAML would build a self-containing structure; Lumen's validator then recurses forever.
            self.problem(node, "yaml-syntax", "recursive alias: this node contains itself")
            return None
        if nid in self.done:
            return self.done[nid]
        tag = node.tag
        if tag.startswith(_PYTHON_PREFIX):
            self.loaded.index[path].templated = True
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
                value = self._mapping(node, path)
            elif isinstance(node, SequenceNode) and tag == _SEQ:
                value = []
                self.done[nid] = value
                value.extend(self.build(item, (*path, i)) for i, item in enumerate(node.value))
            elif tag in _SAFE_TAGS:
                value = self._safe(node)
            else:
                self.loaded.index[path].templated = True
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

    def _safe(self, node: Node) -> Any:
        try:
            return self.scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problem(node, "yaml-syntax", str(getattr(exc, "problem", None) or exc))
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
                merged.extend((k, v, False) for k, v, _ in self._merged_pairs(src))
        return merged + own

    def _mapping(self, node: MappingNode, path: Path) -> dict:
        result: dict = {}
        self.done[id(node)] = result
        seen: dict[Any, Node] = {}
        for key_node, value_node, own in self._merged_pairs(node):
            if isinstance(key_node, ScalarNode):
                key = self._safe(key_node) if key_node.tag in _SAFE_TAGS else key_node.value
            else:
                key = None
                self.problem(
                    key_node,
                    "yaml-syntax",
                    f"a {key_node.id} used as a mapping key: PyYAML cannot build it ('found unhashable key')",
                )
                continue
            try:
                hash(key)
            except TypeError:
                self.problem(key_node, "yaml-syntax", "found unhashable key")
                continue
            if own and key in seen:
                first = seen[key]
                self.problem(
                    key_node,
                    "duplicate-key",
                    f"duplicate key `{key}` (first defined on line {first.start_mark.line + 1}); "
                    "PyYAML silently keeps only this last value",
                    "merge the two entries or rename one of them",
                )
            if own:
                seen[key] = key_node
            result[key] = self.build(value_node, (*path, key), key_node)
        return result


def load_text(text: str) -> LoadedSpec:
    """Parse ``text`` as Lumen would (after neutralising Jinja), without executing anything."""
    neutral = neutralise(text)
    loaded = LoadedSpec(text)
    for finding in neutral.findings:
        loaded.problems.append(_finding_problem(text, finding))
    try:
        node = yaml.compose(neutral.text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark, context = exc.problem_mark or exc.context_mark, exc.context
        if (
            context
            and exc.context_mark
            and exc.problem_mark
            and exc.context_mark.line != exc.problem_mark.line
        ):
            # e.g. an unclosed `[`: the parser notices on a later line; the cause is where the construct began.
            mark = exc.context_mark
            context = f"{context} (noticed on line {exc.problem_mark.line + 1})"
        span = Span.point(mark.line + 1, mark.column + 1) if mark else FILE_START
        message = ": ".join(filter(None, [context, exc.problem]))
        loaded.problems.append(LoadProblem(span, "yaml-syntax", message or str(exc)))
        return loaded
    except yaml.YAMLError as exc:  # e.g. a reader error on a non-printable character
        loaded.problems.append(LoadProblem(FILE_START, "yaml-syntax", str(exc)))
        return loaded
    except RecursionError:
        loaded.problems.append(
            LoadProblem(FILE_START, "yaml-syntax", "the document is nested too deeply to parse")
        )
        return loaded
    loaded.parsed = True
    if node is not None:
        try:
            loaded.data = _Builder(loaded, neutral.templated, neutral.text).build(node, ())
        except RecursionError:
            loaded.problems.append(
                LoadProblem(FILE_START, "yaml-syntax", "the document is nested too deeply")
            )
            loaded.data, loaded.parsed = None, False
    return loaded


def _finding_problem(text: str, finding: JinjaFinding) -> LoadProblem:
    line = text.count("\n", 0, finding.start)
    col = finding.start - (text.rfind("\n", 0, finding.start) + 1)
    end_line = text.count("\n", 0, finding.end)
    end_col = finding.end - (text.rfind("\n", 0, finding.end) + 1)
    return LoadProblem(
        Span(line + 1, col + 1, end_line + 1, end_col + 1), finding.rule, finding.message, finding.hint
    )
