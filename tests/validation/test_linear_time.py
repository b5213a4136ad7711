"""Validation time grows linearly with the size of the spec (the outside fuzz run: 15.7 s for a 1.5 MB list)."""

from __future__ import annotations

import re
import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from lumen_ext.validation import validate_text
from lumen_ext.validation.jinja import _blocks, neutralise
from lumen_ext.validation.loader import load_text

# What jinja.py used: quadratic on "{{ {{ {{ ...", it scans to the end of the text for every unclosed opener.
_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(["{", "}", "%", "#", "a", "\n", "{{", "}}", "{%", "%}", "{#", "#}"]), max_size=40
    ).map("".join)
)
def test_jinja_blocks_are_what_the_regular_expression_found(text: str) -> None:
    assert list(_blocks(text)) == [m.span() for m in _BLOCK.finditer(text)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a: ", "{{ x.y }}", "'{{ z }}'", "\n", "b", "[", "]", ", "]), max_size=30))
def test_templated_values_are_found_among_sorted_ranges(parts: list[str]) -> None:
    text = "".join(parts)
    loaded = load_text(text)
    if loaded.positions is None or loaded.positions.root is None:
        return
    ranges = neutralise(text).templated
    values, stack = [], [loaded.positions.root]
    while stack:  # every scalar value (keys are never templated)
        node = stack.pop()
        if isinstance(node, yaml.ScalarNode):
            values.append(node)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
        else:
            stack.extend(v for _, v in node.value)
    for node in values:
        overlaps = any(s < node.end_mark.index and node.start_mark.index < e for s, e in ranges)
        assert (id(node) in loaded.positions.templated) == overlaps


def cpu(text: str) -> float:
    started = time.process_time()
    validate_text(text, "t.yaml", data=False)
    return time.process_time() - started


def flow_list(n: int) -> str:
    return "x: [" + ", ".join(str(100_000 + i) for i in range(n)) + "]\n"


def unclosed_jinja(n: int) -> str:
    return "x: " + "{{ " * n + "\n"


def flow_layouts(n: int) -> str:
    return "layouts: [" + ", ".join(f"{{title: t{i}, views: [{{type: table}}]}}" for i in range(n)) + "]\n"


@pytest.mark.parametrize(
    ("make", "n"), [(flow_list, 10_000), (unclosed_jinja, 25_000), (flow_layouts, 2_000)]
)
def test_eight_times_the_text_costs_at_most_sixteen_times_the_time(make, n: int) -> None:
    # Both sizes above the pure-Python parser's limit (64 KiB), so both take the same path.
    small, large = make(n), make(8 * n)
    assert 8 * len(small) == pytest.approx(len(large), rel=0.1)
    cpu(small)  # warm-up: imports and first-call caches
    assert cpu(large) <= 16 * max(cpu(small), 0.01)


def test_security_walk_is_iterative_and_stops_on_data_that_contains_itself() -> None:
    from pathlib import Path

    from lumen_ext.validation.security import _dicts, unsafe_constructs

    deep: dict = {"views": [{"type": "table"} for _ in range(3)]}
    for _ in range(400):  # deeper than the recursion limit allowed the recursive walk
        deep = {"x": [deep]}
    assert len(list(_dicts(deep, ()))) == 404
    looped = yaml.safe_load("a: &a [1, [2, *a]]\n")  # PyYAML (serve's loader) builds a list containing itself
    [issue] = unsafe_constructs(looped, Path("spec.yaml"))
    assert "nested too deeply" in issue.message
