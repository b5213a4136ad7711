"""`lumen_ext.serving.spec_defaults`: one spec's ``defaults:`` do not leak into the next dashboard of the process.

Each check runs in a fresh interpreter: Lumen's class defaults are process-wide. The browser proof is
``tests/ui/test_controls.py`` (several specs served by one process, download buttons counted per spec).
"""

from __future__ import annotations

from support.probe import run_python


def test_lumen_still_applies_defaults_to_classes_and_builds_layouts_later():
    facts = run_python(
        "import inspect, json\n"
        "from lumen.dashboard import Dashboard, Defaults\n"
        "apply = inspect.getsource(Defaults.apply)\n"
        "init = inspect.getsource(Dashboard.__init__)\n"
        "print(json.dumps({\n"
        "    'download': 'Download.param.update(self.download)' in apply,\n"
        "    'types': 'obj_type.param.set_param(**params)' in apply,\n"
        "    'applied_in_init': 'self.defaults.apply()' in init,\n"
        "    'layout_signature': list(inspect.signature(Dashboard._load_layout).parameters),\n"
        "}))"
    )
    assert facts == {
        "download": True,
        "types": True,
        "applied_in_init": True,
        "layout_signature": ["self", "layout_spec"],
    }, "Lumen changed how it applies `defaults:`: review lumen_ext.serving.spec_defaults"


def test_a_spec_without_defaults_gets_lumens_after_one_with_defaults_and_typed_defaults_apply():
    facts = run_python(
        "import json\n"
        "from lumen.dashboard import Defaults, Download\n"
        "from lumen.views.base import Table\n"
        "from lumen_ext.serving import spec_defaults\n"
        "def seen():\n"
        "    return [Download.format, Table.page_size]\n"
        "pristine = seen()\n"
        "with_defaults = {'download': {'format': 'csv'}, 'views': [{'type': 'table', 'page_size': 7}]}\n"
        "Defaults.from_spec({'download': {'format': 'csv'}}).apply(); Defaults.from_spec({}).apply()\n"
        "leaked = seen()\n"
        "try:\n"
        "    Defaults.from_spec(with_defaults).apply(); typed = 'applied'\n"
        "except AttributeError as exc:\n"
        "    typed = str(exc)\n"
        "Download.param['format'].default = None  # as at server start, before any session\n"
        "spec_defaults.install(); spec_defaults.install()\n"
        "Defaults.from_spec(with_defaults).apply(); applied = seen()\n"
        "Defaults.from_spec({}).apply(); scoped = seen()\n"
        "installed = spec_defaults.is_installed(); spec_defaults.uninstall()\n"
        "print(json.dumps({'pristine': pristine, 'leaked': leaked, 'typed': typed, 'applied': applied,\n"
        "                  'scoped': scoped,\n"
        "                  'installed': installed, 'uninstalled': not spec_defaults.is_installed()}))"
    )
    assert facts["leaked"] == ["csv", None], (
        f"Lumen no longer leaks defaults; is the module still needed? {facts}"
    )
    assert "has no attribute 'set_param'" in facts["typed"], f"Lumen's typed defaults work again: {facts}"
    assert facts["applied"] == ["csv", 7]
    assert facts["scoped"] == facts["pristine"], facts
    assert facts["installed"] and facts["uninstalled"]
