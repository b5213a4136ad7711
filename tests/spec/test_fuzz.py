"""`check` never raises, whatever YAML can produce."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

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
