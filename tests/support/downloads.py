"""What a dashboard offers to download, the files read back, and how they compare with the data the server holds.

Lumen gives a view a download button (``lumen/downloads.py``) when the view's ``download`` or the spec's
``defaults.download`` names a ``format``. The file holds the view's data (``View.get_data()``, the pipeline's
result) with its index. The data to compare with comes from `lumen-ext serve`'s ``/data/APP/PIPELINE`` endpoint,
as Parquet, so types survive; the endpoint turns an index other than a plain range into an ``index`` column.
"""

from __future__ import annotations

import io
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

# How to read back each format Lumen offers (DOWNLOAD_FORMATS); the index is the file's first column.
READERS = {
    "csv": lambda path: pd.read_csv(path, index_col=0),
    "parquet": pd.read_parquet,
}


@dataclass(frozen=True)
class DeclaredDownload:
    layout: str
    view: str
    pipeline: str
    format: str


def declared_downloads(spec: Path) -> dict[str, list[DeclaredDownload]]:
    """Layout title -> the downloads its views offer, from the spec alone."""
    data = yaml.safe_load(spec.read_text())
    default = ((data.get("defaults") or {}).get("download") or {}).get("format")
    found: dict[str, list[DeclaredDownload]] = {}
    for layout in data["layouts"]:
        views = layout["views"]
        named = (
            views.items()
            if isinstance(views, dict)
            else ((v.get("name", str(i)), v) for i, v in enumerate(views))
        )
        offered = []
        for name, view in named:
            own = view.get("download")
            fmt = own.rsplit(".", 1)[-1] if isinstance(own, str) else (own or {}).get("format", default)
            if fmt is None:
                continue
            pipeline = view.get("pipeline", layout.get("pipeline"))
            if not isinstance(pipeline, str):
                pytest.fail(
                    f"{spec.name}: view {name!r} downloads data of no named pipeline; teach this test its data"
                )
            offered.append(DeclaredDownload(layout["title"], name, pipeline, fmt))
        found[layout["title"]] = offered
    return found


def read_download(path: Path, fmt: str) -> pd.DataFrame:
    if fmt not in READERS:
        pytest.fail(f"no reader for {fmt} downloads in tests/support/downloads.py")
    return READERS[fmt](path)


def pipeline_result(server_url: str, app: str, pipeline: str) -> pd.DataFrame:
    """A pipeline's result on a freshly opened page, from `lumen-ext serve`'s data endpoint at ``server_url``."""
    with urllib.request.urlopen(f"{server_url}/data/{app}/{pipeline}?format=parquet", timeout=60) as response:
        return pd.read_parquet(io.BytesIO(response.read()))


def difference(got: pd.DataFrame, expected: pd.DataFrame) -> str | None:
    """Why the downloaded ``got`` does not hold ``expected``'s rows (None when it does)."""
    expected = expected.copy()
    if "index" in expected.columns and "index" not in got.columns:
        index = expected.pop("index")
        if list(got.index) != list(index):
            return f"index {list(got.index)[:5]}... is not the pipeline's {list(index)[:5]}..."
    if list(got.columns) != list(expected.columns):
        return f"columns {list(got.columns)} are not {list(expected.columns)}"
    if len(got) != len(expected):
        return f"{len(got)} rows, not {len(expected)}"
    for column in expected.columns:
        if not _same_values(got[column].reset_index(drop=True), expected[column].reset_index(drop=True)):
            return f"column {column!r} differs: {got[column].head(3).tolist()} vs {expected[column].head(3).tolist()}"
    return None


def _same_values(got: pd.Series, expected: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(expected):
        parsed = pd.to_datetime(got, utc=expected.dt.tz is not None)
        return bool(
            (parsed.isna() == expected.isna()).all() and (parsed[expected.notna()] == expected.dropna()).all()
        )
    if pd.api.types.is_bool_dtype(expected) or pd.api.types.is_numeric_dtype(expected):
        got_numbers = pd.to_numeric(got, errors="coerce").to_numpy(dtype=float)
        return bool(
            np.allclose(
                got_numbers, expected.to_numpy(dtype=float, na_value=np.nan), rtol=1e-9, equal_nan=True
            )
        )
    missing = expected.isna()
    if not (got.isna() == missing).all():
        return False
    return bool((got[~missing].astype(str) == expected[~missing].astype(str)).all())
