"""The page and WebSocket routes of mounted dashboards, behind the mount's guard.

bokeh-fastapi (0.1.8) registers its routes without dependencies, so :func:`guard_dashboard_routes` swaps each
for the same endpoint behind the guard (:mod:`lumen_ext.fastapi.guard`). The page route also picks the Bokeh
session id itself, to remember the login's claims under it before the session's document is built: Lumen's
in-session ``auth:`` check reads them through the ``serving.fastapi.user-info`` hook
(:mod:`lumen_ext.fastapi.sessions`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Depends, FastAPI, Request, WebSocket
from fastapi.routing import APIRoute, APIWebSocketRoute

from lumen_ext.fastapi import sessions
from lumen_ext.fastapi.guard import DASHBOARD_ATTR

__all__ = ["guard_dashboard_routes"]


def guard_dashboard_routes(
    app: FastAPI, bokeh: Any, prefix: str, names: list[str], guard: Callable[..., Any]
) -> None:
    """Swap bokeh-fastapi's page and WebSocket routes of ``names`` for the same endpoints behind ``guard``."""
    pages = {f"{prefix}/{name}": name for name in names}
    sockets = {f"{prefix}/{name}/ws": name for name in names}
    found = [
        route
        for route in app.router.routes
        if (isinstance(route, APIRoute) and route.path in pages)
        or (isinstance(route, APIWebSocketRoute) and route.path in sockets)
    ]
    if len(found) != len(pages) + len(sockets):
        raise RuntimeError(f"bokeh-fastapi did not add the routes {sorted(pages) + sorted(sockets)}")
    for route in found:
        app.router.routes.remove(route)
        if isinstance(route, APIRoute):
            name = pages[route.path]
            # bokeh-fastapi keeps its ApplicationContexts in `_applications` (path -> context), with no public
            # accessor: the page needs its session to learn when it is discarded.
            context = bokeh._applications[route.path]
            endpoint = _page_endpoint(route.endpoint, bokeh, context, guard)
            app.add_api_route(route.path, endpoint, methods=["GET"], include_in_schema=False)
        else:
            name = sockets[route.path]
            app.add_api_websocket_route(route.path, _socket_endpoint(route.endpoint, guard))
        setattr(app.router.routes[-1], DASHBOARD_ATTR, name)


def _page_endpoint(original: Callable[..., Any], bokeh: Any, context: Any, guard: Callable[..., Any]):
    from bokeh.util.token import generate_session_id

    async def page(request: Request, claims: dict[str, Any] | None = Depends(guard)) -> Any:
        # Our session id, not one from the query string: the claims are remembered under it before the
        # session's document (and Lumen's auth check) is built.
        session_id = generate_session_id(secret_key=bokeh.secret_key, signed=bokeh.sign_sessions)
        sessions.remember(session_id, claims)
        try:
            response = await original(request, session_id)
        except BaseException:
            sessions.forget(session_id)
            raise
        if claims is not None:

            def forget(session_context: Any) -> None:  # Bokeh calls it by this parameter name
                sessions.forget(session_id)

            context.get_session(session_id).document.on_session_destroyed(forget)
        return response

    return page


def _socket_endpoint(original: Callable[..., Any], guard: Callable[..., Any]):
    from bokeh.util.token import get_session_id

    async def socket(websocket: WebSocket, claims: dict[str, Any] | None = Depends(guard)) -> None:
        # Under several Uvicorn workers the WebSocket may reach another worker than its page did, which then
        # builds the session from the token: the claims of this request are remembered for it here too.
        subprotocols = websocket.scope.get("subprotocols") or []
        session_id = None
        if claims is not None and len(subprotocols) == 2:
            try:
                session_id = get_session_id(subprotocols[1])
            except Exception:
                session_id = None  # not a Bokeh token: bokeh-fastapi refuses the connection itself
        if session_id is not None:
            sessions.remember(session_id, claims)
        try:
            await original(websocket)
        finally:
            if session_id is not None:
                sessions.forget(session_id)  # the connection is over; so is the session's use of the claims

    return socket
