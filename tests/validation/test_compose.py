"""The composer is PyYAML's (same nodes, marks and errors), with alias bombs and deep nesting refused."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.resolver import Resolver

from lumen_ext.validation import compose as composing
from lumen_ext.validation.compose import ALIAS_NODE_LIMIT, MAX_DEPTH, ComposeRefused, compose
from lumen_ext.validation.rules import RULES

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SPECS = Path(__file__).resolve().parents[2] / "specs"
# As the loader hands texts to the composer: without a byte order mark (libyaml would skip it, PyYAML count it).
TEXTS = [
    p.read_text(encoding="utf-8-sig") for p in sorted(EXAMPLES.rglob("*.yaml")) + sorted(SPECS.glob("*.yaml"))
]
TRICKY = [
    "",
    "# only a comment\n",
    "a: &x {b: 1}\nc: *x\nd: {<<: *x, e: 2}\n",
    "a: !!int 3\nb: !!str 3\nc: !foo x\nd: !!python/name:os.system\n",
    "- [a, {b: c}]\n- |\n  block\n- >-\n  folded\n",
    "a: 1\n---\nb: 2\n",
    "a: *nope\n",
    "a: &x 1\nb: &x 2\n",
    "a: [1, 2\nb: 3\n",
    "? [a]\n: b\n",
    "a: 'x\u2028y'\nb: \"\u2029\"\n",
    "x: [" + "[" * 20 + "]" * 20 + "]\n",
]


def shape(node):
    """A node graph as plain data, marks included (index, PyYAML's own line and column)."""
    if node is None:
        return None
    marks = tuple((m.index, m.line, m.column) for m in (node.start_mark, node.end_mark))
    if isinstance(node, yaml.ScalarNode):
        return ("scalar", node.tag, node.value, node.style, marks)
    if isinstance(node, yaml.SequenceNode):
        return ("seq", node.tag, node.flow_style, marks, [shape(n) for n in node.value])
    return ("map", node.tag, node.flow_style, marks, [(shape(k), shape(v)) for k, v in node.value])


def outcome(make):
    try:
        return shape(make())
    except yaml.YAMLError as exc:
        return ("error", type(exc).__name__, str(exc))


@pytest.mark.parametrize("text", TEXTS + TRICKY)
def test_same_nodes_and_errors_as_pyyamls_composer(text: str) -> None:
    try:
        ours = outcome(lambda: compose(text).root)
    except ComposeRefused:  # the alias-bomb and too-deep examples: tested below
        return
    assert ours == outcome(lambda: yaml.compose(text, Loader=yaml.SafeLoader))


@pytest.mark.skipif(composing.CParser is None, reason="PyYAML without libyaml")
@pytest.mark.parametrize("text", TEXTS)
def test_libyaml_events_give_the_same_nodes_and_positions(text: str) -> None:
    """The large-file path: libyaml's marks count characters too, so every position is unchanged. (Where the
    two parsers disagree on malformed input, the pure one decides below `PURE_PARSER_LIMIT`.)"""
    try:
        compose(text)
    except (yaml.YAMLError, ComposeRefused):  # refused texts would expand exponentially in `shape`
        return
    expected = shape(yaml.compose(text, Loader=yaml.SafeLoader))
    assert shape(composing._LibyamlComposer(text).get_single_node()) == expected


def test_large_files_take_libyaml_and_report_characters_where_they_are(monkeypatch) -> None:
    text = "config:\n  title: 'é€😀'\n" + "x: [" + ", ".join(["1"] * 40_000) + "]\n" + "y: \x00\n"
    assert len(text) > composing.PURE_PARSER_LIMIT
    with pytest.raises(yaml.reader.ReaderError) as err:
        compose(text)
    assert err.value.position == text.index("\x00")


def test_explicit_tags_are_told_apart_from_resolved_ones() -> None:
    composed = compose("a: !!int 1\nb: 1\nc: !!str x\n")
    explicit = {k.value for k, v in composed.root.value if id(v) in composed.explicit}
    assert explicit == {"a", "c"}


class TestAliasBudget:
    def laughs(self, levels: int) -> str:
        lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
        names = "abcdefghijklmnop"
        lines += [
            f"{names[i]}: &{names[i]} [{', '.join([f'*{names[i - 1]}'] * 9)}]" for i in range(1, levels)
        ]
        return "\n".join(lines) + "\n"

    def test_billion_laughs_is_refused_within_milliseconds(self) -> None:
        started = time.process_time()
        with pytest.raises(ComposeRefused) as refused:
            compose(self.laughs(10))
        assert time.process_time() - started < 0.5  # 10^9 nodes if expanded
        assert refused.value.rule == "yaml-alias-bomb"
        # Levels b to e add 74,718 nodes by aliases; the first `*e` adds 66,430 more and crosses 100,000.
        assert refused.value.index == self.laughs(10).index("*e")

    def test_merges_count_like_aliases(self) -> None:
        lines = ["a0: &a0 {k: 1, l: 2}"] + [
            f"a{i}: &a{i} {{<<: [*a{i - 1}, *a{i - 1}]}}" for i in range(1, 40)
        ]
        with pytest.raises(ComposeRefused):
            compose("\n".join(lines) + "\n")

    def test_ordinary_reuse_is_accepted(self) -> None:
        text = "d: &d {type: table, page_size: 5}\n" + "".join(f"v{i}: *d\n" for i in range(2000))
        assert len(compose(text).root.value) == 2001

    def test_the_rule_summary_states_the_limits(self) -> None:
        assert f"{ALIAS_NODE_LIMIT:,}" in RULES["yaml-alias-bomb"].summary
        assert f"{MAX_DEPTH} levels" in RULES["yaml-too-deep"].summary


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, 50_000])
def test_depth_limit(depth: int) -> None:
    text = "[" * depth + "]" * depth
    if depth <= MAX_DEPTH:
        assert compose(text).root is not None
    else:
        with pytest.raises(ComposeRefused) as refused:
            compose(text)
        assert (refused.value.rule, refused.value.index) == ("yaml-too-deep", MAX_DEPTH)


PLAIN = st.text(st.sampled_from("0123456789_-+.:eExob\u0661 abTrue"), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(PLAIN)
def test_the_resolver_shortcut_gives_pyyamls_tag(value: str) -> None:
    ours = composing._PythonComposer("")
    for _ in range(2):  # the second call answers from the cache
        assert ours.resolve(yaml.ScalarNode, value, (True, False)) == Resolver().resolve(
            yaml.ScalarNode, value, (True, False)
        )
