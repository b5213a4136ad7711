"""The example FastAPI application of ``docs/examples/fastapi_app.py``, started with a real Uvicorn on 127.0.0.1.

Both the HTTP tests (``tests/fastapi``) and the browser test (``tests/ui/test_fastapi_ui.py``) use it, started the
way its docstring tells users to, from the repository root. Its demo login is a ``session`` cookie: ``alice-token``
opens both dashboards, ``bob-token`` only penguins. :class:`ExampleApp` is also the handle of the hand-built Bokeh
server example (``support/tornado_example.py``).
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urljoin

import pytest
from scale.helpers import metric_values

from lumen_ext.gate.launch import ServerDidNotStart, launch
from lumen_ext.serving.ports import free_port
from support.browser import SERVER_FAULT, SERVER_START_TIMEOUT
from support.paths import REPO

APP = "docs.examples.fastapi_app:app"
READY = "Application startup complete."
ALICE, BOB = "alice-token", "bob-token"
REQUEST_TIMEOUT = 60  # seconds for one HTTP answer: a first data request builds the pipeline
LINKED = re.compile(r'(?:src|href)="([^"]+)"')  # the scripts, stylesheets and icons a page links


@dataclass
class ExampleApp:
    url: str  # http://127.0.0.1:PORT
    port: int
    log_path: Path
    login_cookie: str = "session"  # the cookie the application's auth dependency reads
    process: subprocess.Popen | None = None

    def get(self, path: str, token: str | None = None, origin: str | None = None) -> tuple[int, dict, bytes]:
        """(status, headers, body) of a GET, logged in as ``token``'s user (None: not logged in)."""
        request = urllib.request.Request(self.url + path)
        if token is not None:
            request.add_header("Cookie", f"{self.login_cookie}={token}")
        if origin is not None:
            request.add_header("Origin", origin)
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def linked_files_not_served_here(self, path: str, under: str, token: str | None = None) -> list[str]:
        """Fetch the page at ``path``; every file it links that is not under ``{url}{under}`` or does not answer 200
        (an empty list: the page loads nothing from elsewhere). Fails when the page links fewer than ten files."""
        status, _, body = self.get(path, token)
        assert status == 200, f"{path}: {status}"
        links = {urljoin(self.url + path, url) for url in LINKED.findall(body.decode())}
        assert len(links) > 10, sorted(links)
        return [
            link
            for link in sorted(links)
            if not link.startswith(self.url + under) or self.get(link.removeprefix(self.url), token)[0] != 200
        ]

    def memory_hits(self, metrics_path: str, token: str | None = None) -> float:
        """Stage-cache hits of the memory tier so far, from ``/metrics``."""
        status, _, body = self.get(metrics_path, token)
        assert status == 200, f"{metrics_path}: {status}"
        hits = metric_values(body.decode(), "lumen_ext_cache_hits_total")
        return next((v for k, v in hits.items() if 'tier="memory"' in k), 0.0)

    def check_dashboard_in_browser(
        self,
        page,
        watch,
        path: str,
        metrics_path: str,
        label: str,
        screenshots: Path,
        token: str | None = None,
    ) -> None:
        """Open the dashboard at ``path`` in ``page``: it renders with a clean console and log, a filter change
        updates a view, and putting the filter back (a state seen before) is a stage-cache hit in ``/metrics``.
        Screenshots ``{label}-{name}.png`` and ``...-filtered.png`` go to ``screenshots``."""
        from support.browser import dump
        from support.dashboard_page import change_a_filter, check_current_view, wait_rendered

        name = path.rsplit("/", 1)[-1]
        page.goto(self.url + path)
        wait_rendered(page)
        check_current_view(page, name)
        page.screenshot(path=str(screenshots / f"{label}-{name}.png"))
        hits = self.memory_hits(metrics_path, token)
        change_a_filter(page, f"{label} {name}", screenshots / f"{label}-{name}-filtered.png")
        # change_a_filter put the widget back: the views' first filter state again, served from the stage cache.
        assert self.memory_hits(metrics_path, token) > hits
        assert not watch.problems(), f"{name}: the browser saw problems:\n{dump(watch.problems())}"
        assert not self.faults(), "\n".join(self.log().splitlines()[-60:])

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def faults(self) -> list[str]:
        return [line for line in self.log().splitlines() if SERVER_FAULT.search(line)]


@contextlib.contextmanager
def serve_example(
    log_dir: Path,
    app: str = APP,
    app_dir: Path = REPO,
    env: dict[str, str] | None = None,
    extra_args: tuple[str, ...] = (),
) -> Iterator[ExampleApp]:
    """``uvicorn docs.examples.fastapi_app:app --host 127.0.0.1 --port PORT`` from the repository root until the
    block exits (``app``, ``app_dir``: another application; ``env``: added to its environment; ``extra_args``:
    more Uvicorn options, e.g. ``--workers``)."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--app-dir", str(app_dir), "--host", "127.0.0.1"]
    command += ["--port", str(port), *extra_args]
    env = {
        # The public URL the example defaults to names port 8000; this one listens elsewhere.
        "LUMEN_EXT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LUMEN_EXT_TILE_CACHE": str(log_dir / "tiles"),
        **(env or {}),
    }
    log_path = log_dir / f"{app.partition(':')[0].rsplit('.', 1)[-1]}.log"
    try:
        with launch(command, READY, log_path, cwd=REPO, timeout=SERVER_START_TIMEOUT, env=env) as process:
            yield ExampleApp(f"http://127.0.0.1:{port}", port, log_path, process=process)
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


PRIVATE_APP = "fastapi_private_app:app"  # tests/support/fastapi_private_app.py


def private_spec(folder: Path) -> Path:
    """specs/penguins.yaml with ``auth: {email: alice@example.com}``, its data beside it, in ``folder``."""
    import shutil

    shutil.copy(REPO / "sources" / "penguins.parquet", folder / "penguins.parquet")
    text = (REPO / "specs" / "penguins.yaml").read_text()
    text = text.replace("../sources/penguins.parquet", "penguins.parquet")
    spec = folder / "private.yaml"
    spec.write_text("auth:\n  email: alice@example.com\n\n" + text)
    return spec


@contextlib.contextmanager
def serve_private(log_dir: Path) -> Iterator[ExampleApp]:
    """The application of ``fastapi_private_app.py`` mounting :func:`private_spec` at ``/private/private``."""
    spec = private_spec(log_dir)
    support = Path(__file__).parent
    with serve_example(log_dir, PRIVATE_APP, support, {"PRIVATE_SPEC": str(spec)}) as served:
        yield replace(served, login_cookie="user")
