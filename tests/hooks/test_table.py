"""The hooks table is consistent, installs through one mechanism, composes in table order and puts back what it
replaced; a hook outside its tested upstream range is skipped with everything that requires it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from support.probe import run_python

from lumen_ext.hooks.hook import resolve_callable
from lumen_ext.hooks.table import HOOKS, PROFILES

PACKAGE = Path(__file__).resolve().parents[2] / "lumen_ext"
UPSTREAM = ("lumen", "panel", "panel_material_ui", "bokeh", "holoviews", "hvplot", "param", "tornado")


def test_names_are_unique_and_requirements_come_first():
    seen: set[str] = set()
    for hook in HOOKS:
        assert hook.name not in seen, f"two hooks named {hook.name}"
        for need in hook.requires:
            assert need in seen, f"{hook.name} requires {need}, which must come before it in the table"
        seen.add(hook.name)


@pytest.mark.parametrize("hook", HOOKS, ids=lambda hook: hook.name)
def test_each_row_names_real_code_and_a_tested_range(hook):
    assert hook.why and hook.written_against and len(hook.fingerprint) == 12
    assert hook.profiles and hook.profiles <= set(PROFILES)
    requirement = Requirement(hook.upstream)
    assert requirement.specifier, f"{hook.name}: an upstream range needs an upper and a lower bound"
    assert any(spec.operator == "<" for spec in requirement.specifier)
    assert hook.written_against.split()[1] in requirement.specifier
    assert callable(resolve_callable(hook.use))
    if hook.undo is not None:
        assert callable(resolve_callable(hook.undo))


def _third_party_names(tree: ast.AST) -> set[str]:
    """Names bound to upstream modules and classes (not instances: ``state.spec = ...`` sets a parameter)."""
    import importlib
    import inspect

    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in UPSTREAM:
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name, None)
                if value is None:  # a submodule imported by name
                    value = importlib.import_module(f"{node.module}.{alias.name}")
                if inspect.isclass(value) or inspect.ismodule(value):
                    names.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            names.update(
                alias.asname or alias.name.split(".")[0]
                for alias in node.names
                if alias.name.split(".")[0] in UPSTREAM
            )
    return names


def test_no_module_outside_the_hooks_package_replaces_an_upstream_attribute():
    """``X.attr = ...``, ``setattr(X, ...)`` or ``del X.attr`` on a class or module imported from Lumen, Panel,
    Bokeh, HoloViews, hvPlot, param or Tornado is the hooks registry's job alone."""
    offences = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "hooks" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text("utf-8"))
        upstream = _third_party_names(tree)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            elif isinstance(node, ast.Delete):
                targets = node.targets
            elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("setattr", "delattr"):
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Name) and first.id in upstream:
                    offences.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in upstream
                ):
                    offences.append(
                        f"{path.relative_to(PACKAGE.parent)}:{node.lineno} {target.value.id}.{target.attr}"
                    )
    assert offences == []


# Both kinds of server process: `lumen-ext serve` (Tornado) and a FastAPI application (`lumen_ext.fastapi`).
@pytest.mark.parametrize("profile", ["serve", "fastapi"])
def test_a_server_profile_installs_its_hooks_and_uninstall_restores_every_target(profile):
    facts = run_python(
        "import json\n"
        "from lumen_ext import hooks\n"
        "from lumen_ext.cache import CacheConfig\n"
        "from lumen_ext.hooks.hook import resolve_owner\n"
        "from lumen_ext.hooks.table import HOOKS\n"
        "def current():\n"
        "    out = {}\n"
        "    for h in HOOKS:\n"
        "        if h.kind != 'replace': continue\n"
        "        owner, attr = resolve_owner(h.target)\n"
        "        out[h.target] = id(vars(owner).get(attr, None))\n"
        "    return out\n"
        "import lumen.dashboard, lumen.sources.duckdb, lumen.auth, holoviews.operation.datashader, panel_material_ui\n"
        "before = current()\n"
        f"decisions = hooks.install({profile!r}, hooks.Settings(cache=CacheConfig(), public_url='http://127.0.0.1:1'))\n"
        "during = current()\n"
        "hooks.enable('views.datashader.aggregate')\n"
        "hooks.uninstall()\n"
        "after = current()\n"
        "import lumen.dashboard as d, lumen.config\n"
        "import importlib; c = importlib.import_module('lumen.config')\n"
        "print(json.dumps({'states': sorted({x.state for x in decisions}),\n"
        "  'changed': sorted(t for t in before if during[t] != before[t]),\n"
        "  'not_restored': sorted(t for t in before if after[t] != before[t]),\n"
        "  'rebound_restored': d.load_yaml is c.load_yaml, 'left': hooks.enabled()}))",
        timeout=180,
    )
    replaced = {h.target for h in HOOKS if h.kind == "replace" and not h.deferred and profile in h.profiles}
    assert facts["states"] == ["enable"]
    assert set(facts["changed"]) == replaced
    assert facts["not_restored"] == []
    assert facts["rebound_restored"] is True
    assert facts["left"] == []


