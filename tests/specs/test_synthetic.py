"""The synthetic rides generator: deterministic, honours --rows, idempotent, and realistic."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lumen_ext import cli
from lumen_ext.data import synthetic

ROWS = 5_000
CHUNK = 2_000  # several row groups, one of them partial


def generate(path: Path, rows: int = ROWS, seed: int = synthetic.DEFAULT_SEED) -> Path:
    return synthetic.write_synthetic(path, rows, seed, chunk_rows=CHUNK)


class TestDeterminism:
    def test_same_seed_same_values(self, tmp_path: Path) -> None:
        first = pq.read_table(generate(tmp_path / "a.parquet"))
        second = pq.read_table(generate(tmp_path / "b.parquet"))
        assert first.equals(second)

    def test_other_seed_other_values(self, tmp_path: Path) -> None:
        first = pq.read_table(generate(tmp_path / "a.parquet"))
        other = pq.read_table(generate(tmp_path / "b.parquet", seed=7))
        assert first.column("fare_usd") != other.column("fare_usd")

    def test_row_groups_follow_chunks(self, tmp_path: Path) -> None:
        metadata = pq.read_metadata(generate(tmp_path / "a.parquet"))
        sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
        assert sizes == [2_000, 2_000, 1_000]


class TestCommandLine:
    def test_rows_flag_names_and_sizes_the_file(self, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
        assert cli.main(["data", "--rows", "2500", "--out", str(tmp_path)]) == 0
        path = tmp_path / "rides_2500.parquet"
        assert pq.read_metadata(path).num_rows == 2_500
        assert synthetic.read_stamp(path) == synthetic.stamp(2_500, synthetic.DEFAULT_SEED)
        assert "wrote" in capsys.readouterr().out

    def test_second_run_skips_an_up_to_date_file(self, tmp_path: Path, capsys) -> None:
        assert cli.main(["data", "--rows", "1k", "--out", str(tmp_path)]) == 0
        path = tmp_path / "rides_1k.parquet"
        written = path.stat().st_mtime_ns
        capsys.readouterr()
        assert cli.main(["data", "--rows", "1k", "--out", str(tmp_path)]) == 0
        assert "up to date" in capsys.readouterr().out
        assert path.stat().st_mtime_ns == written

    def test_force_and_stale_files_are_regenerated(self, tmp_path: Path) -> None:
        path = tmp_path / "rides_1k.parquet"
        path.write_bytes(b"not parquet")
        assert synthetic.read_stamp(path) is None
        assert cli.main(["data", "--rows", "1000", "--out", str(tmp_path)]) == 0
        assert pq.read_metadata(path).num_rows == 1_000
        written = path.stat().st_mtime_ns
        assert cli.main(["data", "--rows", "1000", "--out", str(tmp_path), "--force"]) == 0
        assert path.stat().st_mtime_ns != written

    @pytest.mark.parametrize("bad", ["0", "-5", "ten", "5x"])
    def test_rejects_bad_row_counts(self, bad: str, capsys) -> None:
        assert cli.main(["data", "--rows", bad]) == 2

    def test_no_temporary_files_left_behind(self, tmp_path: Path) -> None:
        synthetic.ensure_synthetic(1_000, tmp_path)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["rides_1k.parquet", "rides_1k.parquet.lock"]


@pytest.mark.parametrize(
    ("rows", "label"),
    [(10_000_000, "10m"), (1_000_000, "1m"), (250_000, "250k"), (1_500_000, "1500k"), (1234, "1234")],
)
def test_rows_label(rows: int, label: str) -> None:
    assert synthetic.rows_label(rows) == label
    assert synthetic.synthetic_path(rows, Path("x")) == Path("x") / f"rides_{label}.parquet"


def test_values_are_plausible(tmp_path: Path) -> None:
    frame = pq.read_table(generate(tmp_path / "a.parquet", rows=20_000)).to_pandas()
    assert frame["trip_id"].is_unique
    assert (frame["pickup_at"].dt.year == synthetic.YEAR).all()
    assert (frame["dropoff_at"] > frame["pickup_at"]).all()
    assert frame["pickup_lat"].between(40.4, 41.0).all()
    assert frame["pickup_lon"].between(-74.4, -73.5).all()
    assert (frame["fare_usd"] >= synthetic.MIN_FARE).all()
    assert frame["passengers"].between(1, 6).all()
    assert set(frame["service"]) == {s[0] for s in synthetic.SERVICES}
    assert (frame.loc[frame["payment"] == "Cash", "tip_usd"] == 0).all()
    # Weekday rush hours are busier than the small hours, and Manhattan dominates pickups.
    hours = frame["pickup_at"].dt.hour.value_counts()
    assert hours[18] > 3 * hours[4]
    assert frame["pickup_borough"].value_counts().idxmax() == "Manhattan"
    assert 10 < frame["fare_usd"].median() < 60
