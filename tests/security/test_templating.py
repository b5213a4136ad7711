"""The safe spec loader: sandboxed Jinja, SafeLoader, request values as data (S1-S4, S16), without Lumen."""

from __future__ import annotations

import pytest
import yaml

from lumen_ext.security.templating import RequestValues, SpecLoadRefused, load_spec_text


def test_plain_yaml_and_unknown_placeholders_stay_literal():
    data = load_spec_text("config:\n  title: Sales\nsources:\n  s:\n    uri: '{{ CATALOG_DIR }}/x.csv'\n")
    assert data == {"config": {"title": "Sales"}, "sources": {"s": {"uri": "{{ CATALOG_DIR }}/x.csv"}}}


def test_template_vars_render():
    assert load_spec_text("title: {{ name }}\n", {"name": "Q3"}) == {"title": "Q3"}


def test_python_tags_are_errors():
    with pytest.raises(yaml.constructor.ConstructorError, match="python/object/apply"):
        load_spec_text('title: !!python/object/apply:os.system ["true"]\n')


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("title: \"{{ shell('id') }}\"", "never runs shell"),
        ('title: "{{ cycler.__init__.__globals__ }}"', "Python internals"),
        ("title: \"{{ ''.__class__.__mro__ }}\"", "Python internals"),
        ("title: \"{{ env('HOME') }}\"", "allowed_env"),
    ],
    ids=["shell", "globals", "mro", "env"],
)
def test_refusals(text, reason):
    with pytest.raises(SpecLoadRefused, match=reason):
        load_spec_text(text)


def test_env_only_when_allowed():
    data = load_spec_text("title: {{ env('TOKEN') }}\n", allowed_env=("TOKEN",), environ={"TOKEN": "abc"})
    assert data == {"title": "abc"}


@pytest.mark.parametrize(
    "value",
    [
        '!!python/object/apply:os.system ["touch x"]',
        "x\nsources: {evil: {type: file}}",
        '"]}\nlayouts: []\n#',
        "{{ shell('id') }}",
        "*alias",
        "",
    ],
    ids=["tag", "newline-key", "flow-break", "jinja-in-value", "alias", "empty"],
)
def test_request_values_are_data(value):
    request = RequestValues(headers={"X-Team": value}, cookies={"c": value}, oauth={"email": value})
    text = "title: \"Hi {{ cookie('c') }}\"\nteam: {{ header('X-Team') }}\nwho: [{{ oauth('email') }}]\n"
    data = load_spec_text(text, request=request)
    assert data == {"title": f"Hi {value}", "team": value, "who": [value]}


def test_edit_path_disables_request_helpers():
    with pytest.raises(SpecLoadRefused, match="not available"):
        load_spec_text("t: {{ oauth('email') }}\n", getoauth=False)
