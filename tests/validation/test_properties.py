"""Property-based tests: whatever the input, the validator never raises, the CLI exits 0, 1 or 2, and every
diagnostic points inside the file."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lumen_ext.cli import main
from lumen_ext.validation import validate_text
from lumen_ext.validation.lines import editor_lines

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SEEDS = [p.read_text() for p in sorted((EXAMPLES / "valid").glob("*.yaml"))] + [
    p.read_text() for p in sorted((EXAMPLES / "invalid").glob("*.yaml"))[:12]
]
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
YAML_BITS = [
    ":", "- ", "  ", "\t", "{", "}", "[", "]", "{{", "}}", "{%", "%}", "&a ", "*a", "<<: ", "!!python/name:os.getpid",
    "!x ", "$", "$variables.", "${", "'", '"', "#", "\n", "---\n", "? ", "|\n", "type: ", "source: ", "pipeline: ",
    "table: ", "views:", "layout: [[0, 1]]", "field: ", "\ufeff", "\x00", "é", "$5", "0x1f", "2024-01-01",
]  # fmt: skip
VOCAB = [
    "config", "variables", "sources", "pipelines", "layouts", "targets", "views", "type", "source", "pipeline",
    "table", "tables", "filters", "transforms", "field", "layout", "title", "file", "duckdb", "hvplot", "x", "y",
    "columns", "by", "aggregate", "rename", "widget", "constant", "param", "parameter", "sales", "sales.csv",
    "$variables.x", "$sales.sales.region", "${variables.x}", "region", "price", "0", "1",
]  # fmt: skip


def assert_inside(text: str, data: bool = True) -> None:
    report = validate_text(text, "t.yaml", EXAMPLES / "valid", data=data)
    lines = len(editor_lines(text))  # editor lines: U+2028 and friends do not count
    for d in report.diagnostics:
        assert 1 <= d.line <= lines, d
        assert 1 <= d.span.end_line <= lines, d
        assert d.line <= d.span.end_line
        assert d.column >= 1 and d.span.end_column >= 1
        assert d.message


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "replace", "dup-line", "drop-line"]))
        if op == "insert":
            text = text[:pos] + draw(st.sampled_from(YAML_BITS)) + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 8)) :]
        elif op == "replace":
            text = text[:pos] + draw(st.sampled_from(VOCAB)) + text[pos + draw(st.integers(0, 6)) :]
        else:
            lines = text.splitlines(keepends=True) or [""]
            i = draw(st.integers(0, len(lines) - 1))
            lines[i : i + 1] = [lines[i], lines[i]] if op == "dup-line" else []
            text = "".join(lines)
    return text


json_like = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(VOCAB),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(VOCAB), children, max_size=5)
    ),
    max_leaves=30,
)


@SETTINGS
@given(st.lists(st.sampled_from(YAML_BITS) | st.characters(), max_size=80).map("".join))
def test_random_text_never_crashes(text: str) -> None:
    assert_inside(text)


@SETTINGS
@given(mutated())
def test_mutated_specs_never_crash(text: str) -> None:
    assert_inside(text)


@SETTINGS
@given(st.dictionaries(st.sampled_from(VOCAB), json_like, max_size=6))
def test_random_structures_never_crash(spec: dict) -> None:
    assert_inside(yaml.safe_dump(spec, sort_keys=False))


@settings(max_examples=60, deadline=None)
@given(mutated())
def test_cli_exit_status_is_always_0_1_or_2(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_bytes(text.encode("utf-8", "surrogatepass"))
        (Path(tmp) / "sales.csv").write_text("region,price\nEast,1\n")
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(["validate", "--format", "json", str(spec)])
    assert code in (0, 1, 2)
