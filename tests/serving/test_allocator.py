"""`lumen_ext.serving.allocator`: `lumen-ext serve` re-executes itself on glibc's malloc, unless told otherwise.

The decision is a pure function, checked case by case; the re-exec itself runs in a fresh interpreter started on
a small script, which reports the allocator it ended up on (``sys.getallocatedblocks()`` is 0 without pymalloc)
and its process id. `tests/scale/test_cross_process.py` checks a real `lumen-ext serve --num-procs 2`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lumen_ext.serving import allocator
from lumen_ext.serving.memory_release import _malloc_trim

NEEDS_GLIBC = pytest.mark.skipif(_malloc_trim is None, reason="no glibc malloc_trim: serve never re-executes")

USUAL = {"pymalloc": True, "reads_environment": True, "can_trim": True}


@pytest.mark.parametrize(
    ("choice", "environ", "conditions", "expected"),
    [
        ("malloc", {"HOME": "/h"}, USUAL, {"HOME": "/h", "PYTHONMALLOC": "malloc"}),
        ("malloc", {"PYTHONMALLOC": ""}, USUAL, {"PYTHONMALLOC": "malloc"}),
        ("pymalloc", {}, USUAL, None),
        ("malloc", {"PYTHONMALLOC": "pymalloc"}, USUAL, None),
        ("malloc", {"PYTHONMALLOC": "debug"}, USUAL, None),
        ("malloc", {}, {**USUAL, "can_trim": False}, None),
        ("malloc", {}, {**USUAL, "pymalloc": False}, None),
        ("malloc", {}, {**USUAL, "reads_environment": False}, None),
    ],
    ids=[
        "default",
        "empty-value-is-unset",
        "opt-out-flag",
        "operator-chose-pymalloc",
        "operator-chose-debug",
        "no-malloc-trim",
        "already-off-pymalloc",
        "python-E-ignores-env",
    ],
)
def test_when_serve_reexecutes(choice, environ, conditions, expected):
    assert allocator.malloc_environment(choice, environ, **conditions) == expected


def test_a_caller_running_the_cli_in_process_is_never_replaced():
    # pytest is this process's main program: re-executing its command line would not run lumen-ext.
    assert allocator.own_command_line() is None
    allocator.reexec_for_malloc("malloc", None)  # returns: nothing to re-execute


# A launcher that decides for its own command line, as bench/memory_probe.py does.
SCRIPT = """
import json, os, sys
from lumen_ext.serving import allocator
allocator.reexec_for_malloc(sys.argv[1], [sys.executable, *sys.orig_argv[1:]])
print(json.dumps({"blocks": sys.getallocatedblocks(), "env": os.environ.get("PYTHONMALLOC"), "pid": os.getpid(),
                  "argv": sys.argv[1:]}))
"""


def _launch(tmp_path: Path, choice: str, **env: str) -> tuple[dict, int]:
    script = tmp_path / "launcher.py"
    script.write_text(SCRIPT)
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONMALLOC"} | env
    proc = subprocess.Popen(
        [sys.executable, str(script), choice], stdout=subprocess.PIPE, text=True, env=environ
    )
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return json.loads(out.strip().splitlines()[-1]), proc.pid


@NEEDS_GLIBC
def test_reexec_runs_the_same_command_on_malloc_in_the_same_process(tmp_path):
    report, pid = _launch(tmp_path, "malloc")
    assert report == {"blocks": 0, "env": "malloc", "pid": pid, "argv": ["malloc"]}


@NEEDS_GLIBC
@pytest.mark.parametrize(("choice", "env"), [("pymalloc", {}), ("malloc", {"PYTHONMALLOC": "pymalloc"})])
def test_opting_out_keeps_pymalloc(tmp_path, choice, env):
    report, _ = _launch(tmp_path, choice, **env)
    assert report["blocks"] > 0 and report["env"] == env.get("PYTHONMALLOC")


def test_serve_offers_the_opt_out():
    result = subprocess.run(
        [sys.executable, "-m", "lumen_ext", "serve", "--help"], capture_output=True, text=True, timeout=60
    )
    assert "--allocator {malloc,pymalloc}" in result.stdout
