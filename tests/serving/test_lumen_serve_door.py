"""`lumen serve SPEC.yaml` runs with lumen-ext's runtime (`lumen_ext.serving.lumen_serve`), and only there.

The command-line reading and the public URL are pure functions, checked on tables. The rest runs Lumen's own
`lumen` script of this virtualenv on 127.0.0.1 and looks at what a viewer or an operator would see: the
runtime's start-up line, a repeated filter state answered by the stage cache (the server's ``/metrics``, which
only lumen-ext's routes serve), the page's asset links, and a spec's ``shell()`` refused before Lumen's own
loader could run it. ``LUMEN_EXT_RUNTIME=0`` gives Lumen's behaviour back on each of them. Browser checks of
every example spec are in ``tests/ui/test_lumen_serve.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from scale.helpers import metric_values, write_project
from support.probe import run_python

from lumen_ext.gate.launch import launch
from lumen_ext.serving.lumen_serve import RUNTIME_LINE
from lumen_ext.serving.lumen_serve_command import (
    ServeCommand,
    loopback_by_default,
    public_url_for,
    serve_command,
)
from lumen_ext.serving.lumen_serve_paths import with_absolute_paths
from lumen_ext.serving.ports import free_port

LUMEN = Path(sys.executable).with_name("lumen")
STARTUP_TIMEOUT = 120  # seconds: the door re-imports Lumen and Panel once; the machine is shared


# --- which processes the door opens in ---------------------------------------------------------------------------


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("a.yaml", "b.yml", "app.py", "data.csv", "setup.py", "index.html"):
        (tmp_path / name).write_text("")
    return tmp_path


SERVE_COMMANDS = [
    # (argv after the script, script, is a dashboard serve)
    (["serve", "a.yaml"], "/venv/bin/lumen", True),
    (["serve", "a.yaml", "b.yml", "--port", "0"], "/venv/bin/lumen", True),
    (["serve", "--port", "5007", "a.yaml"], "/venv/bin/lumen", True),
    (["serve", "a.yaml", "--setup", "setup.py", "--index", "index.html"], "/venv/bin/lumen-spec", True),
    (["serve", "a.yaml", "--args", "app.py"], "/venv/bin/lumen-ai", True),
    (["serve", "data.csv"], "/venv/bin/lumen", False),  # Lumen AI on a data file
    (["serve", "a.yaml", "app.py"], "/venv/bin/lumen", False),  # not all YAML: Lumen AI
    (["serve", "."], "/venv/bin/lumen", False),  # a folder app
    (["serve"], "/venv/bin/lumen", False),
    (["serve", "missing.yaml"], "/venv/bin/lumen", False),
    (["validate", "a.yaml"], "/venv/bin/lumen-spec", False),
    (["serve", "a.yaml"], "/venv/bin/lumen-ext", False),  # installs the "serve" profile itself
    (["serve", "a.yaml"], "/venv/bin/panel", False),
    (["-f", "kernel.json"], "/venv/lib/ipykernel_launcher.py", False),
]


@pytest.mark.parametrize(
    ("args", "script", "opens"),
    SERVE_COMMANDS,
    ids=[" ".join([Path(c[1]).name, *c[0]]) for c in SERVE_COMMANDS],
)
def test_the_door_opens_only_for_lumen_serving_specs(folder, monkeypatch, args, script, opens):
    monkeypatch.chdir(folder)
    command = serve_command([script, *args])
    assert (command is not None) is opens
    if opens:
        assert {p.name for p in command.specs} <= {"a.yaml", "b.yml"}


def test_python_m_lumen_counts_as_lumen(folder, monkeypatch):
    monkeypatch.chdir(folder)
    assert serve_command(["/x/lumen/command/ai.py", "serve", "a.yaml"], "lumen.command.ai") is not None
    assert serve_command(["/x/lumen/command/ai.py", "serve", "a.yaml"], None) is None


def _command(**changes) -> ServeCommand:
    base = {
        "specs": (Path("a.yaml"),),
        "port": 5006,
        "address": None,
        "prefix": "",
        "https": False,
        "origins": (),
        "unix_socket": False,
        "rest_provider": None,
        "log_level": None,
    }
    return ServeCommand(**{**base, **changes})


@pytest.mark.parametrize(
    ("changes", "environ", "url"),
    [
        ({}, {}, "http://localhost:5006"),
        ({"address": "0.0.0.0", "port": 8000}, {}, "http://localhost:8000"),
        ({"address": "127.0.0.1", "port": 8000, "prefix": "/dash"}, {}, "http://127.0.0.1:8000/dash"),
        ({"address": "::1"}, {}, "http://[::1]:5006"),
        ({"origins": ("dash.example.org",), "https": True}, {}, "https://dash.example.org"),
        ({"address": "127.0.0.1"}, {"LUMEN_EXT_PUBLIC_URL": "https://x.org/d/"}, "https://x.org/d"),
        ({"unix_socket": True}, {}, None),
        ({}, {"BOKEH_ALLOW_WS_ORIGIN": "*, dash.example.org:8080"}, "http://dash.example.org:8080"),
        ({"origins": ("*",), "address": "127.0.0.1"}, {}, "http://127.0.0.1:5006"),
    ],
)
def test_public_url(changes, environ, url):
    assert public_url_for(_command(**changes), environ) == url


@pytest.mark.parametrize(
    ("changes", "environ", "loopback"),
    [
        ({}, {}, True),  # Bokeh would bind every interface, yet accept pages from localhost only
        ({"address": "0.0.0.0"}, {}, False),
        ({"origins": ("dash.example.org",)}, {}, False),
        ({}, {"BOKEH_ALLOW_WS_ORIGIN": "dash.example.org"}, False),
        ({"unix_socket": True}, {}, False),
    ],
)
def test_loopback_unless_other_hosts_are_asked_for(changes, environ, loopback):
    assert loopback_by_default(_command(**changes), environ) is loopback


def test_command_line_options_are_read_in_both_spellings(folder, monkeypatch):
    monkeypatch.chdir(folder)
    command = serve_command(
        [
            "lumen",
            "serve",
            "a.yaml",
            "--port=7000",
            "--address",
            "127.0.0.1",
            "--prefix=dash/",
            "--log-level=debug",
        ]
    )
    assert (command.port, command.address, command.prefix, command.log_level) == (
        7000,
        "127.0.0.1",
        "/dash",
        "debug",
    )


def test_paths_typed_for_the_start_folder_keep_naming_the_same_files(folder):
    """The server moves to the spec's folder; paths on its command line are made absolute before."""
    (folder / "assets").mkdir()
    (folder / "info").write_text("")  # a file named like a --log-level value: not a path option, kept
    tokens = [
        "a.yaml",
        "--setup",
        "setup.py",
        "--static-dirs",
        "x=assets",
        "y=missing",
        "--log-level",
        "info",
    ]
    tokens += ["--index=index.html", "--port", "5006", "--args", "app.py"]
    absolute = with_absolute_paths(tokens, (folder / "a.yaml",), folder)
    assert absolute == [
        str(folder / "a.yaml"),
        "--setup",
        str(folder / "setup.py"),
        "--static-dirs",
        f"x={folder / 'assets'}",
        "y=missing",
        "--log-level",
        "info",
        f"--index={folder / 'index.html'}",
        "--port",
        "5006",
        "--args",
        "app.py",
    ]


