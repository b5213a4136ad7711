"""Several Uvicorn workers of the example FastAPI application share the stage cache through Redis, as
``lumen-ext serve --num-procs N --redis-url URL`` workers do: a pipeline state one worker computed is a Redis hit
in the other. ``LUMEN_EXT_REDIS_URL`` is how the operator names the tier (``mount(cache=True)`` reads it in every
worker).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from scale.helpers import metric_values
from support.fastapi_example import ALICE, serve_example
from support.local_redis import local_redis

pytestmark = pytest.mark.slow


def _per_process(text: str, stat: str, tier: str) -> dict[str, float]:
    found = metric_values(text, f"lumen_ext_cache_{stat}_total")
    return {k.split('process="')[1].split('"')[0]: v for k, v in found.items() if f'tier="{tier}"' in k}


def test_uvicorn_workers_share_computed_stages_through_redis(tmp_path):
    if shutil.which("redis-server") is None and not Path("/usr/bin/redis-server").exists():
        pytest.skip("redis-server is not installed")
    with (
        local_redis() as redis,
        serve_example(
            tmp_path, env={"LUMEN_EXT_REDIS_URL": redis.url}, extra_args=("--workers", "2")
        ) as example,
    ):
        answered: set[str] = set()
        redis_hits: dict[str, float] = {}
        rows = set()
        for _ in range(60):  # bounded: connections land on either worker, as the kernel hands them out
            status, _, body = example.get("/dashboards/data/penguins/birds_per_island?island=Dream", ALICE)
            assert status == 200, body[:500]
            rows.add(body)
            text = example.get("/dashboards/metrics", ALICE)[2].decode()
            answered.update(_per_process(text, "misses", "memory"))
            redis_hits.update(_per_process(text, "hits", "redis"))
            if len(answered) == 2 and any(redis_hits.values()):
                break
        log = example.log()
    assert len(answered) == 2, f"both workers answered /metrics:\n{log[-3000:]}"
    assert any(redis_hits.values()), "one worker's result was a Redis hit in the other"
    assert len(rows) == 1 and {row["island"] for row in json.loads(rows.pop())} == {"Dream"}
