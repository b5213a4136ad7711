"""`lumen-ext lock` and what `lumen-ext validate` does with a lock file: real CSV, Parquet and DuckDB files in
tmp_path, the commands run in-process."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from support.paths import EXAMPLE_SPECS

from lumen_ext import __version__
from lumen_ext.cli import main
from lumen_ext.validation import Report, validate_file
from lumen_ext.validation.lock.column_types import duckdb_type
from lumen_ext.validation.lock.fingerprint import fingerprint
from lumen_ext.validation.lock.lockfile import dumps

SALES_CSV = "region,product,price,quantity\nEast,apples,1.5,10\nWest,pears,2.0,3\nEast,plums,3.25,7\n"

CSV_SPEC = """\
sources:
  shop:
    type: file
    tables:
      sales: data/sales.csv
layouts:
  - title: Sales
    source: shop
    views:
      - type: hvplot
        kind: bar
        x: {x}
        y: quantity
"""


def findings(report: Report) -> list[tuple[str, str]]:
    return sorted((d.rule, d.severity) for d in report.diagnostics)


def messages(report: Report, rule: str) -> list[str]:
    return [d.message for d in report.diagnostics if d.rule == rule]


def lock(capsys, *args: str) -> tuple[int, str]:
    code = main(["lock", *map(str, args)])
    return code, capsys.readouterr().out


@pytest.fixture
def csv_spec(tmp_path: Path) -> Path:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "sales.csv").write_text(SALES_CSV)
    spec = tmp_path / "shop.yaml"
    spec.write_text(CSV_SPEC.format(x="region"))
    return spec


def test_lock_records_columns_types_rows_and_a_fingerprint(capsys, csv_spec: Path) -> None:
    code, out = lock(capsys, csv_spec)
    assert code == 0
    assert "1 table locked: shop.sales (4 columns, 3 rows)" in out
    text = csv_spec.with_name("shop.lock.json").read_text()
    data = json.loads(text)
    assert list(data) == ["generated", "format", "lumen_ext", "sources"]
    assert "do not edit" in data["generated"] and "lumen-ext lock shop.yaml" in data["generated"]
    assert (data["format"], data["lumen_ext"]) == (1, __version__)
    entry = data["sources"]["shop"]["tables"]["sales"]
    assert entry["declared"] == {"table": "data/sales.csv"}
    assert entry["columns"] == {
        "region": "string",
        "product": "string",
        "price": "number",
        "quantity": "integer",
    }
    assert entry["rows"] == 3
    [file] = entry["fingerprint"]
    assert (file["file"], file["bytes"], file["of"]) == ("data/sales.csv", len(SALES_CSV), "content")
    # One column per line, so a diff of the lock shows which column changed.
    assert '  "quantity": "integer"\n' in text
    assert json.loads(dumps(data)) == data and dumps(data) == text
    assert lock(capsys, csv_spec)[1].startswith(f"{csv_spec.with_name('shop.lock.json')}: unchanged")


def test_a_misspelled_column_is_still_reported_when_the_data_is_moved_away(capsys, csv_spec: Path) -> None:
    assert lock(capsys, csv_spec)[0] == 0
    csv_spec.write_text(CSV_SPEC.format(x="regoin"))
    shutil.move(csv_spec.parent / "data", csv_spec.parent / "elsewhere")

    report = validate_file(csv_spec)
    assert findings(report) == [("missing-data-file", "error"), ("unknown-column", "error")]
    [missing] = [d for d in report.diagnostics if d.rule == "missing-data-file"]
    assert "pass --no-data" in missing.hint
    [unknown] = [d for d in report.diagnostics if d.rule == "unknown-column"]
    assert unknown.hint == "did you mean 'region'?" and unknown.line == 12
    assert "as locked in" in unknown.message

    # --no-data: the lock instead of the data, and nothing said about the absent file.
    report = validate_file(csv_spec, data=False)
    assert findings(report) == [("unknown-column", "error")]
    assert main(["validate", "--no-data", str(csv_spec)]) == 1
    capsys.readouterr()

    # Without a lock --no-data checks no column at all, as before.
    csv_spec.with_name("shop.lock.json").unlink()
    assert validate_file(csv_spec, data=False).diagnostics == []


def test_drift_a_used_column_dropped_is_an_error_the_rest_warnings(capsys, csv_spec: Path) -> None:
    assert lock(capsys, csv_spec)[0] == 0
    # `quantity` (a view's y) and `price` (unused) gone, `region` now numbers, `note` new.
    (csv_spec.parent / "data" / "sales.csv").write_text("region,product,note\n1,apples,a\n2,pears,b\n")

    report = validate_file(csv_spec)
    assert findings(report) == [
        ("lock-column-missing", "error"),
        ("lock-column-missing", "warning"),
        ("lock-stale", "warning"),
        ("lock-type-changed", "warning"),
        ("unknown-column", "error"),
    ]
    gone = {d.severity: d for d in report.diagnostics if d.rule == "lock-column-missing"}
    assert "`quantity`" in gone["error"].message and "the spec uses it (line 13)" in gone["error"].message
    assert "`price`" in gone["warning"].message and "uses" not in gone["warning"].message
    # At the table's name, where `lumen-ext lock` would be rerun for.
    assert {d.line for d in report.diagnostics if d.rule.startswith("lock-")} == {5}
    assert messages(report, "lock-type-changed") == [
        f"column `region` of table `sales` of source `shop` is integer in the data but string in "
        f"`{csv_spec.with_name('shop.lock.json')}`"
    ]
    assert "`note`" in messages(report, "lock-stale")[0]
    assert main(["validate", str(csv_spec)]) == 1
    capsys.readouterr()


def test_changed_content_with_the_same_columns_is_stale_and_check_fails(capsys, csv_spec: Path) -> None:
    assert lock(capsys, csv_spec)[0] == 0
    assert lock(capsys, "--check", csv_spec)[0] == 0
    with open(csv_spec.parent / "data" / "sales.csv", "a") as fh:
        fh.write("North,figs,4.0,2\n")

    report = validate_file(csv_spec)
    assert findings(report) == [("lock-stale", "warning")]
    assert (
        "changed since it was locked (`data/sales.csv`); its columns and types did not"
        in report.diagnostics[0].message
    )
    code, out = lock(capsys, "--check", csv_spec)
    assert code == 1
    assert "stale" in out and "table `sales` of source `shop`: rows changed; fingerprint changed" in out

    assert lock(capsys, csv_spec)[0] == 0
    assert lock(capsys, "--check", csv_spec)[0] == 0
    assert validate_file(csv_spec).diagnostics == []


def test_duckdb_database_tables_lock_drift_and_stand_in(capsys, tmp_path: Path) -> None:
    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "CREATE TABLE orders AS SELECT range AS id, 'x' || range AS item, range * 1.5 AS amount, "
            "DATE '2024-01-01' + range::INTEGER AS day FROM range(5)"
        )
    spec = tmp_path / "orders.yaml"
    spec.write_text(
        "sources:\n  db:\n    type: duckdb\n    uri: shop.duckdb\n    tables: [orders]\n"
        "layouts:\n  - title: Orders\n    source: db\n    views:\n      - type: hvplot\n        x: day\n        y: amount\n"
    )
    code, out = lock(capsys, spec)
    assert code == 0, out
    entry = json.loads(spec.with_name("orders.lock.json").read_text())["sources"]["db"]["tables"]["orders"]
    assert entry["columns"] == {"id": "integer", "item": "string", "amount": "number", "day": "datetime"}
    assert entry["rows"] == 5  # a stored table: DuckDB counts it from metadata
    assert [f["file"] for f in entry["fingerprint"]] == ["shop.duckdb"]
    assert validate_file(spec).diagnostics == []

    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE orders DROP COLUMN amount")
        con.execute("ALTER TABLE orders ALTER item TYPE INTEGER USING length(item)")
    report = validate_file(spec)
    assert findings(report) == [
        ("lock-column-missing", "error"),
        ("lock-type-changed", "warning"),
        ("unknown-column", "error"),
    ]

    # The database away (CI): the lock's columns, with a "did you mean".
    assert lock(capsys, spec)[0] == 0
    db.rename(tmp_path / "away.duckdb")
    spec.write_text(spec.read_text().replace("x: day", "x: dya").replace("y: amount", "y: id"))
    report = validate_file(spec, data=False)
    assert findings(report) == [("unknown-column", "error")]
    assert report.diagnostics[0].hint == "did you mean 'day'?"


def test_parquet_types_and_rows_come_from_the_footer(capsys, tmp_path: Path) -> None:
    path = tmp_path / "trips.parquet"
    table = pa.table(
        {"id": pa.array([1, None, 3], pa.int64()), "zone": pa.array(["a", "b", "a"]).dictionary_encode()}
    )
    pq.write_table(table, path)
    spec = tmp_path / "trips.yaml"
    spec.write_text(
        "sources:\n  rides:\n    type: file\n    tables:\n      trips: trips.parquet\n"
        "layouts:\n  - title: Trips\n    source: rides\n    views:\n      - type: table\n"
    )
    assert lock(capsys, spec)[0] == 0
    entry = json.loads(spec.with_name("trips.lock.json").read_text())["sources"]["rides"]["tables"]["trips"]
    # A missing value leaves an integer column integer; a dictionary-encoded column is a string column.
    assert entry["columns"] == {"id": "integer", "zone": "string"}
    assert entry["rows"] == 3
    assert entry["fingerprint"][0]["of"] == "footer"

    pq.write_table(pa.table({"id": ["1", "2", "3"], "zone": ["a", "b", "a"]}), path)
    assert messages(validate_file(spec), "lock-type-changed") == [
        f"column `id` of table `trips` of source `rides` is string in the data but integer in "
        f"`{spec.with_name('trips.lock.json')}`"
    ]


def test_a_table_declared_differently_is_not_checked_against_the_lock(capsys, csv_spec: Path) -> None:
    assert lock(capsys, csv_spec)[0] == 0
    csv_spec.write_text(CSV_SPEC.format(x="regoin").replace("data/sales.csv", "data/other.csv"))
    report = validate_file(csv_spec)
    # The locked columns were those of another file: no guess about this one's.
    assert findings(report) == [("lock-stale", "warning"), ("missing-data-file", "error")]
    assert "declared differently" in messages(report, "lock-stale")[0]


def test_tables_lumen_ext_cannot_read_are_recorded_with_the_reason(capsys, tmp_path: Path) -> None:
    (tmp_path / "sales.csv").write_text(SALES_CSV)
    spec = tmp_path / "mixed.yaml"
    spec.write_text(
        "sources:\n"
        "  local:\n    type: file\n    tables:\n      sales: sales.csv\n"
        "  remote:\n    type: file\n    tables:\n      live: https://example.org/live.csv\n"
        "  catalog:\n    type: intake\n    catalog:\n      sources:\n        cat:\n          driver: csv\n"
        "          args:\n            urlpath: sales.csv\n"
        "layouts:\n  - title: Sales\n    source: local\n    views:\n      - type: table\n"
    )
    code, out = lock(capsys, spec)
    assert code == 0, out
    sources = json.loads(spec.with_name("mixed.lock.json").read_text())["sources"]
    assert list(sources) == ["catalog", "local", "remote"]
    assert "remote and lumen-ext does not fetch data" in sources["remote"]["tables"]["live"]["unlocked"]
    assert (
        sources["catalog"]["tables"]["cat"]["unlocked"]
        == "lumen-ext does not read the data of `intake` sources"
    )
    assert "not locked: remote.live:" in out
    # The remote table is as without a lock: `data-unchecked` where a view reads it, and no lock-stale.
    assert validate_file(spec).diagnostics == []


def test_lock_refuses_to_write_without_the_data_and_check_needs_a_lock(capsys, csv_spec: Path) -> None:
    (csv_spec.parent / "data" / "sales.csv").unlink()
    code, out = lock(capsys, csv_spec)
    assert code == 1
    assert "error[missing-data-file]" in out and out.endswith("shop.lock.json: not written\n")
    assert not csv_spec.with_name("shop.lock.json").exists()
    (csv_spec.parent / "data" / "sales.csv").write_text(SALES_CSV)
    code, out = lock(capsys, "--check", csv_spec)
    assert code == 1 and "missing" in out


def test_usage_errors_exit_2(capsys, tmp_path: Path) -> None:
    assert main(["lock"]) == 2
    assert main(["lock", str(tmp_path / "nope.yaml")]) == 2
    assert main(["lock", str(tmp_path)]) == 2  # a folder without specs
    assert "no *.yaml or *.yml files" in capsys.readouterr().err


def test_a_lock_of_another_format_is_reported_not_used(capsys, csv_spec: Path) -> None:
    assert lock(capsys, csv_spec)[0] == 0
    path = csv_spec.with_name("shop.lock.json")
    path.write_text(path.read_text().replace('"format": 1', '"format": 2'))
    report = validate_file(csv_spec, data=False)
    assert findings(report) == [("lock-invalid", "error")]
    assert "format 2; this lumen-ext reads format 1" in report.diagnostics[0].message


def test_the_fingerprint_survives_a_copy_and_a_new_date(tmp_path: Path) -> None:
    """What a clone does to a committed lock's data: other path, other mtime and inode, same bytes."""
    parquet = tmp_path / "a" / "t.parquet"
    parquet.parent.mkdir()
    pq.write_table(pa.table({"x": [1, 2]}), parquet)
    (tmp_path / "a" / "t.csv").write_text(SALES_CSV)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    for path in (tmp_path / "b").iterdir():
        os.utime(path, (1_000_000_000, 1_000_000_000))
    files = ("t.csv", "t.parquet")
    assert fingerprint([tmp_path / "a" / f for f in files], tmp_path / "a") == fingerprint(
        [tmp_path / "b" / f for f in files], tmp_path / "b"
    )


