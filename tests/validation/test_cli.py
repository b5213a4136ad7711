"""`lumen-ext validate` as a command: exit codes, path handling, options, and what it imports."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.paths import SPECS_DIR

from lumen_ext.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
VALID = EXAMPLES / "valid" / "full_featured.yaml"
INVALID = EXAMPLES / "invalid" / "08_missing_table.yaml"
WARNING_ONLY = EXAMPLES / "invalid" / "deprecated_key.yaml"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["validate", *argv])
    out, err = capsys.readouterr()
    return code, out, err


class TestExitStatus:
    def test_valid_spec_exits_0(self, capsys) -> None:
        code, out, _ = run(capsys, str(VALID))
        assert code == 0
        assert out == "1 file checked, no problems found\n"

    def test_errors_exit_1(self, capsys) -> None:
        code, out, _ = run(capsys, str(INVALID))
        assert code == 1
        assert "error[undefined-table]" in out

    def test_warnings_alone_exit_0(self, capsys) -> None:
        code, out, _ = run(capsys, str(WARNING_ONLY))
        assert code == 0
        assert "0 errors, 1 warning in 1 file" in out

    def test_missing_path_exits_2(self, capsys, tmp_path: Path) -> None:
        code, out, err = run(capsys, str(tmp_path / "nope.yaml"))
        assert (code, out) == (2, "")
        assert "no such file or directory" in err

    def test_no_path_exits_2(self, capsys) -> None:
        code, _, err = run(capsys)
        assert code == 2
        assert "give at least one PATH" in err

    def test_unknown_format_is_a_usage_error(self, capsys) -> None:
        code, _, err = run(capsys, "--format", "xml", str(VALID))
        assert code == 2
        assert "invalid choice" in err

    def test_binary_file_exits_2(self, capsys, tmp_path: Path) -> None:
        bad = tmp_path / "bad.yaml"
        bad.write_bytes(b"\xff\xfe\x00garbage")
        code, _, err = run(capsys, str(bad))
        assert code == 2
        assert "bad.yaml" in err

    def test_directory_without_specs_exits_2(self, capsys, tmp_path: Path) -> None:
        code, _, err = run(capsys, str(tmp_path))
        assert code == 2
        assert "no *.yaml or *.yml files" in err


def test_directories_are_searched_recursively(capsys, tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "a" / "one.yaml").write_text("layouts: []\n")
    (tmp_path / "a" / "b" / "two.yml").write_text("layouts: []\n")
    (tmp_path / "a" / "notes.txt").write_text("not a spec")
    (tmp_path / ".hidden" / "three.yaml").write_text("{{{")
    code, out, _ = run(capsys, "--format", "json", str(tmp_path))
    files = json.loads(out)["files"]
    assert code == 0
    assert [Path(f).name for f in files] == ["one.yaml", "two.yml"]  # hidden folders are skipped


def test_every_error_of_every_file_is_reported(capsys) -> None:
    code, out, _ = run(
        capsys, "--format", "json", str(INVALID), str(EXAMPLES / "invalid" / "14_multiple_errors.yaml")
    )
    payload = json.loads(out)
    assert code == 1
    assert payload["summary"] == {"errors": 6, "warnings": 0}


def test_no_data_skips_the_data_checks(capsys) -> None:
    spec = EXAMPLES / "invalid" / "10_bad_filter_field.yaml"
    assert run(capsys, str(spec))[0] == 1
    code, out, _ = run(capsys, "--no-data", str(spec))
    assert code == 0, out


def test_list_rules(capsys) -> None:
    code, out, _ = run(capsys, "--list-rules")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["yaml-syntax", "error"]
    assert any(line.split()[:2] == ["duckdb-cwd", "warning"] for line in lines)


class TestColour:
    def test_no_colour_when_not_a_terminal(self, capsys) -> None:
        _, out, _ = run(capsys, str(INVALID))
        assert "\x1b[" not in out

    def test_force_colour(self, capsys, monkeypatch) -> None:
        monkeypatch.delenv("NO_COLOR", raising=False)
        monkeypatch.setenv("FORCE_COLOR", "1")
        _, out, _ = run(capsys, str(INVALID))
        assert "\x1b[1;31merror[undefined-table]\x1b[0m" in out

    def test_no_color_wins(self, capsys, monkeypatch) -> None:
        monkeypatch.setenv("FORCE_COLOR", "1")
        monkeypatch.setenv("NO_COLOR", "1")
        _, out, _ = run(capsys, str(INVALID))
        assert "\x1b[" not in out


HEAVY = ("panel", "bokeh", "holoviews", "hvplot", "lumen", "pandas", "pydantic", "jinja2")


def test_validate_imports_no_heavy_library() -> None:
    """The fast path: checking a spec (data checks included) never imports Panel, Bokeh, HoloViews or Lumen.

    Nor pandas, with a current lock file (earthquakes.lock.json): its fingerprint matches, so the data's types
    are not parsed. A checks file beside the spec (earthquakes.checks) brings pydantic, its models' library, and
    nothing else."""
    probe = (
        "import sys\n"
        "from lumen_ext.cli import main\n"
        "for spec in sys.argv[1:]:\n"
        "    code = main(['validate', spec])\n"
        f"    heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "    print('HEAVY', heavy, code, file=sys.stderr)\n"
    )
    locked = SPECS_DIR / "earthquakes.yaml"
    assert locked.with_name("earthquakes.lock.json").is_file()
    assert locked.with_name("earthquakes.checks").is_file()
    assert not VALID.with_suffix(".checks").exists()
    proc = subprocess.run(
        [sys.executable, "-c", probe, str(VALID), str(locked)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "HEAVY [] 0\nHEAVY ['pydantic'] 0\n" in proc.stderr, proc.stderr


def test_console_script_runs(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "lumen_ext", "validate", "--format", "github", str(INVALID)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stdout.startswith("::error file=")


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_every_format_reports_the_same_exit_status(capsys, fmt: str) -> None:
    assert run(capsys, "--format", fmt, str(INVALID))[0] == 1
    assert run(capsys, "--format", fmt, str(VALID))[0] == 0
