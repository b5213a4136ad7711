"""The host's login and the spec's own ``auth:`` block together: a mounted spec with ``auth: {email: ...}`` under a
real Uvicorn (``tests/support/fastapi_private_app.py``). The login decides who is someone; the block decides
which of them see the dashboard and its data, failing closed on a claim the login does not provide.
"""

from __future__ import annotations

import json

import pytest
from support.fastapi_example import serve_private

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fastapi-private")]

PAGE, DATA = "/private/private", "/private/data/private/penguins?species=Adelie"


@pytest.fixture(scope="module")
def private(tmp_path_factory):
    with serve_private(tmp_path_factory.mktemp("fastapi-private")) as served:
        yield served


@pytest.mark.parametrize("path", [PAGE, DATA])
def test_the_user_the_block_names_gets_the_page_and_the_data(private, path):
    status, _, body = private.get(path, "alice")
    assert status == 200, body[:500]
    if path == DATA:
        assert {row["species"] for row in json.loads(body)} == {"Adelie"}


@pytest.mark.parametrize("path", [PAGE, DATA])
@pytest.mark.parametrize(
    ("user", "status"),
    [(None, 401), ("bob", 403), ("carol", 403)],
    ids=["no-login", "not-named", "claim-missing"],
)
def test_everyone_else_is_refused(private, path, user, status):
    got, _, body = private.get(path, user)
    assert got == status
    if status == 403:
        assert json.loads(body) == {"detail": "the spec's auth: block does not admit this user"}
