"""The run-time fixes `lumen-ext serve` applies to Lumen, and the Lumen code they assume.

The browser tests show the effect (no page errors after a filter change). These tests fail when Lumen changes the
code a fix replaces, so the fix is reviewed rather than silently applied to something else.
"""

from __future__ import annotations

from support.probe import run_python


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


def test_enabling_replaces_update_loading_once_and_disabling_restores():
    facts = run_python(
        "import json\n"
        "from lumen.views.base import View\n"
        "from lumen_ext import hooks\n"
        "from lumen_ext.serving import lumen_workarounds\n"
        "original = View._update_loading\n"
        "hooks.enable('serving.lumen-fixes'); first = View._update_loading\n"
        "hooks.enable('serving.lumen-fixes'); second = View._update_loading\n"
        "hooks.disable('serving.lumen-fixes')\n"
        "print(json.dumps({'replaced': first is not original, 'idempotent': first is second,\n"
        "                  'ours': first is lumen_workarounds._ordered_loading_off,\n"
        "                  'restored': View._update_loading is original}))"
    )
    assert facts == {"replaced": True, "idempotent": True, "ours": True, "restored": True}


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
        "from lumen_ext import hooks\n"
        "from lumen_ext.serving import lumen_workarounds\n"
        "hooks.enable('serving.lumen-fixes')\n"
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
