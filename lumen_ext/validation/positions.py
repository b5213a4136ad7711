"""Where each value of a loaded spec is written: a path of the data, found in the YAML node graph on demand.

The checks speak in paths (``("layouts", 0, "views", "map", "x")``); a diagnostic needs a line and a column. The
builder records, for each mapping node, the key node and value node each built key came from (as it chose them:
``<<`` merges first, explicit keys winning, the last of duplicate keys winning), and `PositionIndex.walk` follows
a path down from the root when a diagnostic asks. Recording every path instead (one tuple per node, as long as
its depth) cost memory and time in proportion to size times depth: 1.4 s of page faults alone for 30,000
mappings 95 levels down.

A value reached through an alias (or a ``<<`` merge) is located where the alias is written; what lies inside it
is not located any deeper, so a diagnostic there points at the alias rather than at the shared definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from lumen_ext.validation.diagnostics import Span
from lumen_ext.validation.lines import LineMap

Path = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Source:
    """The parsed text and its line map."""

    text: str  # what PyYAML parsed: Jinja neutralised, same length and lines as the file
    lines: LineMap

    def span(self, node: Node) -> Span:
        return self.lines.span(node.start_mark.index, node.end_mark.index)


class NodeInfo:
    """Where one value is written; spans are computed when asked."""

    __slots__ = ("_key", "_node", "_source", "templated")

    def __init__(self, node: Node, key: Node | None, source: Source, templated: bool):
        self._node = node
        self._key = key  # the mapping key this value sits under, if any
        self._source = source
        self.templated = (
            templated  # its real value is unknown: a substituted Jinja expression or a rejected tag
        )

    @property
    def value(self) -> Span:
        return self._source.span(self._node)

    @property
    def offsets(self) -> tuple[int, int]:
        """Where the value is written, as character offsets into the text (start, end)."""
        return self._node.start_mark.index, self._node.end_mark.index

    @property
    def key(self) -> Span | None:
        return self._source.span(self._key) if self._key is not None else None

    @property
    def head(self) -> Span | None:
        """For a mapping: its first key, to point at "this mapping" compactly."""
        node = self._node
        if isinstance(node, MappingNode) and node.value:
            return self._source.span(node.value[0][0])
        return None

    @property
    def block(self) -> bool:
        """A block-style collection (its span covers many lines)."""
        return not isinstance(self._node, ScalarNode) and not self._node.flow_style

    @property
    def raw(self) -> str | None:
        """A single-line scalar's source text when it is the value verbatim, to place sub-string diagnostics."""
        node = self._node
        if not isinstance(node, ScalarNode) or node.style not in (None, "'", '"'):
            return None
        span = self.value
        if span.line != span.end_line:
            return None
        raw = self._source.text[node.start_mark.index : node.end_mark.index]
        return raw if (raw == node.value if node.style is None else raw[1:-1] == node.value) else None


class PositionIndex:
    """Filled by the loader's builder as it builds the data; read by `LoadedSpec.locate` and friends."""

    def __init__(self, source: Source):
        self.source = source
        self.root: Node | None = None
        self.entries: dict[int, dict[Any, tuple[Node, Node]]] = {}  # id(mapping node) -> key -> (key, value)
        self.shared: set[tuple[int, Any]] = set()  # (id(collection), key or index): a value reached by alias
        self.templated: set[int] = set()  # ids of nodes whose value is unknown until run time

    def walk(self, path: Path) -> list[tuple[Node, Node | None]]:
        """(node, key node) from the root down along ``path``, as far as the path exists."""
        if self.root is None:
            return []
        node = self.root
        found: list[tuple[Node, Node | None]] = [(node, None)]
        for part in path:
            parent = node
            if isinstance(node, MappingNode):
                try:
                    entry = self.entries.get(id(node), {}).get(part)
                except TypeError:  # an unhashable path element names no key
                    break
                if entry is None:
                    break
                key, node = entry
            elif isinstance(node, SequenceNode) and type(part) is int and 0 <= part < len(node.value):
                key, node = None, node.value[part]
            else:
                break
            found.append((node, key))
            if (id(parent), part) in self.shared:
                break  # located at the alias; see the module docstring
        return found

    def info(self, path: Path) -> NodeInfo | None:
        found = self.walk(path)
        if len(found) != len(path) + 1:
            return None
        node, key = found[-1]
        return NodeInfo(node, key, self.source, id(node) in self.templated)

    def closest(self, path: Path) -> NodeInfo | None:
        """The deepest value along ``path`` that exists (the value itself when it does)."""
        found = self.walk(path)
        if not found:
            return None
        node, key = found[-1]
        return NodeInfo(node, key, self.source, id(node) in self.templated)

    def is_templated(self, path: Path) -> bool:
        """Whether the value at ``path`` or one enclosing it is unknown until run time."""
        return bool(self.templated) and any(id(node) in self.templated for node, _ in self.walk(path))
