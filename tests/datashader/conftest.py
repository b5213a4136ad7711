"""A small rides file and the density spec pointed at it, so the tests do not need the 10M-row file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support.paths import SPECS_DIR

SPEC = SPECS_DIR / "rides_density.yaml"
ROWS = 200_000
SERVICES = ["Standard", "Shared", "XL", "Premium"]


def make_rides(rows: int = ROWS, seed: int = 5) -> pd.DataFrame:
    """Pickups clustered like the synthetic NYC data: a dense centre and a sparse spread around it."""
    rng = np.random.default_rng(seed)
    dense = rng.random(rows) < 0.7
    lon = np.where(dense, rng.normal(-73.98, 0.02, rows), rng.uniform(-74.15, -73.72, rows))
    lat = np.where(dense, rng.normal(40.75, 0.02, rows), rng.uniform(40.58, 40.91, rows))
    start = np.datetime64("2024-01-01T00:00:00")
    return pd.DataFrame(
        {
            "pickup_at": start + rng.integers(0, 366 * 24 * 3600, rows).astype("timedelta64[s]"),
            "service": pd.Categorical(rng.choice(SERVICES, rows), categories=SERVICES),
            "pickup_lon": lon,
            "pickup_lat": lat,
        }
    )


@pytest.fixture(scope="session")
def small_density_spec(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """specs/rides_density.yaml reading a 200k-row file instead of the 10M one (same columns, same views)."""
    folder = tmp_path_factory.mktemp("density")
    parquet = folder / "rides_small.parquet"
    make_rides().to_parquet(parquet, index=False)
    text = SPEC.read_text(encoding="utf-8")
    original = "../sources/generated/rides_10m.parquet"
    assert original in text, "the spec no longer reads the generated rides file; update this fixture"
    spec = folder / "rides_density.yaml"
    spec.write_text(text.replace(original, str(parquet)), encoding="utf-8")
    return spec
