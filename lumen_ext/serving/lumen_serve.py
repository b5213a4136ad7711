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

What it cannot reach (README, "lumen-ext serve versus lumen serve"): Lumen's own ``YamlHandler`` builds each
session, so a spec with errors still gets Lumen's blank page (the diagnostics go to the terminal only), and a
spec the guards refuse to load stops the server at start (Lumen reads it there) instead of showing its
diagnostics page; specs from several folders keep the start folder; a ``--rest-provider`` of the analyst's own,
or a Unix socket without ``LUMEN_EXT_PUBLIC_URL``, leaves the process vanilla (the routes, or the public URL,
would be missing).

Environment: ``LUMEN_EXT_RUNTIME`` (``0``/``false``/``no``/``off``: vanilla Lumen), ``LUMEN_EXT_POLICY``
(the ``--policy`` file of ``lumen-ext serve``), ``LUMEN_EXT_PUBLIC_URL`` (its ``--public-url``),
``LUMEN_EXT_REDIS_URL`` and ``LUMEN_EXT_CACHE_DIR`` (its ``--redis-url``/``--cache-dir``).
"""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

__all__ = [
    "PROVIDER",
    "SWITCH_ENV",
    "ServeCommand",
    "is_active",
    "loopback_by_default",
    "public_url_for",
    "rest_provider",
    "serve_command",
    "with_absolute_paths",
]

SWITCH_ENV = "LUMEN_EXT_RUNTIME"
# The line the door prints once its runtime is installed (tests and operators look for it in the log).
RUNTIME_LINE = "lumen-ext: runtime active in lumen serve"
POLICY_ENV = "LUMEN_EXT_POLICY"
PUBLIC_URL_ENV = "LUMEN_EXT_PUBLIC_URL"
CACHE_DIR_ENV = "LUMEN_EXT_CACHE_DIR"
PROVIDER = "lumen-ext"  # the name of the entry point, and the value of --rest-provider the door inserts
# Set on the re-executed process only (to the public URL): step 2. Removed from os.environ once read, so a
# `lumen serve` started by the server (or its tests) takes the door itself.
_STAGE = "_LUMEN_EXT_LUMEN_SERVE"
_OFF = {"0", "false", "no", "off"}
_SCRIPTS = {"lumen", "lumen-ai", "lumen-spec"}
_MAIN_MODULES = {"lumen.command", "lumen.command.ai"}
_YAML = (".yaml", ".yml")
_APP_SUFFIXES = (".py", ".ipynb", ".md", ".html")  # what `panel serve` would serve instead of a spec
_DEFAULT_PORT = 5006  # Bokeh's
# Bokeh's and Panel's `serve` options whose value is a path (bokeh/command/subcommands/serve.py,
# panel/command/serve.py); --dev and --static-dirs take several.
_PATH_OPTIONS = frozenset(
    {
        "--log-file",
        "--use-config",
        "--ico-path",
        "--ssl-certfile",
        "--ssl-keyfile",
        "--auth-module",
        "--index",
        "--basic-auth",
        "--oauth-error-template",
        "--auth-template",
        "--logout-template",
        "--basic-login-template",
        "--setup",
    }
)
_MULTI_PATH_OPTIONS = frozenset({"--dev", "--static-dirs"})

_active = False


@dataclass(frozen=True)
class ServeCommand:
    """What the door needs from a ``lumen serve`` command line (read without Panel's parser, which is still
    being imported when the door runs)."""

    specs: tuple[Path, ...]
    port: int
    address: str | None
    prefix: str
    https: bool
    origins: tuple[str, ...]
    unix_socket: bool
    rest_provider: str | None
    log_level: str | None


def _option_values(tokens: list[str], name: str) -> list[str]:
    """Every value given to ``--name`` (``--name VALUE`` or ``--name=VALUE``)."""
    values = []
    for i, token in enumerate(tokens):
        if token == name and i + 1 < len(tokens):
            values.append(tokens[i + 1])
        elif token.startswith(name + "="):
            values.append(token.split("=", 1)[1])
    return values


def serve_command(argv: list[str], main_module: str | None = None) -> ServeCommand | None:
    """The ``lumen serve`` of YAML specs that ``argv`` runs, else None.

    Lumen routes a command whose files are all YAML to its dashboard handler (``lumen/command/ai.py``,
    ``LumenAIServe.invoke``), anything else to Lumen AI. Without Panel's parser, the files are taken to be the
    tokens naming existing files or folders that are not an option's value; a Python, notebook or Markdown
    app, a folder or a data file among them means it is not a dashboard command.
    """
    if len(argv) < 2 or argv[1] != "serve":
        return None
    script = Path(argv[0]).name.removesuffix(".exe").removesuffix("-script.py")
    if script not in _SCRIPTS and main_module not in _MAIN_MODULES:
        return None
    tokens = argv[2:]
    if "--args" in tokens:  # Bokeh passes everything after --args to the app
        tokens = tokens[: tokens.index("--args")]
    specs, others = [], []
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            continue
        previous = tokens[i - 1] if i else ""
        is_value = previous.startswith("--") and "=" not in previous
        path = Path(token)
        if token.lower().endswith(_YAML) and path.is_file():
            specs.append(path.resolve())
        elif not is_value and (path.is_dir() or token.lower().endswith(_APP_SUFFIXES) or path.is_file()):
            others.append(token)
    if not specs or others:
        return None
    ports = _option_values(tokens, "--port")
    addresses = _option_values(tokens, "--address")
    prefixes = _option_values(tokens, "--prefix")
    rest = _option_values(tokens, "--rest-provider")
    levels = _option_values(tokens, "--log-level")
    try:
        port = int(ports[-1]) if ports else _DEFAULT_PORT
    except ValueError:
        return None  # Bokeh's parser will refuse it; nothing to open a door for
    return ServeCommand(
        specs=tuple(specs),
        port=port,
        address=addresses[-1] if addresses else None,
        prefix=("/" + prefixes[-1].strip("/")).rstrip("/") if prefixes else "",
        https=bool(_option_values(tokens, "--ssl-certfile")),
        origins=tuple(_option_values(tokens, "--allow-websocket-origin")),
        unix_socket=bool(_option_values(tokens, "--unix-socket")),
        rest_provider=rest[-1] if rest else None,
        log_level=levels[-1] if levels else None,
    )


def _origins(command: ServeCommand, environ: dict[str, str]) -> list[str]:
    """The hosts Bokeh accepts pages from: ``--allow-websocket-origin``, else ``BOKEH_ALLOW_WS_ORIGIN``."""
    if command.origins:
        return list(command.origins)
    return [o.strip() for o in environ.get("BOKEH_ALLOW_WS_ORIGIN", "").split(",") if o.strip()]


def public_url_for(command: ServeCommand, environ: dict[str, str]) -> str | None:
    """Where browsers reach the server, which Panel's CDN roots must name absolutely (see ``offline``).

    ``LUMEN_EXT_PUBLIC_URL`` when set; else the first allowed WebSocket origin without a wildcard (Bokeh
    accepts pages only from those hosts); else the bind address and port, ``localhost`` when no address was
    typed or it is all interfaces, as Bokeh prints it. None behind a Unix socket: no URL can be derived.
    """
    if environ.get(PUBLIC_URL_ENV):
        return environ[PUBLIC_URL_ENV].rstrip("/")
    if command.unix_socket:
        return None
    scheme = "https" if command.https else "http"
    for origin in _origins(command, environ):
        if "*" not in origin:
            return f"{scheme}://{origin}{command.prefix}"
    host = command.address if command.address not in (None, "", "0.0.0.0", "::") else "localhost"
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    return f"{scheme}://{host}:{command.port}{command.prefix}"


def loopback_by_default(command: ServeCommand, environ: dict[str, str]) -> bool:
    """Whether the door binds 127.0.0.1, as ``lumen-ext serve`` does, where Bokeh would bind every interface.

    Only when nothing asks for other hosts: no ``--address``, no allowed WebSocket origin (without one Bokeh
    accepts pages from ``localhost`` only, so a browser elsewhere could load the page but never use it), no
    Unix socket. What binding every interface would add then is only exposure: the page's HTML and
    lumen-ext's ``/data`` and ``/metrics`` routes to the network.
    """
    return command.address is None and not command.unix_socket and not _origins(command, environ)


def is_active() -> bool:
    """Whether this process installed lumen-ext's runtime through the door."""
    return _active


