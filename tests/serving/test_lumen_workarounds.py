"""The run-time fixes `lumen-ext serve` applies to Lumen, and the Lumen code they assume.

The browser tests show the effect (no page errors after a filter change). These tests fail when Lumen changes the
code a fix replaces, so the fix is reviewed rather than silently applied to something else.
"""

from __future__ import annotations

import json
import subprocess
import sys


def run_python(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_lumen_still_dispatches_loading_off_immediately():
    """The bug the loading fix works around is still in Lumen: both directions under immediate_dispatch."""
    facts = run_python(
        "import inspect, json\n"
        "from lumen.views.base import View\n"
        "src = inspect.getsource(View._update_loading)\n"
        "print(json.dumps({'immediate': 'immediate_dispatch' in src, 'both': 'self._panel.loading = event.new' in src}))"
    )
    assert facts == {"immediate": True, "both": True}, (
        "Lumen changed View._update_loading: review the workaround"
    )


def test_apply_replaces_update_loading_once():
    facts = run_python(
        "import json\n"
        "from lumen.views.base import View\n"
        "from lumen_ext.serving import lumen_workarounds\n"
        "original = View._update_loading\n"
        "lumen_workarounds.apply(); first = View._update_loading\n"
        "lumen_workarounds.apply(); second = View._update_loading\n"
        "print(json.dumps({'replaced': first is not original, 'idempotent': first is second,\n"
        "                  'ours': first is lumen_workarounds._ordered_loading_off}))"
    )
    assert facts == {"replaced": True, "idempotent": True, "ours": True}


def test_lumen_still_deep_copies_view_data():
    facts = run_python(
        "import inspect, json\n"
        "from lumen.views.base import View\n"
        "src = inspect.getsource(View.get_data)\n"
        "print(json.dumps({'deep_copy': src.rstrip().endswith('return data.copy()'),\n"
        "                  'cache_first': 'if self._cache is not None:' in src}))"
    )
    assert facts == {"deep_copy": True, "cache_first": True}, (
        "Lumen changed View.get_data: review the workaround"
    )


def test_view_data_shares_buffers_but_writes_stay_local():
    facts = run_python(
        "import json\n"
        "import numpy as np, pandas as pd\n"
        "from lumen.pipeline import Pipeline\n"
        "from lumen.sources.base import InMemorySource\n"
        "from lumen.views.base import Table, View\n"
        "from lumen_ext.serving import lumen_workarounds\n"
        "lumen_workarounds.apply()\n"
        "df = pd.DataFrame({'a': np.arange(5.0), 'b': list('vwxyz')})\n"
        "pipeline = Pipeline(source=InMemorySource(tables={'t': df}), table='t')\n"
        "view = Table(pipeline=pipeline, limit=3)\n"
        "data = view.get_data()\n"
        "shared = np.shares_memory(data['a'].to_numpy(), pipeline.data['a'].to_numpy())\n"
        "data.loc[0, 'a'] = 100.0\n"
        "print(json.dumps({'ours': View.get_data is lumen_workarounds._get_data_sharing_buffers,\n"
        "                  'rows': len(data), 'shared': bool(shared),\n"
        "                  'pipeline_kept': float(pipeline.data['a'][0]), 'again': float(view.get_data()['a'][0])}))"
    )
    assert facts == {"ours": True, "rows": 3, "shared": True, "pipeline_kept": 0.0, "again": 0.0}


def test_lumen_still_drops_plain_variable_references():
    facts = run_python(
        "import inspect, json\n"
        "import lumen.layout\n"
        "from lumen.util import extract_refs\n"
        "refs = extract_refs({'opts': {'cmap': '$variables.cmap', 'title': 'By $variables.who'}}, 'variables')\n"
        "print(json.dumps({'refs': refs, 'layout_uses_it': lumen.layout.extract_refs is extract_refs,\n"
        "                  'in_refs': 'extract_refs(spec' in inspect.getsource(lumen.layout.Layout.refs.fget)}))"
    )
    assert facts == {"refs": ["By $variables.who"], "layout_uses_it": True, "in_refs": True}, (
        "Lumen changed extract_refs or Layout.refs: review the workaround"
    )


VIEW_VARIABLE_SPEC = """
variables:
  cmap: {type: widget, kind: Select, label: Colormap, options: [viridis, fire], value: viridis}
sources:
  points: {type: file, tables: {points: points.csv}}
layouts:
  - title: Points
    source: points
    views:
      - {type: hvplot, table: points, kind: scatter, x: x, y: y, c: y, opts: {cmap: $variables.cmap}}
"""


def test_a_variable_only_a_view_uses_gets_its_widget(tmp_path):
    """With the fix the layout's sidebar holds the Colormap widget, and choosing a value reaches the view."""
    (tmp_path / "points.csv").write_text("x,y\n1,2\n2,3\n3,1\n")
    (tmp_path / "spec.yaml").write_text(VIEW_VARIABLE_SPEC)
    code = (
        "import json, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import panel as pn\n"
        "from bokeh.document import Document\n"
        "from panel.io.state import set_curdoc\n"
        "from lumen_ext.serving import lumen_workarounds\n"
        "if sys.argv[1] == 'fixed': lumen_workarounds.apply()\n"
        "from lumen import Dashboard\n"
        "with set_curdoc(Document()):\n"
        "    layout = Dashboard('spec.yaml').layouts[0]\n"
        "    panel = layout.get_filter_panel()\n"
        "    widgets = [w for w in panel.select(pn.widgets.Select) if w.name == 'Colormap']\n"
        "    if widgets: widgets[0].value = 'fire'\n"
        "    view = layout._cards[0].views[0]\n"
        "    print(json.dumps({'widgets': len(widgets), 'cmap': view.opts.get('cmap')}))\n"
    )
    outcomes = {}
    for mode in ("fixed", "lumen"):
        result = subprocess.run(
            [sys.executable, "-c", code, mode], capture_output=True, text=True, timeout=120, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr[-3000:]
        outcomes[mode] = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcomes == {"fixed": {"widgets": 1, "cmap": "fire"}, "lumen": {"widgets": 0, "cmap": "viridis"}}
