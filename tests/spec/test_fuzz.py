"""`check` never raises, whatever YAML can produce; nor does `lumen-ext validate` (a sample of the bench fuzzer)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys

from hypothesis import given, settings
from hypothesis import strategies as st
from support.paths import REPO

from lumen_ext.spec import SchemaIssue, check

KEYS = st.sampled_from(
    [
        "config",
        "sources",
        "pipelines",
        "layouts",
        "variables",
        "views",
        "type",
        "source",
        "pipeline",
        "filters",
        "transforms",
        "layout",
        "title",
        "kind",
        "tables",
        "file",
        "hvplot",
        "widget",
        "field",
        "table",
        "auto",
        "x",
    ]
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["$variables.x", "file", "hvplot", "table", "{{ x }}", "@x", "."]),
    st.dates(),
    st.datetimes(min_value=dt.datetime(2000, 1, 1)),
)
YAML_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(KEYS | st.text(max_size=6) | st.integers(), inner, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=300, deadline=None)
@given(YAML_VALUES)
def test_check_never_raises(spec):
    issues = check(spec)
    assert all(isinstance(i, SchemaIssue) for i in issues)
    assert len(issues) == len(set(issues))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["config", "sources", "pipelines", "layouts", "variables", "defaults", "auth"]),
        YAML_VALUES,
        max_size=5,
    )
)
def test_check_never_raises_on_dashboard_shapes(spec):
    check(spec)


def _bench_fuzzer():
    """bench/fuzz_specs.py as a module (bench/ is not a package; tests/security/test_fuzz.py loads it too)."""
    if "fuzz_specs" not in sys.modules:
        spec = importlib.util.spec_from_file_location("fuzz_specs", REPO / "bench" / "fuzz_specs.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["fuzz_specs"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules["fuzz_specs"]


def test_bounded_sample_of_the_validator_fuzzer():
    """A few hundred cases of every class of `python bench/fuzz_specs.py` (which runs 10,000): no traceback or
    internal error, valid JSON and SARIF, every line inside the file as an editor counts, each case under 2 s.
    Seeded: a failure here is a reproducible case (`--only CLASS --case N --seed 19`), never a flaky run."""
    fuzz = _bench_fuzzer()
    import fuzz_cases

    fuzz_cases.configure(300_000)  # the huge class up to 300 kB here, 1.5 MB in the full run
    try:
        tally = fuzz.run(cases=600, seed=19)
    finally:
        fuzz_cases.configure(fuzz_cases.DEFAULT_MAX_BYTES)
    failures = "\n".join(f"{n} x {name}: {kind}" for (name, kind), n in tally.kinds.items())
    assert tally.cases == 600
    assert not tally.failed, fuzz.table(tally) + "\n" + failures