def test_importing_panel_installs_nothing():
    """A notebook or script importing Panel (even its server and CLI modules) gets no lumen-ext runtime."""
    facts = run_python(
        "import json, os, sys, warnings\n"
        "warnings.simplefilter('ignore')\n"
        "import panel as pn\n"
        "on_import = 'lumen_ext.serving.lumen_serve' in sys.modules\n"
        "pn.extension()\n"
        "import panel.command.serve  # loads the panel.io.rest plugins, the door among them\n"
        "from lumen_ext.serving import lumen_serve\n"
        "print(json.dumps({'loaded_by_import_panel': on_import, 'active': lumen_serve.is_active(),\n"
        "    'hooks_imported': 'lumen_ext.hooks' in sys.modules,\n"
        "    'guards_imported': 'lumen_ext.security.runtime' in sys.modules,\n"
        "    'cdn_root': os.environ.get('PANEL_CDN_ROOT'),\n"
        "    'cdn_dist': panel.io.resources.CDN_DIST.startswith('https://cdn.holoviz.org/')}))"
    )
    assert facts == {
        "loaded_by_import_panel": False,
        "active": False,
        "hooks_imported": False,
        "guards_imported": False,
        "cdn_root": None,
        "cdn_dist": True,
    }


def test_lumen_ext_serve_processes_leave_the_door_shut():
    """`lumen-ext serve` imports Panel's server modules too; it installs its own profile, the door stays out."""
    facts = run_python(
        "import json, sys\n"
        "sys.argv = ['/venv/bin/lumen-ext', 'serve', 'specs/earthquakes.yaml']\n"
        "import panel.command.serve\n"
        "from lumen_ext.serving import lumen_serve\n"
        "print(json.dumps([lumen_serve.is_active(), 'lumen_ext.hooks' in sys.modules]))"
    )
    assert facts == [False, False]


