"""Fixtures of the scale-out tests: a real redis-server and a served sales dashboard."""

from __future__ import annotations

import shutil

import pytest
from scale.helpers import serve, write_project
from support.local_redis import LocalRedis


@pytest.fixture(scope="session")
def redis_server():
    if shutil.which("redis-server") is None and not shutil.os.path.exists("/usr/bin/redis-server"):
        pytest.skip("redis-server is not installed")
    server = LocalRedis().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.close()
    return redis_server.url


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    return write_project(tmp_path_factory.mktemp("project"))


@pytest.fixture(scope="module")
def served(project, tmp_path_factory):
    # Closed sessions are destroyed after 0.5 s (Bokeh's default: 15 s), so a test can see it happen.
    specs = list(project.values())
    with serve(specs, "--session-lifetime", "500", log_dir=tmp_path_factory.mktemp("logs")) as server:
        yield server