def test_stacked_hooks_compose_in_table_order_whatever_the_enable_order():
    facts = run_python(
        "import json\n"
        "from lumen.views.base import hvPlotView\n"
        "from lumen_ext import hooks\n"
        "original = hvPlotView.__dict__['_get_params']\n"
        "hooks.enable('views.reshade'); hooks.enable('views.patching')\n"
        "outer = hvPlotView.__dict__['_get_params']\n"
        "inner = outer.__wrapped__\n"
        "hooks.disable('views.reshade')\n"
        "alone = hvPlotView.__dict__['_get_params']\n"
        "hooks.disable('views.patching')\n"
        "print(json.dumps({'outer': outer.__code__.co_name, 'inner': inner.__code__.co_qualname,\n"
        "  'alone': alone.__code__.co_qualname, 'restored': hvPlotView.__dict__['_get_params'] is original}))"
    )
    assert facts == {
        "outer": "get_params_reshading",
        "inner": "patching_get_params.<locals>._get_params",
        "alone": "patching_get_params.<locals>._get_params",
        "restored": True,
    }


def test_a_hook_outside_its_tested_range_is_skipped_with_what_requires_it():
    """Never half a chain: the cache's compute hook out of range takes the instant updates and Datashader's
    loader with it, each with one log line, and Lumen's own methods stay."""
    facts = run_python(
        "import dataclasses, json, logging, io\n"
        "stream = io.StringIO(); logging.basicConfig(stream=stream, level=logging.WARNING)\n"
        "from lumen_ext.hooks import table\n"
        "table.HOOKS = tuple(dataclasses.replace(h, upstream='lumen>=9,<10') if h.name == 'cache.compute' else h\n"
        "                    for h in table.HOOKS)\n"
        "from lumen.pipeline import Pipeline\n"
        "from lumen.views.base import hvPlotView\n"
        "before = (Pipeline.__dict__['_compute_data'], Pipeline.__dict__['_update_data'], hvPlotView.__dict__['get_plot'])\n"
        "from lumen_ext import hooks\n"
        "from lumen_ext.cache import CacheConfig\n"
        # The fault fences on the same two methods do not depend on the cache: leave them out to compare.
        "d = {x.hook.name: x for x in hooks.install('serve', hooks.Settings(cache=CacheConfig(),\n"
        "     without=('security.faults',)))}\n"
        "after = (Pipeline.__dict__['_compute_data'], Pipeline.__dict__['_update_data'], hvPlotView.__dict__['get_plot'])\n"
        "lines = [l for l in stream.getvalue().splitlines() if 'skipped' in l]\n"
        "print(json.dumps({'kept': after == before, 'compute': d['cache.compute'].reason,\n"
        "  'instant': d['cache.instant-updates'].state, 'datashader': d['views.datashader.load'].state,\n"
        "  'store': hooks.is_enabled('cache.store'), 'patching': hooks.is_enabled('views.patching.get-params'),\n"
        "  'logged': len(lines)}))"
    )
    assert facts["kept"] is True
    assert "outside the tested range" in facts["compute"]
    assert facts["instant"] == facts["datashader"] == "skipped"
    assert facts["store"] is True and facts["patching"] is True  # what does not depend on it stays
    assert facts["logged"] >= 3


def test_without_leaves_a_group_out_and_its_dependents():
    facts = run_python(
        "import json\n"
        "from lumen_ext import hooks\n"
        "from lumen_ext.cache import CacheConfig\n"
        "d = {x.hook.name: x.state for x in hooks.install('serve', hooks.Settings(cache=CacheConfig(),\n"
        "     without=('serving.busy.sync',)))}\n"
        "print(json.dumps({'sync': d['serving.busy.sync'], 'follow': d['serving.busy.follow'],\n"
        "  'add': d['serving.busy.add-event']}))"
    )
    assert facts == {"sync": "off", "follow": "skipped", "add": "enable"}
