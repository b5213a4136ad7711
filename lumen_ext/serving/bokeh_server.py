"""What a Bokeh ``Server`` needs to serve specs with lumen-ext's runtime: the public :mod:`lumen_ext.tornado` door,
and ``lumen-ext serve`` (:mod:`lumen_ext.serving.command`), which passes the same parts to ``pn.serve``.

What :func:`dashboards` does, in this order, and why the order matters:

1. Points Panel's CDN roots at ``public_url`` (:func:`lumen_ext.serving.offline.use_local_cdn`). Panel reads them
   once, when it is first imported, so call :func:`dashboards` **before anything imports Panel** (Lumen, HoloViews
   and ``panel`` itself); importing Bokeh and Tornado first is fine. Called after Panel, the pages still work but
   load some stylesheets (Font Awesome) from Panel's CDN, and one warning says so.
2. Writes what ``lumen-ext validate`` says about each spec (``diagnostics_to``), then checks, or with
   ``chdir=True`` changes, the working directory: the specs' relative paths resolve against it (``chdir`` below).
3. Installs lumen-ext's runtime, the hooks table's ``serve`` profile (the security policy's guards, the stage cache,
   every run-time hook: :mod:`lumen_ext.hooks`), once per process.
4. Builds one Bokeh ``Application`` per spec (:func:`lumen_ext.serving.app.dashboard_app` through Panel's
   ``build_applications``, as ``pn.serve`` does): each session re-validates its spec and shows the diagnostics
   page when it has errors.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from lumen_ext.hooks.settings import Settings

if TYPE_CHECKING:
    from lumen_ext.security.policy import Policy
    from lumen_ext.serving.reload import Reloader

__all__ = ["Dashboards", "dashboards", "report_diagnostics", "routes", "runtime_settings", "spec_files"]

log = logging.getLogger("lumen_ext.serve")

# The largest message a browser may send: a dashboard's widget changes are a few hundred bytes; Tornado refuses a
# larger one before Bokeh reads it and closes that connection (code 1009). Bokeh's own default is 20 MiB.
WEBSOCKET_MAX_MESSAGE_SIZE = 4 * 1024 * 1024
SESSION_LIFETIME_MS = 15_000
# Bokeh checks for unused sessions every 17 s by default; never less often than the lifetime asks for.
_CHECK_UNUSED_MAX_MS = 17_000

# Endpoints at a path of their own: a spec of that name takes the path (Bokeh routes applications first).
SHADOWED_BY_A_SPEC = frozenset({"healthz", "readyz", "metrics"})

_installed: Settings | None = None


@dataclass(frozen=True)
class Dashboards:
    """What :func:`dashboards` built: the arguments a Bokeh ``Server`` needs, and what to do once it started."""

    applications: dict[str, Any]
    """URL path (``/{spec stem}``) -> Bokeh ``Application``: ``Server``'s first argument."""

    routes: list[tuple]
    """lumen-ext's Tornado routes (:func:`routes`): Panel's files, the browser guards, the tile proxy, the probes
    and the data endpoint. Give these to ``pn.serve(extra_patterns=...)``."""

    server_kwargs: dict[str, Any]
    """The server options of ``lumen-ext serve``: ``websocket_max_message_size`` (4 MiB),
    ``unused_session_lifetime_milliseconds`` and ``check_unused_sessions_milliseconds`` (a closed session is
    discarded after 15 s), and Panel's index page listing the dashboards at ``/`` and its favicon (``index``,
    ``ico_path``: what ``pn.serve`` gives; a bare ``Server`` under Panel's root handler answers ``/`` with an error
    without them). Pass them to ``Server`` or ``pn.serve``; override any of them as you like."""

    specs: dict[str, Path] = field(default_factory=dict)
    """URL path -> spec file."""

    settings: Settings = field(default_factory=Settings)
    """The runtime's settings (policy, cache, public URL, ...), as installed."""

    reloader: Reloader | None = None
    """With ``reload=True``: what watches the specs' files and refreshes their open pages
    (:mod:`lumen_ext.serving.reload`); :meth:`started` starts it on the server's IOLoop, ``reloader.stop()`` stops
    it."""

    @property
    def extra_patterns(self) -> list[tuple]:
        """Every route a bare Bokeh ``Server`` needs besides the applications: :attr:`routes` and Panel's
        component resources (``/components/...``, which ``pn.serve`` adds on its own). Put your routes first."""
        from panel.io.server import get_static_routes

        return [*self.routes, *get_static_routes({})]

    def started(self, server: Any, *, stop_on_signals: bool = True, parent: int | None = None) -> None:
        """Call after ``server.start()``, before the IOLoop runs: what ``lumen-ext serve`` does at that point.

        * ``stop_on_signals``: SIGTERM and SIGINT stop the server gracefully (no new connections, every session's
          WebSocket closed with a close frame, the callbacks in flight given up to 5 s) and then stop its IOLoop,
          so ``server.io_loop.start()`` returns (:mod:`lumen_ext.serving.shutdown`). It replaces the signal
          handlers of the process: pass ``False`` if your program stops the server itself. ``parent``: in a worker
          forked by ``num_procs``, the parent's PID (the worker also stops when its parent is gone).
        * Freezes the start-up heap (:func:`gc.freeze`, :mod:`lumen_ext.serving.gc_freeze`): the garbage
          collector's full passes no longer walk the ~1 million objects that imports left, which otherwise stall
          the IOLoop for up to a second with many sessions open. Objects alive now are never collected as cycles
          after this, so call it once your program finished setting up.

        * With ``reload=True``, starts watching the specs' files on the server's IOLoop (:attr:`reloader`).

        After the loop returns, ``exit_after_stop()`` (:mod:`lumen_ext.serving.shutdown`, also in
        :mod:`lumen_ext.tornado`) ends the process with status 0 as ``lumen-ext serve`` does, skipping the
        interpreter's finalization, which can crash in DuckDB's native threads; a program with clean-ups of its
        own runs them first, or returns normally instead.
        """
        from lumen_ext.serving import gc_freeze, shutdown

        if stop_on_signals:
            shutdown.stop_on_signals(server, parent)
        if self.reloader is not None:
            self.reloader.start(server.io_loop)
        gc_freeze.freeze_startup_heap()


