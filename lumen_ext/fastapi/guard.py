"""Who may open a mounted dashboard: the host application's FastAPI auth dependency, failing closed.

``auth`` is an ordinary FastAPI dependency (any callable whose parameters FastAPI can fill: ``Cookie``, ``Header``,
``HTTPConnection``, other ``Depends``, a security scheme). It returns the user's claims (a mapping such as
``{"email": ..., "groups": [...]}``, or a pydantic model / dataclass, converted to one) or raises
``HTTPException``. Every mounted route (the page, its WebSocket, and the side endpoints) depends on the guard
built here, which refuses:

* 401 when the dependency returns nothing (``None``/``False``): no login;
* 403 when it raises anything but ``HTTPException`` (a broken auth backend must not open the dashboards; the
  error goes to the log with an id), or when the spec's own ``auth:`` block does not admit the claims (the rule
  the page's session applies under lumen-ext: every key a claim holding a wanted value; a missing claim denies);
* 403 for a WebSocket whose ``Origin`` is another site (bokeh-fastapi checks no origin; a page of another site
  must not drive a dashboard with the viewer's cookies).

The dependency decides per dashboard by depending on :func:`current_dashboard`, which names the dashboard the
request is for. Routes must serve both HTTP and WebSocket requests, so a dependency should ask for
``HTTPConnection`` rather than ``Request`` (FastAPI gives a WebSocket no ``Request``).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fastapi import Depends, HTTPException
from starlette.requests import HTTPConnection

from lumen_ext.security.errors import record_error

__all__ = ["DASHBOARD_ATTR", "as_claims", "current_dashboard", "fail_closed", "make_guard"]

DASHBOARD_ATTR = "lumen_ext_dashboard"  # set on the page and WebSocket routes mount() creates


def current_dashboard(conn: HTTPConnection) -> str | None:
    """FastAPI dependency: the name (spec file stem) of the dashboard this request is for, or None for the probes.

    Declare it as ``dashboard: str | None = Depends(current_dashboard)`` in an auth dependency.
    """
    route = conn.scope.get("route")
    name = getattr(route, DASHBOARD_ATTR, None)
    if name is not None:
        return name
    return conn.scope.get("path_params", {}).get("app")  # the data route: /data/{app}/{pipeline}


def as_claims(user: Any) -> dict[str, Any]:
    """The claims a dependency's result stands for, as the mapping Lumen's ``auth:`` rules are applied to."""
    if isinstance(user, Mapping):
        return dict(user)
    if hasattr(user, "model_dump"):  # pydantic
        return dict(user.model_dump())
    if dataclasses.is_dataclass(user) and not isinstance(user, type):
        return dataclasses.asdict(user)
    return {"user": str(user)}  # a bare user name or id


def fail_closed(auth: Callable[..., Any]) -> Callable[..., Any]:
    """``auth`` with the same FastAPI parameters, turning any exception but ``HTTPException`` into a 403.

    Generator dependencies (``yield``) are used as they are: wrapping them would change when their cleanup runs.
    """
    if inspect.isgeneratorfunction(auth) or inspect.isasyncgenfunction(auth):
        return auth

    def refuse(exc: Exception) -> HTTPException:
        error_id = record_error(exc, "running the dashboards' auth dependency")
        return HTTPException(403, f"authentication failed (error {error_id})")

    call = auth if inspect.isfunction(auth) or inspect.ismethod(auth) else auth.__call__
    if inspect.iscoroutinefunction(call):

        async def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                return await auth(*args, **kwargs)
            except HTTPException:
                raise
            except Exception as exc:
                raise refuse(exc) from exc

    else:

        def checked(*args: Any, **kwargs: Any) -> Any:
            try:
                return auth(*args, **kwargs)
            except HTTPException:
                raise
            except Exception as exc:
                raise refuse(exc) from exc

    functools.update_wrapper(checked, call, assigned=("__module__", "__name__", "__qualname__", "__doc__"))
    checked.__signature__ = inspect.signature(auth)  # what FastAPI injects
    return checked


def _same_site(origin: str | None, host: str | None, allowed: Collection[str]) -> bool:
    if not origin:
        return True  # not a browser (browsers always send Origin on WebSockets); the login still applies
    netloc = urlparse(origin).netloc.lower()
    return netloc == (host or "").lower() or netloc in allowed


def make_guard(
    auth: Callable[..., Any] | None,
    specs: Mapping[str, Path],
    websocket_origins: Collection[str] = (),
    *,
    dev: bool = False,
) -> Callable[..., Any]:
    """The dependency of every mounted route: the claims of an admitted user (None without ``auth``). ``dev``: the
    policy's development mode, in which a spec's ``auth:`` block admits a request without login, as in a page."""
    from lumen_ext.security.guards.session import admits
    from lumen_ext.serving.endpoints import auth_checker

    def spec_admits(spec: Path, claims: dict[str, Any] | None) -> bool:
        # The rule the page's own session applies (the security.auth hook: a missing claim denies), not Lumen's,
        # under which a spec's `auth:` key the login does not provide would let everyone in (LUMEN-NOTES S15).
        checker = auth_checker(spec)
        return checker is None or admits(checker.spec, checker.case_sensitive, claims, dev)

    allowed = {origin.lower() for origin in websocket_origins}

    def check(conn: HTTPConnection, user: Any, login: bool) -> dict[str, Any] | None:
        if conn.scope["type"] == "websocket" and not _same_site(
            conn.headers.get("origin"), conn.headers.get("host"), allowed
        ):
            raise HTTPException(403, "WebSocket from another origin")
        if login and (user is None or user is False):
            raise HTTPException(401, "not authenticated", headers={"WWW-Authenticate": "Bearer"})
        claims = as_claims(user) if login else None
        dashboard = current_dashboard(conn)
        spec = specs.get(dashboard) if dashboard is not None else None
        if spec is not None and not spec_admits(spec, claims):
            raise HTTPException(403, "the spec's auth: block does not admit this user")
        return claims

    if auth is None:

        def guard(conn: HTTPConnection) -> dict[str, Any] | None:
            return check(conn, None, login=False)

    else:
        checked = fail_closed(auth)

        def guard(conn: HTTPConnection, user: Any = Depends(checked)) -> dict[str, Any] | None:
            return check(conn, user, login=True)

    return guard
