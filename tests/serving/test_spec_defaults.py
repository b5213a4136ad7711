"""`lumen_ext.serving.spec_defaults`: one spec's ``defaults:`` do not leak into the next dashboard of the process.

Each check runs in a fresh interpreter: Lumen's class defaults are process-wide. The hooks table fingerprints the
Lumen methods replaced (``tests/hooks/test_drift.py``); the browser proof is ``tests/ui/test_controls.py`` (all
example specs served by one process, download buttons counted per spec).
"""

from __future__ import annotations

from support.probe import run_python

SEEN = (
    "import json\n"
    "from lumen.dashboard import Defaults, Download\n"
    "from lumen.views.base import Table\n"
    "def seen():\n"
    "    return [Download.format, Table.page_size]\n"
    "pristine = seen()\n"
    "csv = {'download': {'format': 'csv'}}\n"
    "typed = {'download': {'format': 'csv'}, 'views': [{'type': 'table', 'page_size': 7}]}\n"
)


def test_lumen_leaks_a_specs_defaults_and_cannot_apply_typed_ones():
    facts = run_python(
        SEEN + "Defaults.from_spec(csv).apply(); Defaults.from_spec({}).apply()\n"
        "leaked = seen()\n"
        "try:\n"
        "    Defaults.from_spec(typed).apply(); error = None\n"
        "except AttributeError as exc:\n"
        "    error = str(exc)\n"
        "print(json.dumps({'pristine': pristine, 'leaked': leaked, 'error': error}))"
    )
    assert facts["pristine"] == [None, None]
    assert facts["leaked"] == ["csv", None], (
        f"Lumen no longer leaks defaults; is the hook still needed? {facts}"
    )
    assert "has no attribute 'set_param'" in facts["error"], f"Lumen's typed defaults work again: {facts}"


def test_with_the_hooks_each_dashboard_starts_from_lumens_defaults_plus_its_own():
    facts = run_python(
        SEEN + "from lumen_ext import hooks\n"
        "hooks.enable('serving.lumen-fixes.defaults')\n"
        "Defaults.from_spec(typed).apply(); applied = seen()\n"
        "Defaults.from_spec({}).apply(); scoped = seen()\n"
        "hooks.disable('serving.lumen-fixes.defaults')\n"
        "print(json.dumps({'pristine': pristine, 'applied': applied, 'scoped': scoped}))"
    )
    assert facts["applied"] == ["csv", 7]
    assert facts["scoped"] == facts["pristine"], facts


def test_a_layout_built_later_gets_its_own_dashboards_defaults():
    """Layouts are built after the page loads: another spec's session may have applied its defaults meanwhile."""
    facts = run_python(
        SEEN + "from lumen_ext import hooks\n"
        "hooks.enable('serving.lumen-fixes.defaults')\n"
        "class Built:\n"
        "    defaults = Defaults.from_spec(csv)\n"
        "def record(self, layout_spec):\n"
        "    return Download.format\n"
        "Defaults.from_spec({}).apply()  # another spec's session, after this dashboard applied its own\n"
        "from lumen_ext.serving.spec_defaults import layout_with_own_defaults  # the hook, around a recorder\n"
        "built_with = layout_with_own_defaults(record, None)(Built(), {})\n"
        "hooks.disable('serving.lumen-fixes.defaults')\n"
        "print(json.dumps({'built_with': built_with}))"
    )
    assert facts == {"built_with": "csv"}
