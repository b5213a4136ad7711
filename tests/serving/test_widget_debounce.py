"""`lumen_ext.serving.widget_debounce`: discrete widgets wait 1 ms instead of Panel's 50, the others keep 50.

Each check runs in a fresh interpreter (Panel's widget classes are process-wide; importing them in pytest's own
process would change them for every later test).
"""

from __future__ import annotations

from support.probe import run_python


def test_panel_still_debounces_browser_changes_by_a_class_attribute():
    """The code the patch relies on: the wait is ``self._debounce`` ms, 50 by default, per widget class."""
    facts = run_python(
        "import inspect, json\n"
        "from panel.reactive import Syncable\n"
        "from lumen_ext.serving.widget_debounce import PANEL_DEBOUNCE_MS\n"
        "src = inspect.getsource(Syncable._server_change)\n"
        "print(json.dumps({'default': Syncable._debounce == PANEL_DEBOUNCE_MS,\n"
        "                  'timeout': 'doc.add_timeout_callback(cb, self._debounce)' in src,\n"
        "                  'coalesces': 'processing = bool(self._events)' in src}))"
    )
    assert facts == {"default": True, "timeout": True, "coalesces": True}, (
        "Panel changed Syncable._server_change: review lumen_ext.serving.widget_debounce"
    )


def test_install_zeroes_discrete_widgets_only_and_uninstall_restores():
    facts = run_python(
        "import json\n"
        "import panel as pn, panel_material_ui as pmui\n"
        "from lumen_ext import hooks\n"
        "from lumen_ext.serving import widget_debounce\n"
        "kept = [pn.widgets.IntSlider, pn.widgets.RangeSlider, pn.widgets.DateRangeSlider, pn.widgets.TextInput,\n"
        "        pn.widgets.AutocompleteInput, pn.widgets.IntInput, pmui.IntRangeSlider, pmui.DatetimeRangeSlider,\n"
        "        pmui.TextInput, pmui.Player]\n"
        "hooks.enable('serving.widget-debounce'); hooks.enable('serving.widget-debounce')\n"
        "from lumen_ext.hooks.hook import resolve_owner\n"
        "from lumen_ext.hooks.table import HOOKS\n"
        "classes = [resolve_owner(h.target)[0] for h in HOOKS if h.name.startswith('serving.widget-debounce.')]\n"
        "installed = {c.__module__.split('.')[0] + '.' + c.__name__: c._debounce for c in classes}\n"
        "kept_values = sorted({c._debounce for c in kept})\n"
        "hooks.disable('serving.widget-debounce')\n"
        "print(json.dumps({'installed': sorted(set(installed.values())), 'n': len(installed),\n"
        "                  'kept': kept_values, 'restored': sorted({c._debounce for c in classes}),\n"
        "                  'own_attr_left': [c.__name__ for c in classes if '_debounce' in vars(c)]}))"
    )
    assert facts == {"installed": [1], "n": 26, "kept": [50], "restored": [50], "own_attr_left": []}


def test_lumen_filter_widgets_are_covered_by_kind():
    """What Lumen's widget filters build: a choice among values is acted on at once, a range slider waits."""
    facts = run_python(
        "import json, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import pandas as pd\n"
        "from lumen.filters.base import WidgetFilter\n"
        "from lumen.sources.base import InMemorySource\n"
        "from lumen_ext import hooks\n"
        "hooks.enable('serving.widget-debounce')\n"
        "df = pd.DataFrame({'borough': list('xyzxy'), 'fare': [1.0, 2.5, 3.0, 4.0, 5.5], 'flag': [True, False] * 2 + [True]})\n"
        "schema = InMemorySource(tables={'t': df}).get_schema('t')\n"
        "out = {}\n"
        "for field, multi in (('borough', True), ('borough', False), ('fare', True), ('flag', False)):\n"
        "    widget = WidgetFilter(field=field, schema=schema, multi=multi).panel\n"
        "    out[f'{field}/{multi}'] = [type(widget).__name__, widget._debounce]\n"
        "print(json.dumps(out))"
    )
    assert facts["borough/True"] == ["MultiChoice", 1]
    assert facts["borough/False"] == ["Select", 1]
    assert facts["fare/True"][1] == 50 and "Slider" in facts["fare/True"][0]
    assert facts["flag/False"] == ["Checkbox", 1]
