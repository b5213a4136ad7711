"""A FastAPI application with one API route and two lumen-ext dashboards behind its own login.

Run it from the repository root (``pip install -e ".[fastapi]"`` first)::

    uvicorn docs.examples.fastapi_app:app --host 127.0.0.1 --port 8000

then log in as alice (both dashboards) or bob (penguins only) and open a dashboard:

    http://127.0.0.1:8000/login?token=alice-token
    http://127.0.0.1:8000/dashboards/penguins
    http://127.0.0.1:8000/dashboards/stocks

Served elsewhere (another port, behind a proxy), set ``LUMEN_EXT_PUBLIC_URL`` to the URL browsers use, so Panel's
files are served by this application instead of its CDN. ``docs/fastapi.md`` explains each part.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from fastapi import Cookie, Depends, FastAPI, HTTPException
from fastapi.responses import RedirectResponse

from lumen_ext.fastapi import current_dashboard, mount

SPECS = Path(__file__).resolve().parents[2] / "specs"
PUBLIC_URL = os.environ.get("LUMEN_EXT_PUBLIC_URL", "http://127.0.0.1:8000")

# A stand-in for the application's real login (OAuth, a session store, API keys): a cookie holding a token.
USERS: dict[str, dict[str, Any]] = {
    "alice-token": {"user": "alice", "email": "alice@example.com", "dashboards": ["penguins", "stocks"]},
    "bob-token": {"user": "bob", "email": "bob@example.com", "dashboards": ["penguins"]},
}


def current_user(session: str | None = Cookie(default=None)) -> dict[str, Any] | None:
    """The logged-in user's claims, or None (the dashboards then answer 401)."""
    return USERS.get(session or "")


def dashboard_user(
    user: dict[str, Any] | None = Depends(current_user),
    dashboard: str | None = Depends(current_dashboard),
) -> dict[str, Any] | None:
    """The auth dependency of the dashboards: who may open which one (the spec's own auth: block applies too)."""
    if user is not None and dashboard is not None and dashboard not in user["dashboards"]:
        raise HTTPException(403, f"{user['user']} may not open the {dashboard} dashboard")
    return user


app = FastAPI(title="lumen-ext in FastAPI")

dashboards = mount(
    app,
    "/dashboards",
    [SPECS / "penguins.yaml", SPECS / "stocks.yaml"],
    auth=dashboard_user,
    public_url=PUBLIC_URL,
)


@app.get("/api/dashboards")
def list_dashboards(user: dict[str, Any] | None = Depends(current_user)) -> dict[str, Any]:
    """The application's own API, next to the dashboards: which of them the caller may open."""
    allowed = set(user["dashboards"]) if user else set()
    return {
        "user": user["user"] if user else None,
        "dashboards": {url: url.rsplit("/", 1)[1] in allowed for url in dashboards.dashboards},
    }


@app.get("/login")
def login(token: str) -> RedirectResponse:
    """Demo login: remember the token in a cookie (a real application checks a password or an OAuth code)."""
    if token not in USERS:
        raise HTTPException(401, "unknown token")
    response = RedirectResponse("/api/dashboards", status_code=303)
    response.set_cookie("session", token, httponly=True, samesite="lax")
    return response
