"""Hardening must not break legitimate specs: the corpus passes the lint and builds under `harden()`.

The build uses the corpus' own harness (`tools/verify.py`, `build_worker`: every layout and tab loaded, every view
rendered, nothing logged at ERROR) in a fork of a Lumen process that has called `harden()` first.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
from support.paths import CORPUS, REPO

MANIFEST = json.loads((CORPUS / "manifest.json").read_text()) if CORPUS.is_dir() else {"specs": []}
# The offline gallery, plus one sample dashboard for the `../sources` case (the others read the same way).
BUILDABLE = [
    s
    for s in MANIFEST["specs"]
    if s["expect"]["builds"]
    and (s["kind"] == "offline" or s["id"].endswith(("/source_variable", "/source_nested_variable")))
]
EXAMPLE_SPECS = sorted((REPO / "specs").glob("*.yaml"))


@pytest.mark.parametrize("entry", MANIFEST["specs"], ids=[s["id"] for s in MANIFEST["specs"]])
def test_corpus_has_no_security_errors(entry):
    from lumen_ext.validation.security import check_file

    errors = [str(f) for f in check_file(CORPUS / entry["path"]) if f.issue.severity == "error"]
    assert errors == []


@pytest.mark.parametrize("spec", EXAMPLE_SPECS, ids=[s.stem for s in EXAMPLE_SPECS])
def test_example_specs_have_no_security_findings(spec):
    from lumen_ext.validation.security import check_file

    assert [str(f) for f in check_file(spec) if f.issue.severity == "error"] == []


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    return shutil.copytree(CORPUS, tmp_path / "corpus", ignore=shutil.ignore_patterns("cache", "__pycache__"))


@pytest.mark.slow
@pytest.mark.parametrize("entry", BUILDABLE, ids=[s["id"] for s in BUILDABLE])
def test_corpus_builds_hardened(entry, corpus_copy, lumen_fork, tmp_path):
    for module in entry["optional_deps"]:
        pytest.importorskip(module)
    spec = corpus_copy / entry["path"]
    server = None
    if "server" in entry:
        loader = importlib.util.spec_from_file_location("tfl_server", corpus_copy / entry["server"]["script"])
        tfl = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(tfl)
        server = tfl.serve_in_thread(port=0, root=spec.parent)
        port = server.server_address[1]
        spec.write_text(spec.read_text().replace("127.0.0.1:18765", f"127.0.0.1:{port}"))
    # The sample dashboards read `../sources/`, beside their folder: an operator would allow that directory.
    allowed = (corpus_copy / "upstream" / "sources",) if "sample_dashboard" in entry["path"] else ()
    cwd = spec.parent if entry["cwd"] == "spec_dir" else tmp_path
    script = f"""
import importlib.util, json
from pathlib import Path
from lumen_ext.security.policy import Policy
from lumen_ext.security.runtime import harden
harden(Policy(allowed_dirs=tuple(Path(p) for p in {[str(a) for a in allowed]!r})))
loader = importlib.util.spec_from_file_location("verify", {str(corpus_copy / "tools" / "verify.py")!r})
verify = importlib.util.module_from_spec(loader)
loader.loader.exec_module(verify)
print("RESULT", json.dumps(verify.build_worker({str(spec)!r}), default=str))
"""
    try:
        outcome = lumen_fork.run(script, cwd)
    finally:
        if server:
            server.shutdown()
            server.server_close()
    line = next((ln for ln in outcome.output.splitlines() if ln.startswith("RESULT ")), None)
    assert line is not None, outcome.output[-3000:]
    result = json.loads(line.removeprefix("RESULT "))
    assert result["ok"], result["errors"]
