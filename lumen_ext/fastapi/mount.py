"""``mount(app, prefix, specs, ...)``: lumen-ext dashboards inside an existing FastAPI application.

Each spec becomes the same Panel app ``lumen-ext serve`` builds (:func:`lumen_ext.serving.app.dashboard_app`:
validation with the diagnostics page, the policy's guards, the stage cache, every hook of the ``fastapi``
profile), mounted with Panel's FastAPI integration (``panel.io.fastapi.add_applications``, i.e. bokeh-fastapi) at
``{prefix}/{spec stem}``, its page and WebSocket routes behind the mount's guard
(:mod:`lumen_ext.fastapi.dashboard_routes`, :mod:`lumen_ext.fastapi.guard`), with the side endpoints
(:mod:`lumen_ext.fastapi.side_routes`) and the files the pages load (:mod:`lumen_ext.fastapi.assets`).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from lumen_ext.fastapi import runtime
from lumen_ext.fastapi.assets import mount_bokeh_static, mount_runtime_assets
from lumen_ext.fastapi.dashboard_routes import guard_dashboard_routes
from lumen_ext.fastapi.guard import make_guard
from lumen_ext.fastapi.side_routes import side_router
from lumen_ext.hooks.settings import Settings
from lumen_ext.serving.bokeh_server import spec_files
from lumen_ext.serving.lumen_serve_command import PUBLIC_URL_ENV
from lumen_ext.serving.processes import cache_argument

__all__ = ["Mounted", "mount"]

# Paths under the prefix that are not dashboards: a spec of one of these names would be shadowed.
RESERVED = frozenset(
    {"healthz", "readyz", "metrics", "data", "static", "components", "lumen-ext", "favicon.ico"}
)


@dataclass(frozen=True)
class Mounted:
    """What :func:`mount` added: the dashboards' URLs (path -> spec) and the bokeh-fastapi application."""

    prefix: str
    dashboards: dict[str, Path]
    bokeh: Any  # bokeh_fastapi.BokehFastAPI

    def url(self, name: str) -> str:
        return f"{self.prefix}/{name}"


