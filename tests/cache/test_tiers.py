import time

import numpy as np
import pandas as pd
import pytest

from lumen_ext.cache import CacheConfig, FileTier, MemoryTier, SecondTier, StageStore
from lumen_ext.cache.store import frame_nbytes, frame_to_ipc, ipc_to_frame


def test_memory_tier_evicts_least_recently_used_to_stay_within_bytes():
    tier = MemoryTier(max_bytes=100)
    tier.put("a", "A", 40)
    tier.put("b", "B", 40)
    assert tier.get("a") == "A"  # "b" is now the least recently used
    tier.put("c", "C", 40)
    assert tier.get("b") is None
    assert tier.get("a") == "A" and tier.get("c") == "C"
    stats = tier.stats()
    assert stats["entries"] == 2 and stats["bytes"] == 80 and stats["evictions"] == 1
    assert stats["hits"] == 3 and stats["misses"] == 1


def test_memory_tier_rejects_an_entry_bigger_than_the_budget_and_expires_by_ttl():
    tier = MemoryTier(max_bytes=10)
    assert tier.put("big", "x", 11) is False
    assert tier.stats()["rejected"] == 1
    tier.put("k", "v", 1, ttl=0.05)
    assert tier.get("k") == "v"
    time.sleep(0.06)
    assert tier.get("k") is None
    assert tier.stats()["expirations"] == 1


def test_file_tier_round_trips_and_implements_the_protocol(tmp_path):
    tier = FileTier(tmp_path / "c", max_bytes=10_000)
    assert isinstance(tier, SecondTier)
    assert tier.get("ab" * 10) is None
    tier.put("ab" * 10, b"payload")
    assert tier.get("ab" * 10) == b"payload"
    assert not list((tmp_path / "c").rglob(".tmp-*"))  # the temporary file was renamed into place
    # a new instance (another process) sees the same entries
    assert FileTier(tmp_path / "c", max_bytes=10_000).stats()["entries"] == 1


def test_file_tier_expiry_eviction_and_key_validation(tmp_path):
    tier = FileTier(tmp_path, max_bytes=300)
    tier.put("aa" * 10, b"x" * 100, ttl=0.01)
    time.sleep(0.02)
    assert tier.get("aa" * 10) is None and tier.stats()["expirations"] == 1
    for i, key in enumerate(["b1" * 10, "c2" * 10, "d3" * 10]):
        tier.put(key, bytes([i]) * 100)
        time.sleep(0.01)  # distinct mtimes order the eviction
    assert tier.get("b1" * 10) is None  # the oldest went to make room
    assert tier.get("d3" * 10) == bytes([2]) * 100
    assert tier.stats()["bytes"] <= 300
    with pytest.raises(ValueError, match="invalid cache key"):
        tier.get("../../etc/passwd")


def test_ipc_round_trip_keeps_values_index_and_dtypes():
    df = pd.DataFrame(
        {
            "s": ["a", None, "c"],
            "f": [1.5, np.nan, 2.0],
            "i": [1, 2, 3],
            "t": pd.date_range("2024", periods=3),
        }
    ).set_index("s")
    pd.testing.assert_frame_equal(ipc_to_frame(frame_to_ipc(df)), df)


def test_handed_out_frames_cannot_corrupt_the_cache():
    store = StageStore(CacheConfig(max_bytes=10**8))
    original = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    handed = store.put("k" * 8, original)
    handed["x"] = 0
    handed.loc[0, "y"] = "z"
    again = store.get("k" * 8)
    again.iloc[1, 0] = 99
    with pytest.raises(ValueError, match="read-only"):
        again["x"].to_numpy()[0] = 5
    pd.testing.assert_frame_equal(store.get("k" * 8), pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", "c"]}))


def test_store_falls_back_to_the_second_tier_and_promotes(tmp_path):
    config = CacheConfig(max_bytes=10**8, disk_dir=tmp_path)
    df = pd.DataFrame({"x": np.arange(10)})
    StageStore(config).put("ab" * 10, df)
    fresh = StageStore(config)  # a new process: empty memory, same directory
    pd.testing.assert_frame_equal(fresh.get("ab" * 10), df, check_index_type=True)
    stats = fresh.stats()
    assert stats["disk"]["hits"] == 1 and stats["memory"]["entries"] == 1
    assert stats["memory"]["bytes"] == frame_nbytes(df)
