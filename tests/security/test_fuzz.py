"""A bounded run of `bench/fuzz_specs.py`: the loader, the security lint and the validator never crash on any spec.

The full run (10,000 examples) is `python bench/fuzz_specs.py`; this one keeps the test area fast.
"""

from __future__ import annotations

import importlib.util
import sys

from hypothesis import HealthCheck, example, given, settings
from support.paths import REPO

_spec = importlib.util.spec_from_file_location("fuzz_specs", REPO / "bench" / "fuzz_specs.py")
fuzz_specs = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("fuzz_specs", fuzz_specs)  # dataclasses look their module up there
_spec.loader.exec_module(fuzz_specs)


# Deterministic examples: a failure here is a reproducible bug, never a flaky run.
bounded = settings(
    max_examples=300, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@bounded
@given(fuzz_specs.specs)
def test_loader_and_lint_never_crash(text):
    fuzz_specs.check_loader_and_lint(text)


@bounded
@given(fuzz_specs.specs)
# Minimal inputs of the crashes bench/fuzz_specs.py found in lumen_ext.validation (model.py, dependencies.py).
@example("sources: {s: {type: [], tables: [a.csv]}}")
@example("sources: {s: {type: {}, tables: x}}")
@example("layouts: [{title: x, views: 1.5}]")
def test_validator_never_crashes(text):
    fuzz_specs.check_validator(text)


def test_known_payloads_are_handled():
    for payload in fuzz_specs.ATTACKS:
        fuzz_specs.check(f"config:\n  title: {payload}\n")
        fuzz_specs.check(f"config:\n  title: '{payload}'\n")
