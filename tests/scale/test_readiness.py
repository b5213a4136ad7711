"""/readyz says whether this worker can serve its dashboards: a missing or corrupt data file makes it unready until
the file is back; a Redis outage does not (the worker serves from memory, /metrics says the tier is down), and
sharing resumes when Redis is back. Real servers, real files, a real redis-server."""

from __future__ import annotations

import json
import shutil
import time

import pytest
from scale.helpers import make_sales, metric_values, serve
from support.local_redis import LocalRedis
from support.sales import SALES_SPEC

READY_TTL = 5.0  # /readyz remembers its checks this long (endpoints.routes' ready_ttl)


def _ready(server, want: bool, seconds: float = READY_TTL + 10) -> dict:
    """The /readyz report once its readiness is ``want`` (bounded: the probe's memory plus the check)."""
    deadline = time.monotonic() + seconds
    while True:
        status, _, body = server.get("/readyz")
        report = json.loads(body)
        assert status == (200 if report["ready"] else 503)
        if report["ready"] is want or time.monotonic() > deadline:
            return report
        time.sleep(0.5)


@pytest.fixture
def parquet_project(tmp_path):
    folder = tmp_path / "project"
    folder.mkdir()
    make_sales().to_parquet(folder / "sales.parquet")
    spec = folder / "sales.yaml"
    spec.write_text(SALES_SPEC.replace("sales.csv", "sales.parquet"))
    return spec


@pytest.mark.parametrize("fault", ["deleted", "corrupt"])
def test_a_broken_data_file_makes_the_worker_unready_until_it_is_back(parquet_project, tmp_path, fault):
    data = parquet_project.with_name("sales.parquet")
    kept = tmp_path / "kept.parquet"
    shutil.copy(data, kept)
    with serve([parquet_project], log_dir=tmp_path) as server:
        assert _ready(server, True)["ready"] is True
        if fault == "deleted":
            data.unlink()
        else:
            data.write_bytes(b"PAR1" + b"\0" * 64)  # the magic bytes, then no valid footer
        report = _ready(server, False)
        assert report["ready"] is False, report
        assert list(report["problems"]) == ["sales.sources.sales"], report
        # The data endpoint answers in JSON with a status and the error id the server log repeats.
        status, headers, body = server.get("/data/sales/by_product?region=East&format=json")
        answer = json.loads(body)
        assert status in (500, 503) and headers["Content-Type"] == "application/json", body
        assert answer["status"] == status and answer["error_id"] in server.log.read_text(), answer
        shutil.copy(kept, data)
        assert _ready(server, True)["ready"] is True


def test_a_redis_outage_degrades_the_cache_not_readiness(parquet_project, tmp_path):
    redis = LocalRedis().start()
    try:
        with serve([parquet_project], "--redis-url", redis.url, log_dir=tmp_path) as server:
            assert _ready(server, True)["cache"]["second_tier_up"] is True
            port = redis.port
            redis.stop()
            deadline = time.monotonic() + READY_TTL + 10
            while True:  # bounded: the probe's memory of the last check, then one check
                status, _, body = server.get("/readyz")
                report = json.loads(body)
                if "degraded" in report["cache"] or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert status == 200 and report["ready"] is True, report
            assert "Redis" in report["cache"]["degraded"]
            metrics = server.get("/metrics")[2].decode()
            assert list(metric_values(metrics, "lumen_ext_cache_second_tier_up").values()) == [0]
            # Interactions still succeed, from the memory tier.
            status, _, body = server.get("/data/sales/by_product?region=North&format=json")
            assert status == 200 and json.loads(body), body
            # Redis back on the same port: the tier is up again and new results reach it.
            redis = LocalRedis(port=port).start()
            deadline = time.monotonic() + READY_TTL + 10
            while json.loads(server.get("/readyz")[2])["cache"].get("second_tier_up") is not True:
                assert time.monotonic() < deadline, "the Redis tier did not come back"
                time.sleep(0.5)
            status, _, _ = server.get("/data/sales/by_product?region=South&format=json")
            assert status == 200
            import redis as redis_client

            client = redis_client.Redis.from_url(redis.url)
            try:
                assert client.dbsize() > 0, "a stage computed after the restart reached Redis"
            finally:
                client.close()
            log = server.log.read_text()
        assert "Traceback" not in log
    finally:
        redis.stop()
