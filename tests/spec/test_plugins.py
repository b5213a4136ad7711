"""Third-party components registered through the `lumen_ext.components` entry point reach check() and the schema."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PLUGIN_PKG = Path(__file__).with_name("plugin_pkg")


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """A site dir holding the plugin module and a real .dist-info, as `pip install` would leave it."""
    site = tmp_path_factory.mktemp("site")
    shutil.copy(PLUGIN_PKG / "lumen_ext_demo_plugin.py", site)
    dist = site / "lumen_ext_demo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: lumen-ext-demo-plugin\nVersion: 0.1\n")
    shutil.copy(PLUGIN_PKG / "entry_points.txt", dist / "entry_points.txt")
    (dist / "RECORD").write_text("")
    return site


def run_with_plugin(site: Path, code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env, timeout=120
    )


def test_plugin_component_is_checked(plugin_site):
    proc = run_with_plugin(
        plugin_site,
        """
        import json
        from lumen_ext.spec import check
        from lumen_ext.spec.catalog import catalog
        good = {"sources": {"api": {"type": "demo_api", "endpoint": "http://127.0.0.1", "timeout": 2}}}
        bad = {"sources": {"api": {"type": "demo_api", "endpont": "x", "timeout": -1}}}
        print(json.dumps({
            "plugins": catalog().plugins,
            "errors": catalog().plugin_errors,
            "good": [i.rule for i in check(good)],
            "bad": [[list(i.path), i.rule, i.message] for i in check(bad)],
        }))
        """,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["plugins"] == {"source:demo_api": "lumen-ext-demo-plugin:demo"}
    assert out["errors"] == []
    assert out["good"] == []
    assert out["bad"] == [
        [["sources", "api", "endpont"], "unknown-key", "DemoAPISource 'api' has no key 'endpont'"],
        [
            ["sources", "api", "timeout"],
            "invalid-value",
            "DemoAPISource 'api' key 'timeout' must be at least 0, got -1",
        ],
        [["sources", "api"], "missing-key", "DemoAPISource 'api' requires 'endpoint'"],
    ]


def test_plugin_component_is_in_the_schema(plugin_site):
    proc = run_with_plugin(
        plugin_site,
        """
        import json
        from lumen_ext.cli import main
        raise SystemExit(main(["schema"]))
        """,
    )
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert "DemoAPISourceSpec" in schema["$defs"]
    assert schema["$defs"]["DemoAPISourceSpec"]["properties"]["type"]["const"] == "demo_api"


def test_without_the_plugin_the_type_is_unknown():
    from lumen_ext.spec import check

    issues = check({"sources": {"api": {"type": "demo_api"}}})
    assert [i.rule for i in issues] == ["unknown-type"]
