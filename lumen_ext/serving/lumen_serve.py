"""The second front door: Lumen's own ``lumen serve SPEC.yaml`` runs with lumen-ext's runtime.

Mechanism: Panel's ``panel.io.rest`` entry-point group
---------------------------------------------------------
lumen-ext registers ``lumen-ext = lumen_ext.serving.lumen_serve:rest_provider`` in the ``panel.io.rest``
group (pyproject.toml). Panel *imports* every plugin of that group when ``panel.io.rest`` is first imported
(``panel/io/rest.py``, the loop after ``REST_PROVIDERS``), and ``panel/command/serve.py`` imports it at its
top. Lumen's three scripts (``lumen``, ``lumen-ai``, ``lumen-spec``) import ``panel.command`` while their own
modules load, so this module is imported in every ``lumen serve`` process:

* **early enough**: before ``main()`` parses the command line, hence before Bokeh's ``Serve.invoke`` builds the
  applications. That is where Lumen's ``YamlHandler`` reads the spec for the first time (Jinja, then PyYAML)
  and applies its ``defaults:``; the hooks (the security guards included) are installed before that read.
  The alternatives run later: a ``panel.extension`` entry point only when something calls ``pn.extension()``
  (inside the first session, after the spec was loaded), ``--setup`` only when the analyst types it, and after
  the applications were built; a Lumen component type only when a spec names it.
* **in which process**: only in a ``lumen``/``lumen-ai``/``lumen-spec`` process whose command is ``serve`` of
  YAML specs (:func:`serve_command`). ``import panel`` does not import ``panel.io.rest``; a notebook, ``panel
  serve app.py``, ``lumen-ext validate`` or ``lumen-ext serve`` (which installs the profile "serve" itself)
  may import this module, and it then does nothing. ``LUMEN_EXT_RUNTIME=0`` turns it off everywhere.

The plugin is a real REST provider (:func:`rest_provider` returns lumen-ext's routes); that Panel imports it
at the start of every server is the earliest moment Panel offers a plugin, and no ``.pth`` file or
``sitecustomize`` is involved, so no other Python process is touched.

Panel's CDN and npm roots are import-time constants (``panel/io/resources.py`` reads ``PANEL_CDN_ROOT``
once), and Panel is imported before any plugin can run. So the door acts in two steps, both within the
one process id:

1. the process Lumen started (Panel loaded with its internet CDN roots) replaces itself (``os.execve``) by the
   same command with the environment ``lumen-ext serve`` sets before importing Panel (the CDN roots pointed at
   this server, Bokeh's resources from the server, ``PYTHONMALLOC=malloc`` unless set), in the spec's folder
   (DuckDB resolves relative paths against the working directory; paths on the command line are made
   absolute first), with ``--rest-provider lumen-ext`` (Panel's public option for a plugin's routes) and,
   when nothing asks for other hosts, ``--address 127.0.0.1`` inserted after ``serve``. That costs one more
   import of Lumen and Panel at start-up (about 2.5 s here), nothing per session;
2. the re-executed process, seeing :data:`_STAGE`, installs ``hooks.install("lumen-serve", ...)`` and prints the
   spec's diagnostics; later Panel calls :func:`rest_provider` for the routes (Panel's bundled files and the
   vendored fonts, the tile proxy, ``/healthz``, ``/readyz``, ``/metrics``, ``/data``) and the start-up heap
   is frozen.

Under ``--autoreload`` (or ``--dev``) Panel's watcher reloads the pages of a changed spec, and lumen-ext's
(:mod:`lumen_ext.serving.reload`) also watches the spec's data files, the ``*.py`` beside it and the policy file,
and forgets what Lumen kept from them; a spec saved with errors then gets lumen-ext's diagnostics page through one
hook on Lumen's ``YamlHandler`` (:mod:`lumen_ext.serving.lumen_serve_pages`).

What it cannot reach (README, "lumen-ext serve versus lumen serve"): Lumen's own ``YamlHandler`` builds each
session, so without ``--autoreload`` a spec with errors still gets Lumen's blank page (the diagnostics go to the
terminal only), and a spec the guards refuse to load stops the server at start (Lumen reads it there) instead of
showing its diagnostics page; specs from several folders keep the start folder; a ``--rest-provider`` of the analyst's own,
or a Unix socket without ``LUMEN_EXT_PUBLIC_URL``, leaves the process vanilla (the routes, or the public URL,
would be missing).

The command line is read by :mod:`lumen_ext.serving.lumen_serve_command` and rewritten for step 1 by
:mod:`lumen_ext.serving.lumen_serve_paths`; this module is the door itself (when it opens, and its two steps).

Environment: ``LUMEN_EXT_RUNTIME`` (``0``/``false``/``no``/``off``: vanilla Lumen), ``LUMEN_EXT_POLICY``
(the ``--policy`` file of ``lumen-ext serve``), ``LUMEN_EXT_PUBLIC_URL`` (its ``--public-url``),
``LUMEN_EXT_REDIS_URL`` and ``LUMEN_EXT_CACHE_DIR`` (its ``--redis-url``/``--cache-dir``).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lumen_ext.serving.lumen_serve_command import (
    PUBLIC_URL_ENV,
    YAML_SUFFIXES,
    ServeCommand,
    loopback_by_default,
    public_url_for,
    serve_command,
)
from lumen_ext.serving.lumen_serve_paths import absolute_if_exists, with_absolute_paths, with_port
from lumen_ext.serving.processes import CACHE_DIR_ENV

if TYPE_CHECKING:
    from lumen_ext.security.policy import Policy
    from lumen_ext.serving.reload import Reloader

__all__ = [
    "PROVIDER",
    "SWITCH_ENV",
    "ServeCommand",
    "is_active",
    "loopback_by_default",
    "public_url_for",
    "reloader",
    "reloads_pages",
    "rest_provider",
    "serve_command",
    "served_spec",
    "with_absolute_paths",
]

SWITCH_ENV = "LUMEN_EXT_RUNTIME"
# The line the door prints once its runtime is installed (tests and operators look for it in the log).
RUNTIME_LINE = "lumen-ext: runtime active in lumen serve"
POLICY_ENV = "LUMEN_EXT_POLICY"
PROVIDER = "lumen-ext"  # the name of the entry point, and the value of --rest-provider the door inserts
# Set on the re-executed process only (to the public URL): step 2. Removed from os.environ once read, so a
# `lumen serve` started by the server (or its tests) takes the door itself.
_STAGE = "_LUMEN_EXT_LUMEN_SERVE"
_OFF = {"0", "false", "no", "off"}

# The page hook under --autoreload, enabled once `lumen.command` has been imported (lumen_serve_pages.py).
PAGE_HOOK = "serving.lumen-serve.diagnostics"

_active = False
_command: ServeCommand | None = None  # step 2: what this process serves
_settings: Any = None  # step 2: the settings the profile is installed with (a changed policy replaces them)
_reloader: Reloader | None = None


def is_active() -> bool:
    """Whether this process installed lumen-ext's runtime through the door."""
    return _active