@pytest.mark.parametrize(
    ("described", "kind"),
    [
        ("BIGINT", "integer"), ("UTINYINT", "integer"), ("DECIMAL(18,3)", "number"), ("DOUBLE", "number"),
        ("BOOLEAN", "boolean"), ("VARCHAR", "string"), ("ENUM('a', 'b')", "string"), ("DATE", "datetime"),
        ("TIMESTAMP WITH TIME ZONE", "datetime"), ("TIMESTAMP_NS", "datetime"), ("INTERVAL", "duration"),
        ("TIME", "other"), ("INTEGER[]", "other"), ("STRUCT(a INTEGER)", "other"), ("BLOB", "other"),
    ],
)  # fmt: skip
def test_duckdb_types(described: str, kind: str) -> None:
    assert duckdb_type(described) == kind


def test_the_committed_locks_of_the_example_specs_are_current(capsys, rides_10m: Path) -> None:
    """specs/*.lock.json are committed, as users are advised to commit theirs; regenerate with
    `lumen-ext lock specs/` when this fails."""
    code, out = lock(capsys, "--check", *EXAMPLE_SPECS)
    assert code == 0, out
    assert out.count(": current;") == len(EXAMPLE_SPECS)


def test_a_broken_lock_does_not_keep_the_dashboard_from_being_served(csv_spec: Path) -> None:
    """The server validates every session; the lock file describes the data for validate, nothing Lumen reads."""
    from lumen_ext.security.policy import load_policy
    from lumen_ext.serving.app import validation_error_view

    csv_spec.with_name("shop.lock.json").write_text("{")
    assert [d.rule for d in validate_file(csv_spec).diagnostics] == ["lock-invalid"]
    assert validation_error_view(csv_spec, True, load_policy(None)) is None