# --- a real `lumen serve` ----------------------------------------------------------------------------------------


@dataclass
class Lumen:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url + path, timeout=30) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")


@contextlib.contextmanager
def lumen_serve(
    spec: Path,
    env: dict[str, str] | None = None,
    wait: bool = True,
    cwd: Path | None = None,
    on_loopback: bool = True,
    relative_script: bool = False,
) -> Iterator[Lumen]:
    """``lumen serve SPEC`` from ``cwd`` (the spec's folder) on a free port, until the block exits.

    ``on_loopback=False`` types neither ``--address`` nor ``--allow-websocket-origin``, as an analyst would;
    ``relative_script=True`` names the ``lumen`` script by a path relative to ``cwd`` (``.venv/bin/lumen``).
    """
    port = free_port()
    cwd = cwd or spec.parent
    log_path = cwd / f"{spec.stem}-{port}.log"
    script = os.path.relpath(LUMEN, cwd) if relative_script else str(LUMEN)
    command = [script, "serve", os.path.relpath(spec, cwd), "--port", str(port)]
    if on_loopback:
        command += ["--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"]
    ready = "Bokeh app running at" if wait else None
    with launch(
        command,
        ready,
        log_path,
        cwd=cwd,
        timeout=STARTUP_TIMEOUT,
        env={"PYTHONWARNINGS": "ignore", **(env or {})},
    ) as process:
        yield Lumen(f"http://127.0.0.1:{port}", process, log_path)


def _memory_tier(served: Lumen) -> tuple[float, ...]:
    """The stage cache's (hits, misses) in memory so far, from the server's ``/metrics``."""
    status, text = served.get("/metrics")
    assert status == 200, text[:500]
    return tuple(
        sum(
            v
            for labels, v in metric_values(text, f"lumen_ext_cache_{stat}_total").items()
            if "memory" in labels
        )
        for stat in ("hits", "misses")
    )


def _choose_three_times(served: Lumen) -> list[tuple[float, ...]]:
    """East, West, then East again in one session; the memory tier's (hits, misses) after each answer."""
    from support.bokeh_client import Session

    async def run() -> list[tuple[float, ...]]:
        session = Session(served.url, "sales")
        await session.open(90)
        hits = []
        try:
            for region in ("East", "West", "East"):
                await session.choose([region], 60)
                await session.drain(0.3)
                hits.append(_memory_tier(served))
        finally:
            session.close()
            await asyncio.sleep(0.3)
        return hits

    return asyncio.run(run())