def served_spec(url_path: str | None) -> Path | None:
    """The spec this process serves at ``url_path`` (``/stem``), or None."""
    if _command is None or not url_path:
        return None
    return next((spec for spec in _command.specs if spec.stem == url_path.strip("/")), None)


def reloads_pages() -> bool:
    """Whether this ``lumen serve`` reloads open pages when their spec is saved (``--autoreload``/``--dev``)."""
    return _command is not None and _command.autoreload


def reloader() -> Reloader | None:
    """lumen-ext's watcher of the specs' other files under ``--autoreload`` (None otherwise)."""
    return _reloader


def _switched_off(environ: dict[str, str]) -> bool:
    return environ.get(SWITCH_ENV, "").strip().lower() in _OFF


def _main_module() -> str | None:
    main = sys.modules.get("__main__")
    return getattr(getattr(main, "__spec__", None), "name", None)


# --- step 1: the process Lumen started -----------------------------------------------------------------------


def _spec_folder(command: ServeCommand) -> Path | None:
    folders = {spec.parent for spec in command.specs}
    return folders.pop() if len(folders) == 1 else None


def _reexec(command: ServeCommand, public_url: str, chosen_port: int | None) -> None:
    """Replace this process by the same command with lumen-ext's environment and routes (never returns)."""
    from lumen_ext.serving import allocator, offline

    tail = sys.argv[1:]  # ['serve', ...] as typed; sys.orig_argv ends with the same tokens
    if sys.orig_argv[len(sys.orig_argv) - len(tail) :] != tail:
        print("lumen-ext: cannot re-read this command line; serving as vanilla Lumen", file=sys.stderr)
        return
    head = sys.orig_argv[1 : len(sys.orig_argv) - len(tail)]  # interpreter options and the script or -m
    if chosen_port is not None:
        tail = with_port(tail, chosen_port)
    env = dict(os.environ)
    folder = _spec_folder(command)
    if folder is not None:
        # As `lumen-ext serve` does: DuckDB resolves relative paths against the working directory (LUMEN-NOTES
        # §6.2 #17), so running in the spec's folder makes them mean what they mean for `file` sources and for
        # the validator. Paths typed for the old folder are made absolute first.
        cwd = Path.cwd()
        # The script too: `.venv/bin/lumen serve ...` typed with a relative path.
        head = [token if token.startswith("-") else absolute_if_exists(token, cwd) for token in head]
        tail = ["serve", *with_absolute_paths(tail[1:], command.specs, cwd)]
        for name in (POLICY_ENV, CACHE_DIR_ENV, "LUMEN_EXT_TILE_CACHE"):
            if env.get(name):
                env[name] = str((cwd / env[name]).resolve())
        if env.get("PYTHONPATH") is not None:  # "" and "." name the old folder
            env["PYTHONPATH"] = os.pathsep.join(
                str((cwd / p).resolve()) for p in env["PYTHONPATH"].split(os.pathsep)
            )
        os.chdir(folder)
    else:
        print(
            "lumen-ext: specs in several folders; DuckDB paths resolve against this folder", file=sys.stderr
        )
    # Inserted right after `serve`: whatever follows `--args` belongs to the app.
    inserted = ["--rest-provider", PROVIDER]
    if loopback_by_default(command, env):
        inserted += ["--address", "127.0.0.1"]
    argv = [sys.executable, *head, "serve", *inserted, *tail[1:]]
    env.update(
        {
            # What offline.use_local_cdn sets in `lumen-ext serve`, read by Panel when it is imported.
            "PANEL_CDN_ROOT": public_url + offline.CDN_ROUTE,
            "PANEL_NPM_CDN": public_url + offline.NPM_ROUTE,
            "BOKEH_RESOURCES": "server",
            _STAGE: public_url,
        }
    )
    # glibc's malloc, so memory of closed sessions goes back to the OS (serving/allocator.py decides when).
    from lumen_ext.serving.memory_release import _malloc_trim

    env = (
        allocator.malloc_environment(
            "malloc",
            env,
            pymalloc=allocator.pymalloc_in_use(),
            reads_environment=not sys.flags.ignore_environment,
            can_trim=_malloc_trim is not None,
        )
        or env
    )
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execve(sys.executable, argv, env)