def dashboards(
    specs: Iterable[str | os.PathLike],
    *,
    public_url: str,
    policy: Any = None,
    cache: Any = True,
    validate: bool = True,
    data_checks: bool = True,
    data_endpoint: bool = True,
    proxy_tiles: bool = True,
    without: Collection[str] = (),
    chdir: bool | None = None,
    diagnostics_to: TextIO | None = None,
    session_lifetime_ms: int = SESSION_LIFETIME_MS,
    websocket_max_message_size: int = WEBSOCKET_MAX_MESSAGE_SIZE,
    reload: bool = False,
) -> Dashboards:
    """The dashboards of ``specs``, at ``/{spec stem}``, with lumen-ext's runtime installed in this process.

    ``public_url``: where browsers reach the server (``http://host:port``, the proxy's URL behind one; with Bokeh's
    ``prefix=``, include it): Panel's files, the fonts and the tiles are served from there instead of CDNs.
    ``policy``: a :class:`~lumen_ext.security.policy.Policy` or a policy file's path (default: the safe defaults).
    ``cache``: ``True`` (the stage cache; its second tier from ``$LUMEN_EXT_REDIS_URL`` or ``$LUMEN_EXT_CACHE_DIR``
    when set), a :class:`~lumen_ext.cache.CacheConfig`, or ``False``.
    ``validate``/``data_checks``/``data_endpoint``/``proxy_tiles``/``without``: as ``lumen-ext serve``'s
    ``--no-validate``/``--no-data``/``--no-data-endpoint``/``--direct-tiles``/``--without``.
    ``diagnostics_to``: a stream (``sys.stderr``) to write what ``lumen-ext validate`` says about each spec to,
    at start, as ``lumen-ext serve`` does (the pages show the same, the log does not); nothing with ``validate``
    off. ``session_lifetime_ms``, ``websocket_max_message_size``: go into :attr:`Dashboards.server_kwargs`.
    ``reload``: ``lumen-ext serve --reload``: a change to a spec, its data files, the ``*.py`` beside it or the
    policy file refreshes the dashboard's open pages (:mod:`lumen_ext.serving.reload`; a changed policy is put in
    force, process-wide). For one process serving one developer: not with ``num_procs``.

    ``chdir``: where the process runs. lumen-ext's runtime, like Lumen's DuckDB source, resolves a spec's
    relative paths against the working directory, not the spec's folder: DuckDB's SQL
    (``read_parquet('../data/x.parquet')``, ``uri: data.duckdb``; LUMEN-NOTES §6.2 #17), the policy's checks of
    those paths and of DuckDB's allowed directories, and the reads of the probes and the data endpoint (``file``
    sources included). ``lumen-ext serve`` therefore runs in the specs' folder. A library must not move your
    program's working directory behind its back (your own relative paths, log files and imports would follow), nor
    serve dashboards whose data silently fails to load, so the choice is yours:

    * ``None`` (the default): the process must already run in the specs' folder; anywhere else
      :func:`dashboards` raises ``ValueError`` naming the two options below.
    * ``True``: change the working directory to the specs' folder (all specs must share one) and put that folder
      first on ``sys.path``, as ``lumen-ext serve`` does, so dotted ``type:`` paths may name modules beside the
      specs (which the policy refuses unless ``allow_local_modules``). Both are process-wide.
    * ``False``: leave the working directory where it is; relative paths in the specs resolve there. For specs
      whose paths are absolute, or written relative to where your program runs.

    Call it once per process, before anything imports Panel (see the module docstring). The runtime is
    process-wide: a second call (other specs, for a second ``Server``) must pass the same ``public_url``,
    ``policy``, ``cache``, ``proxy_tiles`` and ``without``.
    """
    by_name = _specs_by_name(specs, chdir)
    _check_working_directory(by_name, chdir)
    settings = runtime_settings(policy, cache, public_url, proxy_tiles, without)
    _use_local_assets(settings.public_url)
    if validate and diagnostics_to is not None:
        report_diagnostics(by_name.values(), data_checks, settings.policy, diagnostics_to)
    folder = next(iter(by_name.values())).parent
    if chdir:
        os.chdir(folder)
        if str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    _install(settings)

    from bokeh.core.validation import silence
    from bokeh.core.validation.warnings import EMPTY_LAYOUT
    from panel.io.application import build_applications
    from panel.io.server import DIST_DIR, INDEX_HTML

    from lumen_ext.serving.app import dashboard_app

    reloader = (
        _reloader(by_name, settings, data_checks, diagnostics_to if validate else None) if reload else None
    )
    live_policy = reloader.policy if reloader is not None else None
    # As pn.serve does before it builds its server: Bokeh's EMPTY_LAYOUT validation warning, which Panel's layouts
    # raise while they are still empty, stays out of the log.
    silence(EMPTY_LAYOUT, True)
    applications = build_applications(
        {
            f"/{name}": dashboard_app(
                spec, settings.policy, validate=validate, data_checks=data_checks, live_policy=live_policy
            )
            for name, spec in by_name.items()
        },
        title={f"/{name}": name for name in by_name},
    )
    server_kwargs = {
        "websocket_max_message_size": websocket_max_message_size,
        "unused_session_lifetime_milliseconds": session_lifetime_ms,
        "check_unused_sessions_milliseconds": min(session_lifetime_ms, _CHECK_UNUSED_MAX_MS),
        "index": INDEX_HTML,
        "ico_path": DIST_DIR / "images" / "favicon.ico",
    }
    return Dashboards(
        applications=applications,
        routes=routes(
            by_name.values(),
            proxy_tiles=settings.proxy_tiles,
            data=data_endpoint,
            validate=validate,
            data_checks=data_checks,
        ),
        server_kwargs=server_kwargs,
        specs={f"/{name}": spec for name, spec in by_name.items()},
        settings=settings,
        reloader=reloader,
    )


