"""Fixtures of the cache tests: small but awkward data (NaN, NULL, ties), and an installed cache."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from support.stage_cache import install, uninstall

from lumen_ext.cache import CacheConfig


def make_sales(rows: int = 600, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(
        {
            "region": rng.choice(["E", "W", "N", "S"], rows),
            "product": rng.choice(["apple", "Banana", "cherry", "date"], rows),
            "price": rng.integers(1, 50, rows) * 1.5,  # repeated values: sort ties are common
            "qty": rng.integers(0, 20, rows),
        }
    )
    df.loc[::17, "price"] = np.nan
    df.loc[5::41, "region"] = None
    return df


@pytest.fixture
def sales_files(tmp_path):
    df = make_sales()
    paths = {"parquet": tmp_path / "sales.parquet", "csv": tmp_path / "sales.csv"}
    df.to_parquet(paths["parquet"])
    df.to_csv(paths["csv"], index=False)
    return paths


@pytest.fixture
def cache():
    store = install(CacheConfig(max_bytes=64 * 1024 * 1024))
    store.clear()
    yield store
    uninstall()
