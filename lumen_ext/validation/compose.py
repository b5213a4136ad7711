"""Compose a spec's text into PyYAML's node graph in time linear in its size, refusing alias bombs and deep nesting.

`_Limits` composes as PyYAML's composer does (same events, same resolver, same nodes and errors as Lumen's
``yaml.Loader``; ``tests/validation/test_compose.py`` compares the two) and adds two limits:

* **Alias expansion.** An alias is a pointer to an earlier node, so nine aliases of nine aliases of ... describe
  a document exponentially larger than its text ("billion laughs": 377 bytes, 10^9 nodes). The node graph
  stays small, but every check that walks the data walks the expansion. Each node's expanded size is known once
  it is composed, so every alias adds its target's size to a running total, and the alias that pushes the total
  past `ALIAS_NODE_LIMIT` is refused at its own position, before anything walks the data.
* **Depth.** Composing, building and checking are recursive; past `MAX_DEPTH` levels the document is refused
  instead of running into Python's recursion limit somewhere in a check.

Which parser produces the events depends on the size of the text. PyYAML's pure-Python scanner is what Lumen
runs, so it decides for every ordinary spec; it costs about 2.6 s per MB, though, so above `PURE_PARSER_LIMIT`
the events come from libyaml (``yaml._yaml.CParser``, PyYAML's C extension, about 0.4 s per MB). Its marks count
characters like the Python parser's, so positions are unchanged; the two disagree on a few malformed inputs (2 of
3,000 mutated specs: a tab inside a plain key, which only the Python parser refuses), which is why ordinary files
keep the parser Lumen uses.
"""

from __future__ import annotations

from yaml.composer import Composer, ComposerError
from yaml.events import AliasEvent, MappingEndEvent, ScalarEvent, SequenceEndEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader, ReaderError
from yaml.resolver import Resolver
from yaml.scanner import Scanner

try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml: every file takes the pure-Python parser
    CParser = None

# Nodes that aliases may add to a document. Real specs reuse a few small blocks (`<<: *defaults`); 100,000
# nodes cost the checks what the same values written out would (a file of some hundreds of kB: under a second).
ALIAS_NODE_LIMIT = 100_000
# Dashboard specs nest about a dozen levels. Every check carries a path as long as the depth for each value it
# visits, so the cost of a large file grows with its depth too: 1.2 s for 1.5 MB ten levels down, 2.4 s at 95
# levels (plus, on CPython 3.11, up to 3.6 s of page faults where recursion keeps crossing a frame-stack chunk).
MAX_DEPTH = 64
# Texts longer than this (in characters) are parsed by libyaml: see the module docstring.
PURE_PARSER_LIMIT = 64 * 1024


_INT = "tag:yaml.org,2002:int"


class ComposeRefused(Exception):
    """The document is well-formed YAML that lumen-ext will not expand; ``index`` is where, in characters."""

    def __init__(self, rule: str, index: int, message: str, hint: str):
        super().__init__(message)
        self.rule, self.index, self.message, self.hint = rule, index, message, hint


