"""A large, deterministic, realistic synthetic dataset: one year of ride-hailing trips in New York City.

The ``rides`` spec and the benchmarks need a table far bigger than any sample dataset (10 million rows by
default) that still behaves like real data: trips follow the daily and weekly rhythm of a city, fares depend
on distance, time, service level and surge pricing, and pickups and dropoffs scatter around real
neighbourhood centroids. It is generated on first use and never committed (``sources/generated/`` is
git-ignored).

How it is built, and why:

* Rows are produced in fixed-size chunks, each written as one Parquet row group, so memory stays flat
  (about 250 MB at 1M rows per chunk) whatever the row count.
* Chunk ``i`` draws from its own ``numpy`` generator seeded with ``SeedSequence(seed, spawn_key=(i,))``:
  the output depends only on ``(seed, rows)``, never on timing or on how many chunks ran before.
* Everything is vectorised numpy; strings are written as Arrow dictionary arrays (a small dictionary plus
  ``int8`` codes), which is also what makes them cheap to group by in DuckDB.
* The file carries a stamp in its Parquet key-value metadata (dataset, version, rows, seed). A file whose
  stamp matches is reused as is; bump ``VERSION`` whenever the generated values change.
* The file is written under a temporary name and renamed into place, and concurrent callers serialise
  on a lock file, so a crash or a parallel test run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lumen_ext.filelock import exclusive

if TYPE_CHECKING:  # heavy imports stay out of module import time
    import numpy as np
    import pyarrow as pa

DATASET = "rides"
VERSION = 1
DEFAULT_ROWS = 10_000_000
DEFAULT_SEED = 20240101
CHUNK_ROWS = 1_000_000
METADATA_KEY = b"lumen_ext.synthetic"
YEAR = 2024  # a leap year: 366 days

# Default output folder: <repository>/sources/generated, next to the committed sample data.
DEFAULT_OUT_DIR = Path(__file__).resolve().parents[2] / "sources" / "generated"


@dataclass(frozen=True)
class Zone:
    name: str
    borough: str
    lat: float
    lon: float
    weight: float  # relative share of pickups
    spread_km: float  # standard deviation of pickup locations around the centroid


# Neighbourhood centroids (WGS84) of New York City; weights loosely follow NYC TLC high-volume
# for-hire-vehicle pickup shares, with Manhattan dominating and airports over-represented.
ZONES: tuple[Zone, ...] = (
    Zone("Midtown", "Manhattan", 40.7549, -73.9840, 13.0, 0.9),
    Zone("Financial District", "Manhattan", 40.7075, -74.0113, 5.0, 0.5),
    Zone("Upper East Side", "Manhattan", 40.7736, -73.9566, 7.0, 0.8),
    Zone("Upper West Side", "Manhattan", 40.7870, -73.9754, 6.0, 0.8),
    Zone("Harlem", "Manhattan", 40.8116, -73.9465, 4.5, 0.9),
    Zone("Chelsea", "Manhattan", 40.7465, -74.0014, 6.0, 0.6),
    Zone("Greenwich Village", "Manhattan", 40.7336, -74.0027, 5.5, 0.5),
    Zone("Lower East Side", "Manhattan", 40.7150, -73.9843, 5.0, 0.6),
    Zone("Williamsburg", "Brooklyn", 40.7081, -73.9571, 5.0, 0.9),
    Zone("Downtown Brooklyn", "Brooklyn", 40.6928, -73.9903, 3.5, 0.7),
    Zone("Park Slope", "Brooklyn", 40.6710, -73.9814, 3.0, 0.8),
    Zone("Bushwick", "Brooklyn", 40.6958, -73.9171, 3.0, 1.0),
    Zone("Crown Heights", "Brooklyn", 40.6694, -73.9422, 3.0, 1.0),
    Zone("Long Island City", "Queens", 40.7447, -73.9485, 2.5, 0.8),
    Zone("Astoria", "Queens", 40.7644, -73.9235, 3.0, 1.0),
    Zone("Flushing", "Queens", 40.7675, -73.8331, 2.5, 1.2),
    Zone("Jamaica", "Queens", 40.7027, -73.7890, 2.0, 1.3),
    Zone("JFK Airport", "Queens", 40.6413, -73.7781, 4.0, 0.6),
    Zone("LaGuardia Airport", "Queens", 40.7769, -73.8740, 3.5, 0.4),
    Zone("South Bronx", "Bronx", 40.8167, -73.9170, 2.5, 1.2),
    Zone("Fordham", "Bronx", 40.8615, -73.8904, 2.0, 1.2),
    Zone("St. George", "Staten Island", 40.6437, -74.0736, 1.0, 1.5),
)
BOROUGHS: tuple[str, ...] = tuple(dict.fromkeys(z.borough for z in ZONES))

# Service levels: (name, share of trips, fare multiplier, max passengers)
SERVICES: tuple[tuple[str, float, float, int], ...] = (
    ("Standard", 0.62, 1.00, 4),
    ("Shared", 0.12, 0.75, 2),
    ("XL", 0.16, 1.50, 6),
    ("Premium", 0.10, 2.10, 4),
)
PAYMENTS: tuple[tuple[str, float], ...] = (("Card", 0.64), ("Wallet", 0.28), ("Cash", 0.08))

# Share of trips starting in each hour of the day, on weekdays and at weekends (TLC-like shapes:
# commuter peaks on weekdays, late nights at weekends).
WEEKDAY_HOURS = (
    1.6, 1.0, 0.7, 0.6, 0.9, 1.8, 3.4, 5.2, 6.0, 5.0, 4.3, 4.3,
    4.6, 4.6, 4.9, 5.3, 5.9, 6.6, 6.9, 6.2, 5.4, 5.0, 4.3, 3.0,
)  # fmt: skip
WEEKEND_HOURS = (
    4.2, 3.6, 2.8, 2.0, 1.3, 1.0, 1.2, 1.7, 2.5, 3.4, 4.3, 4.9,
    5.2, 5.3, 5.3, 5.3, 5.4, 5.6, 5.9, 5.9, 5.7, 5.7, 5.6, 5.1,
)  # fmt: skip
# Average road speed (km/h) by hour: congestion at the commuter peaks, free-flowing at night.
SPEED_KMH = (
    31, 33, 34, 34, 32, 28, 22, 17, 15, 17, 19, 19,
    18, 18, 18, 17, 15, 14, 15, 18, 21, 24, 27, 29,
)  # fmt: skip

BASE_FARE = 2.75
PER_KM = 1.15
PER_MINUTE = 0.45
MIN_FARE = 8.0
AIRPORT_FEE = 5.0


def rows_label(rows: int) -> str:
    """Short, exact label for a row count: 10_000_000 -> '10m', 250_000 -> '250k', 1234 -> '1234'."""
    for size, suffix in ((1_000_000_000, "b"), (1_000_000, "m"), (1_000, "k")):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{suffix}"
    return str(rows)


def synthetic_path(rows: int = DEFAULT_ROWS, out_dir: Path | None = None) -> Path:
    """Where the file for ``rows`` rows lives, e.g. ``sources/generated/rides_10m.parquet``."""
    return Path(out_dir or DEFAULT_OUT_DIR) / f"{DATASET}_{rows_label(rows)}.parquet"


def stamp(rows: int, seed: int) -> dict[str, object]:
    return {"dataset": DATASET, "version": VERSION, "rows": rows, "seed": seed}


def read_stamp(path: Path) -> dict[str, object] | None:
    """The stamp of an existing file, or None when the file is missing, unreadable or unstamped."""
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_metadata(path)
    except (OSError, ValueError):  # missing, truncated or not Parquet
        return None
    raw = (metadata.metadata or {}).get(METADATA_KEY)
    if raw is None:
        return None
    found = json.loads(raw)
    # Trust the footer's row count over the stamp: it is what readers will see.
    return found if found.get("rows") == metadata.num_rows else None


def is_current(path: Path, rows: int, seed: int = DEFAULT_SEED) -> bool:
    return read_stamp(path) == stamp(rows, seed)


def ensure_synthetic(
    rows: int = DEFAULT_ROWS,
    out_dir: Path | None = None,
    *,
    seed: int = DEFAULT_SEED,
    force: bool = False,
) -> Path:
    """Return the path of the synthetic rides file with ``rows`` rows, generating it when needed.

    An existing file is reused when its stamp matches ``rows``, ``seed`` and the current ``VERSION``;
    ``force=True`` regenerates it regardless.
    """
    if rows < 1:
        raise ValueError(f"rows must be a positive integer, got {rows}")
    path = synthetic_path(rows, out_dir)
    if not force and is_current(path, rows, seed):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with exclusive(path.with_name(path.name + ".lock")):
        # Another process may have written it while we waited for the lock.
        if force or not is_current(path, rows, seed):
            write_synthetic(path, rows, seed)
    return path


def write_synthetic(path: Path, rows: int, seed: int = DEFAULT_SEED, chunk_rows: int = CHUNK_ROWS) -> Path:
    """Generate ``rows`` trips into ``path`` (overwriting it), one row group per chunk."""
    import pyarrow.parquet as pq

    schema = arrow_schema().with_metadata({METADATA_KEY: json.dumps(stamp(rows, seed)).encode()})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with pq.ParquetWriter(tmp, schema, compression="zstd", compression_level=1) as writer:
            for batch in iter_batches(rows, seed, chunk_rows):
                writer.write_table(batch.cast(schema), row_group_size=chunk_rows)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def iter_batches(rows: int, seed: int = DEFAULT_SEED, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.Table]:
    """Yield the dataset as Arrow tables of at most ``chunk_rows`` rows."""
    import numpy as np

    for index, start in enumerate(range(0, rows, chunk_rows)):
        size = min(chunk_rows, rows - start)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
        yield generate_chunk(rng, size, first_id=start + 1)


def arrow_schema() -> pa.Schema:
    import pyarrow as pa

    category = pa.dictionary(pa.int8(), pa.string())
    return pa.schema(
        [
            pa.field("trip_id", pa.int64(), nullable=False),
            pa.field("pickup_at", pa.timestamp("us"), nullable=False),
            pa.field("dropoff_at", pa.timestamp("us"), nullable=False),
            pa.field("pickup_zone", category, nullable=False),
            pa.field("pickup_borough", category, nullable=False),
            pa.field("dropoff_zone", category, nullable=False),
            pa.field("dropoff_borough", category, nullable=False),
            pa.field("service", category, nullable=False),
            pa.field("payment", category, nullable=False),
            pa.field("passengers", pa.int8(), nullable=False),
            pa.field("distance_km", pa.float64(), nullable=False),
            pa.field("duration_min", pa.float64(), nullable=False),
            pa.field("surge", pa.float64(), nullable=False),
            pa.field("fare_usd", pa.float64(), nullable=False),
            pa.field("tip_usd", pa.float64(), nullable=False),
            pa.field("rating", pa.int8(), nullable=True),
            pa.field("pickup_lon", pa.float64(), nullable=False),
            pa.field("pickup_lat", pa.float64(), nullable=False),
            pa.field("dropoff_lon", pa.float64(), nullable=False),
            pa.field("dropoff_lat", pa.float64(), nullable=False),
        ]
    )


def generate_chunk(rng: np.random.Generator, size: int, first_id: int = 1) -> pa.Table:
    """One chunk of ``size`` trips drawn from ``rng``."""
    import numpy as np
    import pyarrow as pa

    zone_weights = np.array([z.weight for z in ZONES])
    zone_weights /= zone_weights.sum()
    zone_lat = np.array([z.lat for z in ZONES])
    zone_lon = np.array([z.lon for z in ZONES])
    zone_spread = np.array([z.spread_km for z in ZONES])
    zone_borough = np.array([BOROUGHS.index(z.borough) for z in ZONES], dtype=np.int8)
    airports = np.array(["Airport" in z.name for z in ZONES])

    # --- when: day of the year, then an hour drawn from that day's weekday or weekend profile.
    days = np.arange(366)
    day_of_week = (days + _weekday_of_jan_1()) % 7  # Monday = 0
    # Busier towards the holidays, quieter in late summer; Fridays and Saturdays are the busiest days.
    seasonal = 1.0 + 0.12 * np.cos(2 * np.pi * (days - 350) / 366)
    weekly = np.array([0.92, 0.95, 0.98, 1.02, 1.14, 1.16, 0.95])[day_of_week]
    day_weights = seasonal * weekly
    day = rng.choice(366, size=size, p=day_weights / day_weights.sum())
    weekend = day_of_week[day] >= 5
    hour = np.where(
        weekend,
        _draw(rng, np.array(WEEKEND_HOURS), size),
        _draw(rng, np.array(WEEKDAY_HOURS), size),
    )
    seconds = rng.integers(0, 3600, size=size)
    start_of_year = np.datetime64(f"{YEAR}-01-01T00:00:00", "us")
    pickup_at = start_of_year + (day * 86_400 + hour * 3600 + seconds).astype("timedelta64[s]")

    # --- where: a pickup zone by popularity, then a dropoff zone that favours popular, nearby zones.
    pickup_zone = rng.choice(len(ZONES), size=size, p=zone_weights)
    dropoff_zone = np.empty(size, dtype=np.int64)
    for zone, probabilities in enumerate(_dropoff_matrix(zone_lat, zone_lon, zone_weights)):
        starts_here = np.flatnonzero(pickup_zone == zone)
        dropoff_zone[starts_here] = rng.choice(len(ZONES), size=starts_here.size, p=probabilities)
    pickup_lat, pickup_lon = _scatter(
        rng, zone_lat[pickup_zone], zone_lon[pickup_zone], zone_spread[pickup_zone]
    )
    dropoff_lat, dropoff_lon = _scatter(
        rng, zone_lat[dropoff_zone], zone_lon[dropoff_zone], zone_spread[dropoff_zone]
    )

    # --- how far and how long: road distance is the great-circle distance times a detour factor.
    straight_km = _haversine_km(pickup_lat, pickup_lon, dropoff_lat, dropoff_lon)
    distance_km = np.maximum(straight_km * 1.3 * rng.lognormal(0.0, 0.15, size) + 0.4, 0.5)
    speed_kmh = np.array(SPEED_KMH, dtype=float)[hour] * rng.lognormal(0.0, 0.2, size)
    duration_min = distance_km / speed_kmh * 60 + rng.gamma(2.0, 1.0, size)  # plus boarding time

    # --- who and how much.
    service = rng.choice(len(SERVICES), size=size, p=[s[1] for s in SERVICES])
    multiplier = np.array([s[2] for s in SERVICES])[service]
    max_passengers = np.array([s[3] for s in SERVICES])[service]
    passengers = np.minimum(rng.geometric(0.62, size), max_passengers).astype(np.int8)
    peak = np.isin(hour, (7, 8, 17, 18, 19)) | (weekend & np.isin(hour, (0, 1, 2, 22, 23)))
    surge = np.clip(1.0 + np.maximum(rng.normal(np.where(peak, 0.25, -0.1), 0.25), 0.0), 1.0, 3.0)
    surge = np.round(surge, 1)
    airport_trip = airports[pickup_zone] | airports[dropoff_zone]
    fare = (BASE_FARE + PER_KM * distance_km + PER_MINUTE * duration_min) * multiplier * surge
    fare = np.round(np.maximum(fare, MIN_FARE) + AIRPORT_FEE * airport_trip, 2)
    payment = rng.choice(len(PAYMENTS), size=size, p=[p[1] for p in PAYMENTS])
    tips = (payment != 2) & (rng.random(size) < 0.7)  # cash tips are never recorded
    tip = np.round(np.where(tips, fare * rng.choice([0.10, 0.15, 0.18, 0.20, 0.25], size=size), 0.0), 2)
    rated = rng.random(size) < 0.8
    rating = rng.choice(np.arange(1, 6, dtype=np.int8), size=size, p=[0.01, 0.02, 0.06, 0.21, 0.70])

    dropoff_at = pickup_at + np.round(duration_min * 60).astype("timedelta64[s]")
    return pa.table(
        {
            "trip_id": np.arange(first_id, first_id + size, dtype=np.int64),
            "pickup_at": pickup_at,
            "dropoff_at": dropoff_at,
            "pickup_zone": _categories(pickup_zone, [z.name for z in ZONES]),
            "pickup_borough": _categories(zone_borough[pickup_zone], BOROUGHS),
            "dropoff_zone": _categories(dropoff_zone, [z.name for z in ZONES]),
            "dropoff_borough": _categories(zone_borough[dropoff_zone], BOROUGHS),
            "service": _categories(service, [s[0] for s in SERVICES]),
            "payment": _categories(payment, [p[0] for p in PAYMENTS]),
            "passengers": passengers,
            "distance_km": np.round(distance_km, 2),
            "duration_min": np.round(duration_min, 1),
            "surge": surge,
            "fare_usd": fare,
            "tip_usd": tip,
            "rating": pa.array(rating, mask=~rated),
            "pickup_lon": np.round(pickup_lon, 5),
            "pickup_lat": np.round(pickup_lat, 5),
            "dropoff_lon": np.round(dropoff_lon, 5),
            "dropoff_lat": np.round(dropoff_lat, 5),
        }
    )


def _weekday_of_jan_1() -> int:
    import datetime as dt

    return dt.date(YEAR, 1, 1).weekday()


def _dropoff_matrix(lat: np.ndarray, lon: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Row ``i``: probability of each dropoff zone for a pickup in zone ``i``.

    A gravity model: popularity times a distance decay of 6 km, plus extra weight on staying in the zone.
    """
    import numpy as np

    distance = _haversine_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    attraction = weights[None, :] * np.exp(-distance / 6.0) + 0.25 * np.eye(len(weights)) * weights[:, None]
    return attraction / attraction.sum(axis=1, keepdims=True)


def _draw(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    return rng.choice(len(weights), size=size, p=weights / weights.sum())


def _scatter(
    rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, spread_km: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian scatter of ``spread_km`` around each centroid, converted to degrees at that latitude."""
    import numpy as np

    km_per_degree_lat = 110.57
    km_per_degree_lon = 111.32 * np.cos(np.radians(lat))
    dlat = rng.normal(0.0, 1.0, lat.shape) * spread_km / km_per_degree_lat
    dlon = rng.normal(0.0, 1.0, lon.shape) * spread_km / km_per_degree_lon
    return lat + dlat, lon + dlon


def _haversine_km(lat1, lon1, lat2, lon2):
    import numpy as np

    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


def _categories(codes: np.ndarray, names) -> pa.DictionaryArray:
    import pyarrow as pa

    return pa.DictionaryArray.from_arrays(codes.astype("int8"), pa.array(list(names), pa.string()))