def routes(
    specs: Iterable[str | os.PathLike],
    *,
    proxy_tiles: bool = True,
    data: bool = True,
    validate: bool = True,
    data_checks: bool = True,
) -> list[tuple]:
    """lumen-ext's Tornado routes for the dashboards of ``specs`` (named by file stem), from the server's root.

    In order: the files Panel's CDN roots point at and the vendored fonts (:mod:`lumen_ext.serving.offline`), the
    browser guards (:mod:`lumen_ext.serving.browser_guards`), the web-map tile proxy (``proxy_tiles``,
    :mod:`lumen_ext.serving.tiles`), then ``/healthz``, ``/readyz``, ``/metrics`` and, with ``data``,
    ``/data/APP/PIPELINE`` (:mod:`lumen_ext.serving.endpoints`). Panel must be importable; the runtime should be
    installed (:func:`dashboards`, ``lumen serve``'s plugin) for the metrics' counters.
    """
    from lumen_ext.serving import browser_guards, endpoints, offline, tiles

    table = offline.static_routes() + browser_guards.routes()
    if proxy_tiles:
        table += tiles.tile_routes()
    table += endpoints.routes(specs, data=data, validate=validate, data_checks=data_checks)
    return table


def runtime_settings(
    policy: Any, cache: Any, public_url: str, proxy_tiles: bool, without: Collection[str]
) -> Settings:
    """:class:`~lumen_ext.hooks.Settings` from :func:`dashboards`'s arguments, each checked."""
    from lumen_ext.security.options import policy_argument
    from lumen_ext.serving.processes import cache_argument

    if not isinstance(public_url, str) or not public_url.startswith(("http://", "https://")):
        # Panel takes anything else for a path inside its own package.
        raise ValueError(f"public_url must be an absolute http(s):// URL, not {public_url!r}")
    return Settings(
        policy=policy_argument(policy),
        cache=cache_argument(cache),
        public_url=public_url,
        proxy_tiles=proxy_tiles,
        without=tuple(without),
    )


