"""Serving a spec and watching a real Chromium use it: what a user would notice going wrong.

Each test serves a spec with `lumen-ext serve` in its own process (Lumen keeps global state, so one dashboard per
process, as in production), opens it in Debian's Chromium through Playwright and records every console error,
uncaught page error and request to a host other than 127.0.0.1 (`lumen_ext.gate.browser.PageWatch`, what
`lumen-ext test` watches too).
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lumen_ext.gate.browser import CHROMIUM_ARGS, PageWatch
from lumen_ext.gate.launch import ServerDidNotStart, launch
from lumen_ext.gate.page import dump
from lumen_ext.gate.server import SERVER_FAULT, SERVER_START_TIMEOUT, ServedApps
from lumen_ext.serving.ports import free_port

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "SERVER_FAULT",
    "SERVER_START_TIMEOUT",
    "PageWatch",
    "ServedSpec",
    "copy_tree",
    "dump",
    "lumen_serve_spec",
    "lumen_serve_specs",
    "serve_spec",
    "serve_specs",
]

CHROMIUM = "/usr/bin/chromium"


@dataclass
class ServedSpec(ServedApps):
    """`lumen-ext test`'s view of a running server, for tests: ``app(stem)`` of a server that exited fails the
    test with its log."""

    def app(self, stem: str) -> ServedSpec:
        """The app ``/stem`` of this server, its log read from now on: one test's view of a shared server."""
        if self.exited():
            pytest.fail(f"the shared server exited with {self.process.returncode}:\n{self.log()[-3000:]}")
        return super().app(stem)


@contextlib.contextmanager
def serve_spec(spec: Path, log_dir: Path, extra_args: tuple[str, ...] = ()) -> Iterator[ServedSpec]:
    """Run `lumen-ext serve SPEC` on a free loopback port until the block exits."""
    port = free_port()
    command = [sys.executable, "-m", "lumen_ext", "serve", str(spec), "--port", str(port), *extra_args]
    with _server(command, spec, port, log_dir, cwd=log_dir, ready="lumen-ext: serving") as served:
        yield served


@contextlib.contextmanager
def lumen_serve_spec(
    spec: Path, log_dir: Path, cwd: Path, env: dict[str, str] | None = None, extra_args: tuple[str, ...] = ()
) -> Iterator[ServedSpec]:
    """Run Lumen's own `lumen serve SPEC` on a free loopback port.

    With lumen-ext installed it runs lumen-ext's runtime (`lumen_ext/serving/lumen_serve.py`) unless ``env``
    sets ``LUMEN_EXT_RUNTIME=0``.
    """
    with lumen_serve_specs([spec], log_dir, cwd, env, extra_args) as served:
        yield served


@contextlib.contextmanager
def serve_specs(specs: list[Path], log_dir: Path) -> Iterator[ServedSpec]:
    """One `lumen-ext serve SPEC...` for several specs of one folder; ``served.app(stem)`` gives each app."""
    port = free_port()
    command = [sys.executable, "-m", "lumen_ext", "serve", *map(str, specs), "--port", str(port)]
    # Every app prints its line once the server listens: wait for the last one.
    ready = f"lumen-ext: serving {specs[-1].stem} at"
    with _server(command, specs[0], port, log_dir, cwd=log_dir, ready=ready) as served:
        yield served


@contextlib.contextmanager
def lumen_serve_specs(
    specs: list[Path],
    log_dir: Path,
    cwd: Path,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[ServedSpec]:
    """`lumen serve SPEC...` on a free loopback port (as :func:`lumen_serve_spec`); ``served.app(stem)`` gives each
    app."""
    port = free_port()
    lumen = Path(sys.executable).with_name("lumen")
    command = [str(lumen), "serve", *map(str, specs), "--port", str(port), "--address", "127.0.0.1"]
    command += ["--allow-websocket-origin", f"127.0.0.1:{port}", *extra_args]
    with _server(command, specs[0], port, log_dir, cwd=cwd, ready="Bokeh app running at", env=env) as served:
        yield served


@contextlib.contextmanager
def _server(
    command: list[str],
    spec: Path,
    port: int,
    log_dir: Path,
    cwd: Path,
    ready: str,
    env: dict[str, str] | None = None,
) -> Iterator[ServedSpec]:
    log_path = log_dir / f"{spec.stem}-server.log"
    # A tile cache per test: tiles fetched (or not) by one test must not hide what another sees.
    env = {"LUMEN_EXT_TILE_CACHE": str(log_dir / "tiles"), **(env or {})}
    try:
        with launch(command, ready, log_path, cwd=cwd, timeout=SERVER_START_TIMEOUT, env=env) as process:
            yield ServedSpec(f"http://127.0.0.1:{port}", log_path, process, stem=spec.stem)
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


def copy_tree(src: Path, dst: Path) -> Path:
    """Copy a spec folder into ``dst`` (which may hold other files), leaving out caches Lumen writes next to specs
    (a stale one hides changes)."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("cache", "__pycache__"), dirs_exist_ok=True)
    return dst