class _Limits(Composer):
    """PyYAML's composer, counting alias expansion and depth as it goes (see the module docstring).

    `compose_node` is PyYAML's ``Composer.compose_node`` and its three ``compose_*_node`` helpers in one method
    (same events consumed, same nodes, same errors), so that the bookkeeping costs no extra call per node: on a
    large file the composer is a third of the validation time. Each node's expanded size is returned alongside
    it and kept only for anchored nodes, the only ones an alias can reach.
    """

    def __init__(self) -> None:
        Composer.__init__(self)
        self.sizes: dict[int, int] = {}  # id(anchored node) -> its size with every alias below it expanded
        self.expanded = 0  # nodes added by aliases so far
        self.explicit: set[int] = set()  # ids of scalars whose tag was written in the text (`!!int x`)
        self._resolved: dict[str, str] = {}  # plain scalar text -> its implicit tag (see `resolve`)
        # None unless someone called yaml.add_path_resolver (Lumen does not); checked twice per node.
        self.path_resolvers = bool(Resolver.yaml_path_resolvers)

    def compose_node(self, parent: Node | None, index: object) -> Node:
        return self._compose(parent, index, 0)[0]

    def _compose(self, parent: Node | None, index: object, depth: int) -> tuple[Node, int]:
        """The next node and its expanded size; ``depth`` is how many collections enclose it."""
        event = self.get_event()
        kind = type(event)
        anchor = event.anchor
        if kind is AliasEvent:
            if anchor not in self.anchors:
                raise ComposerError(None, None, f"found undefined alias {anchor!r}", event.start_mark)
            target = self.anchors[anchor]
            # An alias of an anchor still being composed (a recursive structure) has no size yet: count 1;
            # the loader reports the recursion itself.
            size = self.sizes.get(id(target), 1)
            self.expanded += size
            if self.expanded > ALIAS_NODE_LIMIT:
                raise ComposeRefused(
                    "yaml-alias-bomb",
                    event.start_mark.index,
                    f"aliases expand this document past {ALIAS_NODE_LIMIT:,} nodes (this `*{anchor}` alone adds "
                    f"{size:,}): refused, since every check would walk the whole expansion, and so would "
                    "Lumen's own validation",
                    "anchors are for reusing a few small blocks; write repeated content out or use `defaults:`",
                )
            return target, size
        if anchor is not None and anchor in self.anchors:
            raise ComposerError(
                f"found duplicate anchor {anchor!r}; first occurrence",
                self.anchors[anchor].start_mark,
                "second occurrence",
                event.start_mark,
            )
        if depth >= MAX_DEPTH:
            raise ComposeRefused(
                "yaml-too-deep",
                event.start_mark.index,
                f"nested more than {MAX_DEPTH} levels deep: lumen-ext does not check deeper documents",
                "a dashboard spec needs about a dozen levels; look for an unclosed `[` or `{`",
            )
        if self.path_resolvers:
            self.descend_resolver(parent, index)
        tag = event.tag
        if kind is ScalarEvent:
            explicit = tag is not None and tag != "!"
            if not explicit:
                # The cache of `resolve`, looked up here first: one call less for most scalars of a large file.
                tag = self._resolved.get(event.value) if event.implicit[0] else None
                if tag is None:
                    tag = self.resolve(ScalarNode, event.value, event.implicit)
            # libyaml calls the plain style "", PyYAML's parser None; the loader relies on None.
            style = event.style or None
            node: Node = ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=style)
            if explicit:
                self.explicit.add(id(node))
            size = 1
            if anchor is not None:
                self.anchors[anchor] = node
        else:
            depth += 1
            if kind is SequenceStartEvent:
                if tag is None or tag == "!":
                    tag = self.resolve(SequenceNode, None, event.implicit)
                node = SequenceNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if anchor is not None:
                    self.anchors[anchor] = node
                node.value, size = self._children(node, SequenceEndEvent, depth)
            else:
                if tag is None or tag == "!":
                    tag = self.resolve(MappingNode, None, event.implicit)
                node = MappingNode(tag, [], event.start_mark, None, flow_style=event.flow_style)
                if anchor is not None:
                    self.anchors[anchor] = node
                nodes, size = self._children(node, MappingEndEvent, depth)
                node.value = list(zip(nodes[0::2], nodes[1::2], strict=True))  # keys and values come in turn
            size += 1
            node.end_mark = self.get_event().end_mark
        if anchor is not None:
            self.sizes[id(node)] = size
        if self.path_resolvers:
            self.ascend_resolver()
        return node, size

    def _children(self, node: Node, end: type, depth: int) -> tuple[list[Node], int]:
        """The nodes of a collection up to its ``end`` event (a mapping's keys and values in turn), and their total
        expanded size. A plain scalar without anchor or tag, most nodes of a large file, is composed right here,
        as `_compose` would, without a call of its own: on a 1.2 MB spec that is a tenth of the validation time."""
        nodes: list[Node] = []
        size = 0
        peek, get, compose, resolved = self.peek_event, self.get_event, self._compose, self._resolved
        inline = depth < MAX_DEPTH and not self.path_resolvers
        mapping = end is MappingEndEvent
        while True:
            event = peek()
            kind = type(event)
            if kind is end:
                return nodes, size
            if inline and kind is ScalarEvent and event.anchor is None and event.tag is None:
                get()
                value = event.value
                tag = resolved.get(value) if event.implicit[0] else None
                if tag is None:
                    tag = self.resolve(ScalarNode, value, event.implicit)
                nodes.append(
                    ScalarNode(tag, value, event.start_mark, event.end_mark, style=event.style or None)
                )
                size += 1
            else:
                # As PyYAML's composer: a key is composed with index None, a value with its key, an item with
                # its position (the path resolvers' arguments).
                index = (nodes[-1] if len(nodes) % 2 else None) if mapping else len(nodes)
                child, n = compose(node, index, depth)
                nodes.append(child)
                size += n

    def resolve(self, kind: type, value: str | None, implicit: tuple[bool, bool]) -> str:
        # A plain scalar's tag depends on its text alone, and specs repeat their texts (`type`, `table`, field
        # names): remember a bounded number. Plain decimal integers, most of a large data list, skip the two
        # regular expressions (float, then int) the resolver tries before the answer it always gives for them.
        if kind is ScalarNode and implicit[0] and not self.path_resolvers:
            tag = self._resolved.get(value)
            if tag is None:
                if value.isascii() and value.isdigit() and value[0] != "0":
                    return _INT
                tag = Resolver.resolve(self, kind, value, implicit)
                if len(self._resolved) < 4096:
                    self._resolved[value] = tag
            return tag
        return Resolver.resolve(self, kind, value, implicit)


class _PythonComposer(Reader, Scanner, Parser, _Limits, Resolver):
    """PyYAML's pure-Python pipeline, the one Lumen's ``yaml.Loader`` runs."""

    def __init__(self, text: str):
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _Limits.__init__(self)
        Resolver.__init__(self)


if CParser is not None:

    class _LibyamlComposer(_Limits, CParser, Resolver):
        """libyaml's events, composed by PyYAML's Python composer (listed first, so its methods win)."""

        def __init__(self, text: str):
            CParser.__init__(self, text)
            _Limits.__init__(self)
            Resolver.__init__(self)


class Composed:
    """The root node (None for an empty document) and which scalars carry a tag written in the text."""

    __slots__ = ("explicit", "root")

    def __init__(self, root: Node | None, explicit: set[int]):
        self.root, self.explicit = root, explicit


def compose(text: str) -> Composed:
    """Compose ``text`` (one YAML document, BOM already removed).

    Raises PyYAML's own ``YAMLError`` for malformed YAML and `ComposeRefused` past the limits above.
    """
    if CParser is not None and len(text) > PURE_PARSER_LIMIT:
        # libyaml reports an unprintable character at a byte offset; check first, as PyYAML's Reader does, so
        # the error and its character position are the pure parser's.
        bad = Reader.NON_PRINTABLE.search(text)
        if bad:
            raise ReaderError(
                "<unicode string>",
                bad.start(),
                ord(bad.group()),
                "unicode",
                "special characters are not allowed",
            )
        composer: _Limits = _LibyamlComposer(text)
    else:
        composer = _PythonComposer(text)
    return Composed(composer.get_single_node(), composer.explicit)
