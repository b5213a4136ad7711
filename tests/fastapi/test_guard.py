"""The guard every mounted route depends on, on a small FastAPI application in this process (no Panel, no hooks):
the host's auth dependency decides, and anything but a user's claims refuses the request.

The spec ``private.yaml`` has an ``auth: {email: ...}`` block; ``open.yaml`` has none. Routes ``/d/{name}`` stand
for a dashboard page, so that ``current_dashboard`` names the spec as on a mounted page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from fastapi import Cookie, Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocket

from lumen_ext.fastapi.guard import DASHBOARD_ATTR, as_claims, current_dashboard, make_guard

OPEN = "config:\n  title: open\n"
PRIVATE = "auth:\n  email: alice@example.com\nconfig:\n  title: private\n"


class User(BaseModel):
    user: str
    email: str | None = None


def cookie_user(user: str | None = Cookie(default=None)) -> User | None:
    return {"alice": User(user="alice", email="alice@example.com"), "carol": User(user="carol")}.get(
        user or ""
    )


async def async_cookie_user(user: str | None = Cookie(default=None)) -> dict | None:
    return {"alice": {"email": "alice@example.com"}}.get(user or "")


def broken_backend(user: str | None = Cookie(default=None)) -> dict:
    raise ConnectionError("identity provider unreachable")


def teapot(user: str | None = Cookie(default=None)) -> dict:
    raise HTTPException(418, "the host's own refusal")


class ApiKeys:
    """A class-based dependency, as FastAPI's security schemes are."""

    async def __call__(self, key: str | None = Cookie(default=None)) -> dict | None:
        return {"user": "robot"} if key == "secret" else None


def _app(auth, tmp_path, **options) -> TestClient:
    (tmp_path / "open.yaml").write_text(OPEN)
    (tmp_path / "private.yaml").write_text(PRIVATE)
    specs = {name: tmp_path / f"{name}.yaml" for name in ("open", "private")}
    guard = make_guard(auth, specs, **options)
    app = FastAPI()
    for name in specs:

        async def page(claims=Depends(guard), dashboard=Depends(current_dashboard)) -> dict:
            return {"claims": claims, "dashboard": dashboard}

        async def socket(websocket: WebSocket, claims=Depends(guard)) -> None:
            await websocket.accept()
            await websocket.send_json(claims)
            await websocket.close()

        app.add_api_route(f"/d/{name}", page)
        setattr(app.router.routes[-1], DASHBOARD_ATTR, name)
        app.add_api_websocket_route(f"/d/{name}/ws", socket)
        setattr(app.router.routes[-1], DASHBOARD_ATTR, name)
    return TestClient(app)


@pytest.mark.parametrize("auth", [cookie_user, async_cookie_user, ApiKeys()], ids=["sync", "async", "class"])
def test_no_login_is_401(tmp_path, auth):
    response = _app(auth, tmp_path).get("/d/open")
    assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"


def test_the_claims_reach_the_route_and_name_the_dashboard(tmp_path):
    client = _app(cookie_user, tmp_path)
    client.cookies.set("user", "alice")
    assert client.get("/d/open").json() == {
        "claims": {"user": "alice", "email": "alice@example.com"},
        "dashboard": "open",
    }
    client = _app(ApiKeys(), tmp_path)
    client.cookies.set("key", "secret")
    assert client.get("/d/open").json()["claims"] == {"user": "robot"}


def test_a_failing_auth_backend_refuses_with_an_error_id_in_the_log(tmp_path, caplog):
    with caplog.at_level(logging.ERROR, logger="lumen_ext"):
        response = _app(broken_backend, tmp_path).get("/d/open")
    assert response.status_code == 403
    error_id = response.json()["detail"].removeprefix("authentication failed (error ").rstrip(")")
    assert (
        error_id.startswith("lx-")
        and error_id in caplog.text
        and "identity provider unreachable" in caplog.text
    )


def test_the_hosts_own_http_exception_is_its_answer(tmp_path):
    response = _app(teapot, tmp_path).get("/d/open")
    assert (response.status_code, response.json()) == (418, {"detail": "the host's own refusal"})


@pytest.mark.parametrize(("user", "status"), [("alice", 200), ("carol", 403)], ids=["named", "claim-missing"])
def test_the_specs_auth_block_applies_to_the_claims(tmp_path, user, status):
    client = _app(cookie_user, tmp_path)
    client.cookies.set("user", user)
    assert client.get("/d/private").status_code == status
    assert client.get("/d/open").status_code == 200


def test_without_an_auth_dependency_only_specs_without_an_auth_block_open(tmp_path):
    client = _app(None, tmp_path)
    assert client.get("/d/open").json() == {"claims": None, "dashboard": "open"}
    assert client.get("/d/private").status_code == 403
    (tmp_path / "dev").mkdir()
    assert (
        _app(None, tmp_path / "dev", dev=True).get("/d/private").status_code == 200
    )  # the policy's dev mode


def test_websockets_need_the_login_and_the_same_site(tmp_path):
    client = _app(cookie_user, tmp_path, websocket_origins=["partner.example:443"])
    with pytest.raises(WebSocketDenialResponse) as refused, client.websocket_connect("/d/open/ws"):
        pass
    assert refused.value.status_code == 401
    client.cookies.set("user", "alice")
    for origin in ("http://testserver", "https://partner.example:443"):
        with client.websocket_connect("/d/open/ws", headers={"origin": origin}) as socket:
            assert socket.receive_json()["user"] == "alice"
    with (
        pytest.raises(WebSocketDenialResponse) as refused,
        client.websocket_connect("/d/open/ws", headers={"origin": "http://attacker.example"}),
    ):
        pass
    assert refused.value.status_code == 403


@dataclass
class Claims:
    email: str


@pytest.mark.parametrize(
    ("user", "claims"),
    [
        ({"email": "a@b"}, {"email": "a@b"}),
        (User(user="u"), {"user": "u", "email": None}),
        (Claims("a@b"), {"email": "a@b"}),
        ("alice", {"user": "alice"}),
    ],
    ids=["mapping", "pydantic", "dataclass", "name"],
)
def test_what_a_dependency_returns_becomes_claims(user, claims):
    assert as_claims(user) == claims
