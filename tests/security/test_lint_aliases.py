"""The security lint walks data PyYAML built from aliases once per node and context, not once per path."""

from __future__ import annotations

import time

import yaml

from lumen_ext.validation.security import unsafe_constructs

# Nine levels of nine aliases each: 9^9 (387 million) paths lead to the innermost mapping.
NESTED_ALIASES = "a0: &a0 {type: x}\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]\n" for i in range(1, 10)
)


def test_nested_aliases_are_walked_once(tmp_path):
    data = yaml.safe_load(NESTED_ALIASES)
    started = time.process_time()
    issues = unsafe_constructs(data, tmp_path / "spec.yaml")
    # Bounded generously (it takes milliseconds): what matters is not walking 387 million paths.
    assert time.process_time() - started < 5, "the lint walked every path through the aliases"
    assert isinstance(issues, list)


def test_an_alias_into_a_checked_section_is_checked_there(tmp_path):
    # The anchor sits under `variables`, whose `widget:` keys the lint leaves alone (they name Panel widgets);
    # the alias puts the same mapping where `widget:` is a dotted import Lumen resolves.
    text = """
variables:
  v: &spec {type: widget, widget: os.system}
layouts:
  - title: x
    views: [*spec]
"""
    issues = unsafe_constructs(yaml.safe_load(text), tmp_path / "spec.yaml")
    assert [(i.rule, i.path) for i in issues if i.rule == "unsafe-import"] == [
        ("unsafe-import", ("layouts", 0, "views", 0, "widget"))
    ]