@pytest.mark.slow
def test_lumen_serve_runs_the_runtime(tmp_path):
    """Start-up line, local assets in the page, lumen-ext's routes, and a repeated state from the stage cache."""
    spec = write_project(tmp_path)["sales"]
    with lumen_serve(spec) as served:
        assert RUNTIME_LINE in served.log()
        status, page = served.get("/sales")
        assert status == 200
        for host in ("fonts.googleapis.com", "cdn.holoviz.org", "cdn.jsdelivr.net"):
            assert host not in page, f"the page links {host}"
        assert f"{served.url}/lumen-ext/" in page  # Panel's CDN root and the vendored fonts: this server
        assert served.get("/lumen-ext/fonts/roboto.css")[0] == 200
        assert served.get("/healthz") == (200, "ok\n")
        east, west, east_again = _choose_three_times(served)
        assert west[1] > east[1], f"a new state is computed: (hits, misses) {east} then {west}"
        assert east_again[1] == west[1] and east_again[0] > west[0], (
            f"the repeated state was computed again: (hits, misses) {west} then {east_again}"
        )
        assert "Traceback" not in served.log(), served.log()[-3000:]


@pytest.mark.slow
def test_lumen_serve_binds_loopback_unless_told(tmp_path):
    """`lumen serve SPEC` with no address: 127.0.0.1, as `lumen-ext serve` (Bokeh alone: every interface)."""
    spec = write_project(tmp_path)["sales"]
    with lumen_serve(spec, on_loopback=False) as served:
        port = served.url.rsplit(":", 1)[1]
        assert f"Bokeh app running at: http://127.0.0.1:{port}/sales" in served.log(), served.log()[-2000:]
        assert served.get("/healthz")[0] == 200


@pytest.mark.slow
def test_an_unusable_policy_stops_the_server(tmp_path):
    """``LUMEN_EXT_POLICY`` is read before anything is served, like ``lumen-ext serve --policy``."""
    spec = write_project(tmp_path)["sales"]
    with lumen_serve(spec, env={"LUMEN_EXT_POLICY": str(tmp_path / "missing.toml")}, wait=False) as served:
        assert served.process.wait(timeout=STARTUP_TIMEOUT) == 2
        assert "lumen serve: error:" in served.log() and "missing.toml" in served.log(), served.log()[-2000:]


@pytest.mark.slow
def test_opting_out_gives_vanilla_lumen(tmp_path):
    spec = write_project(tmp_path)["sales"]
    with lumen_serve(spec, env={"LUMEN_EXT_RUNTIME": "0"}) as served:
        status, page = served.get("/sales")
        assert status == 200
        assert "fonts.googleapis.com" in page  # Lumen's Material template, unchanged
        assert served.get("/healthz")[0] == 404  # no lumen-ext routes
        assert served.get("/metrics")[0] == 404
        assert RUNTIME_LINE not in served.log()


# DuckDB reads `sales.csv` relative to the working directory (LUMEN-NOTES §6.2 #17).
DUCKDB_SPEC = """\
sources:
  sales:
    type: duckdb
    uri: ":memory:"
    tables:
      sales: "SELECT * FROM read_csv_auto('sales.csv')"
pipelines:
  by_region:
    source: sales
    table: sales
    filters:
      - type: widget
        field: region
layouts:
  - title: Sales
    pipeline: by_region
    views:
      - type: table
"""


@pytest.mark.slow
def test_duckdb_paths_resolve_against_the_spec_folder(tmp_path):
    """Started from another folder, the spec's relative DuckDB path still finds its file, as under lumen-ext serve.

    The script is named relatively too: the server re-executes it from the spec's folder.
    """
    from support.bokeh_client import Session

    project = tmp_path / "project"
    write_project(project)
    spec = project / "duck.yaml"
    spec.write_text(DUCKDB_SPEC)

    async def open_session(url: str) -> None:
        session = Session(url, "duck")
        try:
            await session.open(90)  # returns once the table holds data
        finally:
            session.close()
            await asyncio.sleep(0.3)

    with lumen_serve(spec, cwd=tmp_path, relative_script=True) as served:
        asyncio.run(open_session(served.url))
        assert "Traceback" not in served.log(), served.log()[-3000:]