def spec_files(specs: Iterable[str | os.PathLike]) -> dict[str, Path]:
    """Each spec file, resolved, by its stem (the path a door serves it at): every file exists and no two share a
    stem. What each door adds (names its own routes take, one folder) is the door's."""
    by_name: dict[str, Path] = {}
    for raw in specs:
        spec = Path(raw).resolve()
        if not spec.is_file():
            raise FileNotFoundError(f"no such spec file: {spec}")
        if spec.stem in by_name:
            raise ValueError(f"two specs named {spec.stem!r}: {by_name[spec.stem]} and {spec}")
        by_name[spec.stem] = spec
    return by_name


def _specs_by_name(specs: Iterable[str | os.PathLike], chdir: bool | None) -> dict[str, Path]:
    by_name = spec_files(specs)
    for name, spec in by_name.items():
        if name in SHADOWED_BY_A_SPEC:
            log.warning("lumen-ext: the dashboard %s takes the path /%s from the endpoint", spec.name, name)
    if not by_name:
        raise ValueError("no spec to serve")
    if chdir is not False and len({spec.parent for spec in by_name.values()}) > 1:
        # One process has one working directory.
        raise ValueError(
            "all specs must sit in the same folder, the process's working directory (or pass chdir=False if "
            "every path in them is absolute)"
        )
    return by_name


def _check_working_directory(by_name: dict[str, Path], chdir: bool | None) -> None:
    folder = next(iter(by_name.values())).parent
    if chdir is None and Path.cwd().resolve() != folder:
        raise ValueError(
            f"lumen-ext resolves the specs' relative paths (DuckDB's SQL, the probes' and the data endpoint's "
            f"reads) against the working directory, and this process runs in {Path.cwd()}, not in the specs' "
            f"folder {folder}: pass chdir=True to move the process there (as lumen-ext serve does), start it "
            "there, or pass chdir=False if the specs' paths are absolute or written relative to the current folder"
        )
    if chdir and _installed is not None and Path.cwd().resolve() != folder:
        raise ValueError(
            f"an earlier dashboards(chdir=True) moved this process to {Path.cwd()}; specs served with it must "
            "sit there too"
        )


def _use_local_assets(public_url: str) -> None:
    """Point Panel's CDN roots at ``public_url``, or warn that Panel was imported before they could be."""
    from lumen_ext.serving import offline

    if "panel" not in sys.modules:
        offline.use_local_cdn(public_url)
    elif os.environ.get("PANEL_CDN_ROOT") != public_url.rstrip("/") + offline.CDN_ROUTE:
        log.warning(
            "lumen-ext: Panel was imported before dashboards(), so its CDN roots cannot point at %s any "
            "more and pages load Font Awesome from Panel's CDN; call dashboards() before importing Panel",
            public_url,
        )


def report_diagnostics(
    specs: Iterable[Path], data_checks: bool, policy: Any, stream: TextIO, *, clean_line: bool = False
) -> None:
    """The diagnostics of `lumen-ext validate`, so the terminal tells what the pages will; ``clean_line``: one line
    for a spec without any (after a change, the analyst wants to know it was checked)."""
    from lumen_ext.validation import validate_file
    from lumen_ext.validation.reporters import TextReporter

    for spec in specs:
        report = validate_file(spec, data=data_checks, policy=policy)
        if report.diagnostics:
            TextReporter(stream, color=stream.isatty()).report(report)
        elif clean_line:
            stream.write(f"lumen-ext: {spec.name}: no problems found\n")
            stream.flush()


def _reloader(
    by_name: dict[str, Path], settings: Settings, data_checks: bool, diagnostics_to: TextIO | None
) -> Reloader:
    """The :class:`~lumen_ext.serving.reload.Reloader` of ``reload=True``, following sessions from now on."""
    from lumen_ext.serving.live_policy import LivePolicy
    from lumen_ext.serving.reload import Reloader

    assert settings.policy is not None  # runtime_settings made it a Policy
    reloader = Reloader(
        by_name,
        policy=LivePolicy(settings.policy, apply=_use_policy),
        report_to=diagnostics_to,
        data_checks=data_checks,
    )
    reloader.follow_sessions()
    return reloader


def _use_policy(policy: Policy) -> None:
    """Put ``policy`` in force in this process: the ``serve`` profile installed again with it."""
    global _installed
    from lumen_ext import hooks

    assert _installed is not None
    settings = dataclasses.replace(_installed, policy=policy)
    hooks.install("serve", settings)
    _installed = settings


def _install(settings: Settings) -> None:
    """``hooks.install("serve", settings)`` once per process; the same settings again change nothing."""
    global _installed
    if _installed is not None:
        if settings != _installed:
            raise ValueError(
                "lumen_ext.tornado.dashboards: lumen-ext's runtime is process-wide; pass the same public URL, "
                f"policy, cache and options as the first call (it used {_installed})"
            )
        return
    import lumen_ext.sources.dask  # noqa: F401  # defines `type: dask` for Lumen's type lookup
    from lumen_ext import hooks

    hooks.install("serve", settings)
    _installed = settings
