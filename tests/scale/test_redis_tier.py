"""RedisTier against a real redis-server: the SecondTier contract, expiry, namespacing and outages."""

from __future__ import annotations

import time

import pandas as pd
import pytest
import redis
from support.local_redis import LocalRedis

from lumen_ext.cache import CacheConfig, FileTier, SecondTier, StageStore
from lumen_ext.cache.tiers import RedisTier, second_tier_for

KEY = "ab" * 20


def test_round_trip_implements_the_protocol_and_counts(redis_url):
    tier = RedisTier(redis_url)
    assert isinstance(tier, SecondTier)
    assert tier.get(KEY) is None
    tier.put(KEY, b"\x00payload\xff")
    assert tier.get(KEY) == b"\x00payload\xff"
    assert RedisTier(redis_url).get(KEY) == b"\x00payload\xff"  # another client (process) sees it
    stats = tier.stats()
    assert (stats["hits"], stats["misses"], stats["entries"], stats["bytes"]) == (1, 1, 1, 9)
    assert redis.Redis.from_url(redis_url).exists(f"lumen-ext:{KEY}")


def test_ttl_is_redis_expiry_and_zero_ttl_is_not_stored(redis_url):
    tier = RedisTier(redis_url)
    tier.put(KEY, b"x", ttl=0.05)
    assert 0 < redis.Redis.from_url(redis_url).pttl(f"lumen-ext:{KEY}") <= 50
    time.sleep(0.1)
    assert tier.get(KEY) is None
    tier.put("cd" * 20, b"x", ttl=0)
    assert tier.get("cd" * 20) is None and tier.stats()["rejected"] == 1


def test_namespaces_keep_deployments_apart_and_keys_are_checked(redis_url):
    RedisTier(redis_url, namespace="blue").put(KEY, b"blue")
    assert RedisTier(redis_url, namespace="green").get(KEY) is None
    with pytest.raises(ValueError, match="invalid cache key"):
        RedisTier(redis_url).get("lumen-ext:*")


def test_entries_over_the_size_limit_are_rejected(redis_url):
    tier = RedisTier(redis_url, max_entry_bytes=4)
    tier.put(KEY, b"12345")
    assert tier.get(KEY) is None and tier.stats()["rejected"] == 1


def test_an_outage_is_a_miss_with_back_off_then_recovery(caplog):
    server = LocalRedis().start()
    tier = RedisTier(server.url, timeout=0.5, retry_after=0.3)
    tier.put(KEY, b"v")
    server.stop()
    assert tier.get(KEY) is None
    tier.put(KEY, b"w")  # skipped during the back-off: no second timeout
    assert tier.get(KEY) is None
    assert tier.stats()["errors"] == 1
    assert sum("Redis cache tier" in r.getMessage() for r in caplog.records) == 1  # logged once, not per call
    assert not tier.ping()
    restarted = LocalRedis(port=server.port).start()  # the same server back, empty (no persistence)
    try:
        assert tier.ping()  # a readiness probe clears the back-off at once
        tier.put(KEY, b"back")
        assert tier.get(KEY) == b"back"
    finally:
        restarted.stop()


def test_stage_store_shares_frames_through_redis(redis_url):
    frame = pd.DataFrame({"region": ["E", "W", None], "qty": [1.5, float("nan"), 3.0]})
    first = StageStore(CacheConfig(), second=RedisTier(redis_url))
    first.put(KEY, frame)
    second = StageStore(CacheConfig(), second=RedisTier(redis_url))  # another process's empty memory tier
    pd.testing.assert_frame_equal(second.get(KEY), frame)
    assert second.stats()["redis"]["hits"] == 1 and second.stats()["memory"]["entries"] == 1


def test_second_tier_for_prefers_redis_then_files(tmp_path):
    assert second_tier_for(CacheConfig()) is None
    assert isinstance(second_tier_for(CacheConfig(disk_dir=tmp_path)), FileTier)
    tier = second_tier_for(CacheConfig(disk_dir=tmp_path, redis_url="redis://h:1/0", redis_namespace="ns"))
    assert isinstance(tier, RedisTier) and tier.namespace == "ns"
