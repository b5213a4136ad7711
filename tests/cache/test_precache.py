"""`lumen-ext precache` computes a spec's likely states into the shared tier; a serving process then hits them.

Both sides run in their own interpreter, as a precache job and a server would.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from support.sales import SALES_SPEC

CSV = "region,product,price\nEast,apples,1.5\nWest,pears,2.0\nEast,pears,3.0\nNorth,plums,1.0\n"

# A serving process: same cache tier, the pipeline built as the server builds it, one viewer's filter choice.
CONSUMER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    spec, cache_dir, region = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    os.chdir(spec.parent)
    from lumen_ext import hooks
    from lumen_ext.cache import CacheConfig, stats
    hooks.enable("cache", settings=hooks.Settings(cache=CacheConfig(disk_dir=cache_dir)))
    from lumen_ext.serving.precache import _load_pipelines
    pipeline = _load_pipelines(spec)["by_product"]
    pipeline.traverse("filters")[0].value = [region]
    pipeline._update_data(force=True)
    print(json.dumps({"data": pipeline.data.to_dict("records"), "disk": stats()["disk"]}))
    """
)


def write_spec(folder: Path, precache: str = "") -> Path:
    (folder / "sales.csv").write_text(CSV)
    spec = folder / "sales.yaml"
    # A `precache:` key goes at the end of the pipeline, just before `layouts:`.
    spec.write_text(SALES_SPEC.replace("layouts:", precache + "layouts:"))
    return spec


def lumen_ext(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lumen_ext", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def consume(spec: Path, cache_dir: Path, region: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", CONSUMER, str(spec), str(cache_dir), region],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def precached(tmp_path_factory):
    """One precache run, shared by the tests that consume it (each run is a Lumen process start)."""
    folder = tmp_path_factory.mktemp("precache")
    spec, cache_dir = write_spec(folder), folder / "cache"
    result = lumen_ext("precache", str(spec), "--cache-dir", str(cache_dir), cwd=folder)
    return spec, cache_dir, result


def test_precached_states_are_hits_in_another_process(precached):
    spec, cache_dir, result = precached
    assert result.returncode == 0, result.stderr
    # As loaded, then one state per region, the way a viewer picks one value.
    assert "by_product: 4 states" in result.stdout
    assert "computed 4 states" in result.stdout and "0 failed" in result.stdout

    served = consume(spec, cache_dir, "West")
    assert served["data"] == [{"price": 2.0}], "the precached result equals the computation"
    assert served["disk"]["misses"] == 0, served["disk"]
    assert served["disk"]["hits"] > 0


def test_a_state_not_precached_is_computed_and_correct(precached):
    spec, cache_dir, result = precached
    assert result.returncode == 0, result.stderr
    served = consume(spec, cache_dir, "South")
    assert served["data"] == []
    assert served["disk"]["misses"] > 0


def test_declared_precache_key_is_used_and_bounded(tmp_path):
    declared = "    precache:\n      filters:\n        region: [[East], [West], [North]]\n"
    spec = write_spec(tmp_path, declared)
    result = lumen_ext(
        "precache", str(spec), "--cache-dir", str(tmp_path / "c"), "--max-states", "2", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "by_product: 2 states (first 2; raise --max-states for more)" in result.stdout


@pytest.mark.parametrize("args", [[], ["--cache-dir", "c", "--redis-url", "redis://127.0.0.1:1"]])
def test_needs_exactly_one_shared_tier(tmp_path, args):
    spec = write_spec(tmp_path)
    result = lumen_ext("precache", str(spec), *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "--cache-dir" in result.stderr


def test_a_spec_with_variables_precaches(tmp_path):
    # `variables:` are built as Lumen's Dashboard builds them, and a transform reading one resolves it.
    spec = write_spec(tmp_path)
    variable = (
        "variables:\n  top:\n    type: widget\n    kind: IntSlider\n    value: 1\n    start: 1\n    end: 3\n"
    )
    text = spec.read_text().replace(
        "        method: sum\n", "        method: sum\n      - type: iloc\n        end: $variables.top\n"
    )
    spec.write_text(variable + text)
    result = lumen_ext("precache", str(spec), "--cache-dir", str(tmp_path / "c"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "by_product: 4 states" in result.stdout
    assert "computed 4 states" in result.stdout and "0 failed" in result.stdout