# --- step 2: the re-executed process -------------------------------------------------------------------------


def _settings(command: ServeCommand, public_url: str) -> Any:
    from lumen_ext import hooks
    from lumen_ext.security.policy import load_policy
    from lumen_ext.serving.processes import cache_from_environment

    return hooks.Settings(
        policy=load_policy(os.environ.get(POLICY_ENV) or None),
        cache=cache_from_environment(),
        public_url=public_url,
        proxy_tiles=True,
    )


def _print_diagnostics(specs: tuple[Path, ...], policy: Any) -> None:
    """What ``lumen-ext validate`` says about each spec, on the terminal: Lumen's page will not show it."""
    from lumen_ext.validation import validate_file
    from lumen_ext.validation.reporters import TextReporter

    for spec in specs:
        report = validate_file(spec, data=True, policy=policy)
        if report.diagnostics:
            TextReporter(sys.stderr, color=sys.stderr.isatty()).report(report)


def _install(command: ServeCommand, public_url: str) -> None:
    global _active, _command, _settings
    from lumen_ext import hooks
    from lumen_ext.security.policy import PolicyError

    # Bokeh sets only the "bokeh" logger's level (--log-level, default info); ours follows it.
    logging.getLogger("lumen_ext").setLevel((command.log_level or "info").upper())
    try:
        settings = _settings(command, public_url)
    except PolicyError as exc:
        sys.stderr.write(f"lumen serve: error: {exc}\n")
        raise SystemExit(2) from None
    import lumen_ext.sources.dask  # noqa: F401  # `type: dask`, as under lumen-ext serve
    from lumen_ext.sources import cluster

    try:  # LUMEN_EXT_DASK_SCHEDULER: a bad value fails at start, as `--dask-scheduler` does
        cluster.configure(None)
    except ValueError as exc:
        sys.stderr.write(f"lumen serve: error: {exc}\n")
        raise SystemExit(2) from None
    # Step 1 set the environment offline.use_local_cdn() sets (Panel's CDN roots); the font hooks take the public
    # URL from the settings.
    hooks.install("lumen-serve", settings)
    _active, _command, _settings = True, command, settings
    print(
        f"{RUNTIME_LINE} (assets from {public_url}; {SWITCH_ENV}=0 turns it off)",
        file=sys.stderr,
        flush=True,
    )
    _print_diagnostics(command.specs, settings.policy)