SHELL_SPEC = """\
# {{ shell('touch ran-shell') }}
sources:
  sales:
    type: file
    tables:
      sales: sales.csv
layouts:
  - title: Sales
    source: sales
    views:
      - type: table
        table: sales
"""


@pytest.mark.slow
@pytest.mark.parametrize("runtime", ["1", "0"], ids=["door", "opted-out"])
def test_shell_in_a_spec_is_refused_before_lumen_reads_it(tmp_path, runtime):
    """S2: Lumen's YamlHandler renders the spec's Jinja when the server starts; the guards are in place by then."""
    write_project(tmp_path)
    spec = tmp_path / "shell.yaml"
    spec.write_text(SHELL_SPEC)
    marker = tmp_path / "ran-shell"
    with lumen_serve(spec, env={"LUMEN_EXT_RUNTIME": runtime}, wait=False) as served:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while served.process.poll() is None and "Bokeh app running at" not in served.log():
            assert time.monotonic() < deadline, served.log()[-3000:]
            time.sleep(0.2)
        if runtime == "0":
            assert marker.exists(), "vanilla Lumen runs shell() at start-up (LUMEN-NOTES S2)"
        else:
            assert served.process.wait(timeout=30) != 0
            assert not marker.exists()
            assert "never runs shell commands" in served.log()
            assert "error[jinja-code-execution]" in served.log()  # the diagnostics, on the terminal


def test_the_upstream_code_the_door_relies_on():
    """What Panel and Lumen do that makes the door work; an upgrade that changes it fails here, by name."""
    facts = run_python(
        "import inspect, json, re\n"
        "import lumen.command, panel.command.serve as serve, panel.io.rest as rest, panel.io.resources as res\n"
        "lumen_src = inspect.getsource(lumen.command)\n"
        "serve_src = inspect.getsource(serve)\n"
        "print(json.dumps({\n"
        # Panel imports (loads) every panel.io.rest plugin when panel.io.rest is imported ...
        "  'rest_loads_plugins': \"entry_points_for('panel.io.rest')\" in inspect.getsource(rest)\n"
        "      and 'entry_point.load()' in inspect.getsource(rest),\n"
        # ... which panel/command/serve.py does at its top, and it calls the chosen provider with the files ...
        "  'serve_imports_rest': 'from ..io.rest import REST_PROVIDERS' in serve_src,\n"
        "  'provider_called': 'REST_PROVIDERS[args.rest_provider](files, args.rest_endpoint)' in serve_src,\n"
        # ... Lumen's command module imports panel.command before it binds load_yaml (the guards rebind it) ...
        "  'lumen_order': lumen_src.index('from panel.command import') < lumen_src.index('load_yaml'),\n"
        # ... and Panel's CDN root is read once, at import (hence the re-execution).
        "  'cdn_at_import': bool(re.search(r'^CDN_ROOT = config.cdn_root$', inspect.getsource(res), re.M)),\n"
        "}))"
    )
    assert facts == {
        "rest_loads_plugins": True,
        "serve_imports_rest": True,
        "provider_called": True,
        "lumen_order": True,
        "cdn_at_import": True,
    }, "Panel or Lumen changed what lumen_ext/serving/lumen_serve.py relies on: review its docstring"


def test_entry_point_is_registered():
    """The door is a plugin of Panel's REST-provider group (pip install -e . registers it)."""
    from importlib.metadata import entry_points

    (door,) = [e for e in entry_points(group="panel.io.rest") if e.name == "lumen-ext"]
    assert door.value == "lumen_ext.serving.lumen_serve:rest_provider"
