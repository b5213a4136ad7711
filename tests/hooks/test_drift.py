"""The upstream code every hook of the table was written against is still the code installed.

A failure names the hook: review its ``use`` against the new upstream source, then record the new fingerprint and
``written_against`` in ``lumen_ext/hooks/table.py`` (``docs/hooks.md`` is the procedure).
"""

from __future__ import annotations

import pytest

from lumen_ext.hooks import drift
from lumen_ext.hooks.table import HOOKS


@pytest.mark.parametrize("hook", HOOKS, ids=lambda hook: hook.name)
def test_upstream_code_is_what_the_hook_was_written_against(hook):
    assert drift.fingerprint(hook) == hook.fingerprint, (
        f"{hook.target} changed since {hook.written_against} ({hook.upstream}); review {hook.use} "
        "against it and record the new fingerprint (docs/hooks.md)"
    )


def test_fingerprints_are_stable_across_processes():
    """A fingerprint names code, never an object's id: the same in a fresh interpreter as here."""
    from support.probe import run_python

    fresh = run_python(
        "import json\n"
        "from lumen_ext.hooks import drift\n"
        "from lumen_ext.hooks.table import HOOKS\n"
        "print(json.dumps({h.name: drift.fingerprint(h) for h in HOOKS}))"
    )
    assert fresh == {hook.name: drift.fingerprint(hook) for hook in HOOKS}
