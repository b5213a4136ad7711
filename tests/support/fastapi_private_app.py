"""A FastAPI application mounting one spec that has an ``auth:`` block (``PRIVATE_SPEC``), for the tests of how the
host's login and the spec's own rules combine. The login is a ``user`` cookie naming one of ``USERS``."""

from __future__ import annotations

import os
from typing import Any

from fastapi import Cookie, FastAPI

from lumen_ext.fastapi import mount

USERS: dict[str, dict[str, Any]] = {
    "alice": {"user": "alice", "email": "alice@example.com"},  # the spec's auth: block names her
    "bob": {"user": "bob", "email": "bob@example.com"},  # logged in, not named
    "carol": {"user": "carol"},  # logged in, but her login carries no email claim
}


def current_user(user: str | None = Cookie(default=None)) -> dict[str, Any] | None:
    return USERS.get(user or "")


app = FastAPI()
mount(app, "/private", [os.environ["PRIVATE_SPEC"]], auth=current_user)