def _switched_off(environ: dict[str, str]) -> bool:
    return environ.get(SWITCH_ENV, "").strip().lower() in _OFF


def _main_module() -> str | None:
    main = sys.modules.get("__main__")
    return getattr(getattr(main, "__spec__", None), "name", None)


# --- step 1: the process Lumen started -----------------------------------------------------------------------


def _with_port(tokens: list[str], port: int) -> list[str]:
    """``tokens`` with every ``--port`` value replaced by ``port``."""
    out = list(tokens)
    for i, token in enumerate(out):
        if token == "--port" and i + 1 < len(out):
            out[i + 1] = str(port)
        elif token.startswith("--port="):
            out[i] = f"--port={port}"
    return out


def _absolute(value: str, cwd: Path) -> str:
    """``value`` as an absolute path when it names something that exists relative to ``cwd``."""
    path = Path(value).expanduser()
    if path.is_absolute() or not (cwd / path).exists():
        return value
    return str((cwd / path).resolve())


def with_absolute_paths(tokens: list[str], specs: tuple[Path, ...], cwd: Path) -> list[str]:
    """``tokens`` (after ``serve``) with the specs and the values of Bokeh's and Panel's path options absolute.

    The server moves to the specs' folder; a relative path typed for the folder it was started from must keep
    naming the same file. Only paths that exist are rewritten, so nothing else changes meaning.
    """
    spec_set = set(specs)
    out, option = [], None
    for token in tokens:
        if token == "--args":  # the rest belongs to the app, untouched
            return out + tokens[len(out) :]
        if token.startswith("-"):
            name, eq, value = token.partition("=")
            option = name if name in _PATH_OPTIONS | _MULTI_PATH_OPTIONS else None
            if eq and option:
                token, option = f"{name}={_path_value(name, value, cwd)}", None
            out.append(token)
            continue
        if option is not None:
            out.append(_path_value(option, token, cwd))
            option = option if option in _MULTI_PATH_OPTIONS else None
        elif (cwd / token).resolve() in spec_set:
            out.append(str((cwd / token).resolve()))
        else:
            out.append(token)
    return out