def mount(
    app: FastAPI,
    prefix: str,
    specs: Iterable[str | os.PathLike],
    *,
    auth: Callable[..., Any] | None = None,
    policy: Any = None,
    cache: Any = True,
    public_url: str | None = None,
    websocket_origins: Collection[str] = (),
    validate: bool = True,
    data_checks: bool = True,
    data_endpoint: bool = True,
    public_probes: bool = False,
    proxy_tiles: bool = True,
    without: Collection[str] = (),
    session_lifetime_ms: int = 15_000,
) -> Mounted:
    """Serve the dashboards of ``specs`` at ``{prefix}/{spec stem}`` of ``app``, with lumen-ext's runtime.

    ``auth``: a FastAPI dependency returning the user's claims (``None`` refuses with 401; see
    :mod:`lumen_ext.fastapi.guard`); without it every viewer is admitted and a spec with an ``auth:`` block is
    refused, as Lumen refuses it without a login. ``policy``: a :class:`~lumen_ext.security.policy.Policy` or the
    path of a policy file (default: the safe defaults). ``cache``: ``True`` (the stage cache; its second tier
    from ``$LUMEN_EXT_REDIS_URL`` or ``$LUMEN_EXT_CACHE_DIR`` when set, shared by Uvicorn's workers), a
    :class:`~lumen_ext.cache.CacheConfig`, or ``False``. ``public_url``: where browsers reach this application (``http://host:port``; default
    ``$LUMEN_EXT_PUBLIC_URL``), so Panel's files are served from here instead of its CDN. ``websocket_origins``:
    other ``host:port`` pages allowed to open the dashboards' WebSockets (default: the same host only).
    ``validate``/``data_checks``/``data_endpoint``/``proxy_tiles``/``without``: as ``lumen-ext serve``'s
    ``--no-validate``/``--no-data``/``--no-data-endpoint``/``--direct-tiles``/``--without``.

    Call it when the application is built, before anything imports Panel (Panel reads its CDN roots on import).
    It changes the process's working directory to the specs' folder (all specs of a process share one), as
    ``lumen-ext serve`` does: relative paths in the specs (DuckDB's, the policy's) resolve against it.
    """
    prefix = _normal_prefix(prefix)
    by_name = _specs_by_name(specs)
    settings = _settings(prefix, policy, cache, public_url, proxy_tiles, without)
    first = runtime.installed() is None
    if first:
        runtime.use_local_assets(settings.public_url)
    runtime.install(settings)
    folder = next(iter(by_name.values())).parent
    # As `lumen-ext serve` and `lumen serve` with lumen-ext do: DuckDB resolves relative paths against the working
    # directory (LUMEN-NOTES §6.2 #17), and so do the policy's path guards and the data endpoint's builds, so the
    # process runs in the specs' folder where they mean what the author wrote.
    os.chdir(folder)
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))  # dotted `type:` paths may name modules next to the spec

    from panel.io.fastapi import add_applications

    from lumen_ext.serving.app import dashboard_app

    policy = settings.policy
    apps = {
        name: dashboard_app(spec, policy, validate=validate, data_checks=data_checks)
        for name, spec in by_name.items()
    }
    # Keys with the prefix already: Panel prefixes a bare key unless it already starts with the prefix, so a
    # spec named like the prefix's last part (/private + private.yaml) would land at the prefix itself.
    bokeh = add_applications(
        {f"{prefix}/{name}": function for name, function in apps.items()},
        app=app,
        prefix=prefix,
        title={f"{prefix}/{name}": name for name in apps},
        unused_session_lifetime_milliseconds=session_lifetime_ms,
        check_unused_sessions_milliseconds=min(session_lifetime_ms, 17_000),
    )
    guard = make_guard(auth, by_name, websocket_origins, dev=policy.dev)
    guard_dashboard_routes(app, bokeh, prefix, list(apps), guard)
    mount_bokeh_static(app, prefix)
    if first:
        mount_runtime_assets(app, _asset_root(settings), proxy_tiles=settings.proxy_tiles)

    def live_sessions() -> dict[str, int]:
        # bokeh-fastapi (0.1.8) keeps its ApplicationContexts in `_applications` (path -> context), with no
        # public accessor; Bokeh's Tornado server offers get_sessions() for the same count.
        return {path[len(prefix) + 1 :]: len(ctx.sessions) for path, ctx in bokeh._applications.items()}

    router = side_router(
        by_name,
        guard,
        live_sessions,
        data=data_endpoint,
        validate=validate,
        data_checks=data_checks,
        public_probes=public_probes,
    )
    app.include_router(router, prefix=prefix)
    return Mounted(prefix, {f"{prefix}/{name}": spec for name, spec in by_name.items()}, bokeh)


def _normal_prefix(prefix: str) -> str:
    if not prefix.startswith("/"):
        raise ValueError(f"prefix must start with '/', not {prefix!r}")
    return prefix.rstrip("/")


def _specs_by_name(specs: Iterable[str | os.PathLike]) -> dict[str, Path]:
    by_name = spec_files(specs)
    if reserved := sorted(RESERVED.intersection(by_name)):
        raise ValueError(f"a spec named {reserved[0]!r} would be shadowed by the route of that name")
    if not by_name:
        raise ValueError("no spec to mount")
    folders = {spec.parent for spec in by_name.values()}
    if runtime.installed() is not None:
        folders.add(Path.cwd())  # an earlier mount moved the process there
    if len(folders) > 1:
        raise ValueError(
            "all specs mounted in one process must sit in the same folder (its working directory)"
        )
    return by_name


def _settings(
    prefix: str, policy: Any, cache: Any, public_url: str | None, proxy_tiles: bool, without: Collection[str]
) -> Settings:
    from lumen_ext.security.options import policy_argument

    # cache=True: the operator's shared tier from the environment; every Uvicorn worker imports the application
    # and reads the same variables.
    policy, cache = policy_argument(policy), cache_argument(cache)
    installed = runtime.installed()
    if installed is not None:
        # The asset routes and Panel's CDN roots belong to the first mount's prefix.
        root = installed.public_url
    else:
        public_url = public_url or os.environ.get(PUBLIC_URL_ENV) or None
        root = public_url.rstrip("/") + prefix if public_url else None
    return Settings(
        policy=policy, cache=cache, public_url=root, proxy_tiles=proxy_tiles, without=tuple(without)
    )


def _asset_root(settings: Settings) -> str:
    """The path part of the runtime's public URL: where the asset routes go."""
    from urllib.parse import urlparse

    return urlparse(settings.public_url).path.rstrip("/") if settings.public_url else ""
