"""The hand-built Bokeh server of ``docs/examples/tornado_app.py``, started as its docstring tells users to: from the
repository root, on a free port of 127.0.0.1. The HTTP tests (``tests/tornado``) and the browser test
(``tests/ui/test_tornado_ui.py``) each share one per module."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lumen_ext.gate.launch import ServerDidNotStart, launch
from lumen_ext.serving.ports import free_port
from support.browser import SERVER_START_TIMEOUT
from support.fastapi_example import ExampleApp
from support.paths import REPO

EXAMPLE = REPO / "docs" / "examples" / "tornado_app.py"
READY = "tornado_app: serving"
DASHBOARDS = ["penguins", "stocks"]


@contextlib.contextmanager
def serve_tornado_example(log_dir: Path) -> Iterator[ExampleApp]:
    """``python docs/examples/tornado_app.py --port PORT`` until the block exits."""
    port = free_port()
    command = [sys.executable, str(EXAMPLE), "--port", str(port)]
    # A tile cache per server, as support.browser gives every served spec; the public URL the example would pick.
    env = {"LUMEN_EXT_TILE_CACHE": str(log_dir / "tiles"), "LUMEN_EXT_PUBLIC_URL": f"http://127.0.0.1:{port}"}
    log_path = log_dir / "tornado_app.log"
    try:
        with launch(command, READY, log_path, cwd=REPO, timeout=SERVER_START_TIMEOUT, env=env) as process:
            yield ExampleApp(f"http://127.0.0.1:{port}", port, log_path, process=process)
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))
