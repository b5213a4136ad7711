"""The committed sample data in sources/ is exactly what `lumen-ext data --samples` writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import REPO

from lumen_ext.data import samples

pytest.importorskip("hvsampledata")
SOURCES = REPO / "sources"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("samples")
    samples.export_samples(out)
    return out


@pytest.mark.parametrize("sample", samples.SAMPLES, ids=[s.filename for s in samples.SAMPLES])
def test_committed_sample_is_fresh(sample: samples.Sample, exported: Path) -> None:
    committed, fresh = SOURCES / sample.filename, exported / sample.filename
    assert committed.is_file(), f"run `lumen-ext data --samples` to create {committed}"
    if sample.convert == "copy":
        assert committed.read_bytes() == fresh.read_bytes()
    else:
        import pyarrow.parquet as pq

        # Parquet records the writer's version, so compare values and types, not bytes.
        assert pq.read_table(committed).equals(pq.read_table(fresh))


def test_penguins_parquet_has_nulls_not_na_strings() -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(SOURCES / "penguins.parquet")
    assert table.num_rows == 344
    assert table.column("sex").null_count == 11
    assert table.column("body_mass_g").null_count == 2
    assert "NA" not in table.column("sex").to_pylist()


def test_readme_describes_every_file() -> None:
    readme = (SOURCES / "README.md").read_text(encoding="utf-8")
    for sample in samples.SAMPLES:
        assert sample.filename in readme
