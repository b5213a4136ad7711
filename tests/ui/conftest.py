"""Fixtures for the browser tests: one Chromium per test module, a watched page per test, spec servers.

Tests that need nothing but a default-configured server share one per xdist worker and front door
(``examples_server``: `lumen-ext serve specs/*.yaml`; ``lumen_examples_server``: `lumen serve specs/*.yaml`), each
reading only its own part of the server log (``served.app(stem)``). Tests that configure a server (faults, policies,
broken specs) start their own with ``serve``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PageWatch,
    lumen_serve_spec,
    lumen_serve_specs,
    serve_spec,
    serve_specs,
)
from support.paths import EXAMPLE_SPECS, REPO, TEST_OUTPUT


# Module scope, not session: while Playwright's sync API is open its asyncio loop counts as running in the
# worker's main thread, so a later test of another area on the same xdist worker could not call asyncio.run()
# or open Playwright itself ("Sync API inside the asyncio loop"). pytest closes a module's fixtures before it
# runs a test of another module.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: the README test command installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page_and_watch(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1300})
    page = context.new_page()
    page.set_default_timeout(60_000)
    watch = PageWatch()
    watch.attach(page)
    yield page, watch
    context.close()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    out = TEST_OUTPUT / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture
def serve(tmp_path):
    """``serve(spec, *args)``: a context manager serving ``spec`` with lumen-ext; logs go to tmp_path."""

    def _serve(spec: Path, *args: str):
        return serve_spec(spec, tmp_path, args)

    return _serve


@pytest.fixture
def lumen_serve(tmp_path):
    """``lumen_serve(spec, cwd, env=None)``: a context manager serving ``spec`` with Lumen's own command."""

    def _serve(spec: Path, cwd: Path, env: dict[str, str] | None = None):
        return lumen_serve_spec(spec, tmp_path, cwd, env)

    return _serve


@pytest.fixture(scope="session")
def examples_server(rides_10m, tmp_path_factory):
    """`lumen-ext serve specs/*.yaml`, once per worker: ``examples_server.app(stem)`` is one test's app."""
    with serve_specs(EXAMPLE_SPECS, tmp_path_factory.mktemp("examples-server")) as served:
        yield served


@pytest.fixture(scope="session")
def lumen_examples_server(rides_10m, tmp_path_factory):
    """Lumen's own `lumen serve specs/*.yaml` from the repository root, once per worker."""
    with lumen_serve_specs(EXAMPLE_SPECS, tmp_path_factory.mktemp("lumen-examples-server"), REPO) as served:
        yield served