def rest_provider(files: list[str], endpoint: str | None) -> list[tuple]:
    """Panel's ``--rest-provider lumen-ext``: the routes ``lumen-ext serve`` adds to its server.

    Panel calls it in ``Serve.customize_kwargs``, just before it builds the server (and before ``--num-procs``
    forks): the start-up heap is complete then, so it is frozen here (``serving/gc_freeze.py``).
    ``endpoint`` (``--rest-endpoint``) is not used: each route has the path ``lumen-ext serve`` gives it.
    """
    from lumen_ext import hooks
    from lumen_ext.serving import bokeh_server, gc_freeze

    routes = bokeh_server.routes([f for f in files if f.lower().endswith(YAML_SUFFIXES)])
    if _active and _command is not None and _command.autoreload:
        # While editing only: a spec with errors shows its diagnostics instead of a page. (Without --autoreload
        # lumen serve keeps serving what Lumen serves, as it always did.) `lumen.command` is imported by now, and
        # no session was built yet.
        hooks.enable_deferred(PAGE_HOOK)
        _watch_other_files(_command)
    gc_freeze.freeze_startup_heap()
    return routes


def _watch_other_files(command: ServeCommand) -> None:
    """Under ``--autoreload``: lumen-ext's watcher too (:mod:`lumen_ext.serving.reload`), on this thread's IOLoop,
    the one Bokeh's server is about to be built on.

    Panel's watcher covers the spec files only, and misses a save made within a second of the previous one; this
    one also watches them (a page asked twice reloads once), with the data files, the ``*.py`` beside the specs and
    the policy file, and forgets what Lumen kept from them when the next session is created.
    """
    global _reloader
    if command.num_procs != 1:
        # Bokeh forks after this point: a watcher made here would live in the parent, which serves no page.
        print("lumen-ext: --num-procs: only Panel's watcher reloads pages (the specs only)", file=sys.stderr)
        return
    from tornado.ioloop import IOLoop

    from lumen_ext.serving.live_policy import LivePolicy
    from lumen_ext.serving.reload import Reloader

    _reloader = Reloader(
        {spec.stem: spec for spec in command.specs},
        policy=LivePolicy(_settings.policy, apply=_use_policy),
        report_to=sys.stderr,
    )
    _reloader.follow_sessions()
    _reloader.start(IOLoop.current())


def _use_policy(policy: Policy) -> None:
    """Put ``policy`` in force: the ``lumen-serve`` profile installed again with it (and the page hook with it)."""
    global _settings
    from lumen_ext import hooks

    _settings = replace(_settings, policy=policy)
    hooks.install("lumen-serve", _settings)  # the page hook, enabled, is recomposed with the new settings


def _open_door() -> None:
    """Run at import (see the module docstring): step 1 or step 2, or nothing outside ``lumen serve``."""
    stage = os.environ.pop(_STAGE, None)
    if _switched_off(os.environ):
        return
    command = serve_command(sys.argv, _main_module())
    if command is None:
        return
    if stage is not None:
        _install(command, stage)
        return
    if command.rest_provider is not None:
        print(
            f"lumen-ext: --rest-provider {command.rest_provider} replaces lumen-ext's routes; "
            "serving as vanilla Lumen",
            file=sys.stderr,
        )
        return
    chosen_port = None
    if command.port == 0:
        # Bokeh would pick a port after Panel is imported; the CDN roots must name it before.
        from lumen_ext.serving.ports import free_port

        chosen_port = free_port(command.address or "127.0.0.1")
        command = replace(command, port=chosen_port)
    public_url = public_url_for(command, os.environ)
    if public_url is None:
        print(
            f"lumen-ext: behind a Unix socket set {PUBLIC_URL_ENV}; serving as vanilla Lumen", file=sys.stderr
        )
        return
    _reexec(command, public_url, chosen_port)


_open_door()