def _path_value(option: str, value: str, cwd: Path) -> str:
    if option == "--static-dirs":  # ROUTE=DIRECTORY
        route, eq, folder = value.partition("=")
        return f"{route}={_absolute(folder, cwd)}" if eq else value
    return _absolute(value, cwd)


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
        tail = _with_port(tail, chosen_port)
    env = dict(os.environ)
    folder = _spec_folder(command)
    if folder is not None:
        # As `lumen-ext serve` does: DuckDB resolves relative paths against the working directory (LUMEN-NOTES
        # §6.2 #17), so running in the spec's folder makes them mean what they mean for `file` sources and for
        # the validator. Paths typed for the old folder are made absolute first.
        cwd = Path.cwd()
        # The script too: `.venv/bin/lumen serve ...` typed with a relative path.
        head = [token if token.startswith("-") else _absolute(token, cwd) for token in head]
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
    from lumen_ext.cache import CacheConfig
    from lumen_ext.security.policy import load_policy
    from lumen_ext.serving.processes import REDIS_URL_ENV

    cache_dir = os.environ.get(CACHE_DIR_ENV)
    return hooks.Settings(
        policy=load_policy(os.environ.get(POLICY_ENV) or None),
        cache=CacheConfig(
            redis_url=os.environ.get(REDIS_URL_ENV) or None,
            disk_dir=Path(cache_dir).resolve() if cache_dir else None,
        ),
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
    global _active
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
    _active = True
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
    from lumen_ext.serving import endpoints, gc_freeze, offline, tiles

    routes = offline.static_routes() + tiles.tile_routes()
    specs = [f for f in files if f.lower().endswith(_YAML)]
    routes += endpoints.routes(specs, data=True, validate=True, data_checks=True)
    gc_freeze.freeze_startup_heap()
    return routes


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
