"""The small real datasets under ``sources/``, exported from the ``hvsampledata`` package.

``hvsampledata`` (BSD-3-Clause, HoloViz) ships a handful of real, well documented datasets inside its wheel.
The example specs read copies of them from ``sources/`` so that a dashboard never depends on where a
Python package happens to be installed. Every committed file is reproducible with
``lumen-ext data --samples`` and a test checks that the committed copies are still what this module writes.

CSV files are copied byte for byte. The penguins are converted to Parquet (the specs need one Parquet file
that is not the synthetic one) with explicit column types, so the ``NA`` markers of the R export become
proper nulls.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Sample:
    """One committed file in ``sources/`` and the ``hvsampledata`` file it comes from."""

    filename: str
    origin: str  # file name inside hvsampledata/_data
    convert: str  # "copy" or "parquet"


SAMPLES: tuple[Sample, ...] = (
    Sample("earthquakes.csv", "earthquakes.csv", "copy"),
    Sample("penguins.parquet", "penguins.csv", "parquet"),
    Sample("stocks_weekly.csv", "stocks.csv", "copy"),
    Sample("apple_daily.csv", "apple_stocks.csv", "copy"),
)

# Column types of the penguins Parquet file. Measurements are floats because 2 birds were never measured.
PENGUIN_TYPES = {
    "species": "string",
    "island": "string",
    "bill_length_mm": "float64",
    "bill_depth_mm": "float64",
    "flipper_length_mm": "float64",
    "body_mass_g": "float64",
    "sex": "string",
    "year": "int64",
}


def origin_path(sample: Sample) -> Path:
    """Where the installed ``hvsampledata`` keeps the original file."""
    try:
        root = importlib.resources.files("hvsampledata") / "_data"
    except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "exporting the sample datasets needs the 'hvsampledata' package (pip install hvsampledata)"
        ) from exc
    return Path(str(root / sample.origin))


def write_sample(sample: Sample, out_dir: Path) -> Path:
    """Write one sample file into ``out_dir`` and return its path."""
    target = out_dir / sample.filename
    source = origin_path(sample)
    if sample.convert == "copy":
        shutil.copyfile(source, target)
    elif sample.convert == "parquet":
        _csv_to_parquet(source, target)
    else:  # pragma: no cover - guarded by the SAMPLES table above
        raise ValueError(f"unknown conversion {sample.convert!r}")
    return target


def _csv_to_parquet(source: Path, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    column_types = {name: pa.type_for_alias(kind) for name, kind in PENGUIN_TYPES.items()}
    table = pacsv.read_csv(
        source,
        convert_options=pacsv.ConvertOptions(
            column_types=column_types, null_values=["NA"], strings_can_be_null=True
        ),
    )
    # Parquet embeds the writer's version ("created_by"), so the same input gives the same *values*, not
    # always the same bytes across pyarrow releases; the staleness test compares values for that reason.
    pq.write_table(table, target, compression="zstd")


def export_samples(out_dir: Path) -> list[Path]:
    """Write every sample into ``out_dir`` (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_sample(sample, out_dir) for sample in SAMPLES]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
