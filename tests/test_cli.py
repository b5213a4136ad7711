"""The `lumen-ext` entry point: subcommands, help, version and usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.paths import SPECS_DIR

from lumen_ext import __version__
from lumen_ext.cli import SUBCOMMANDS, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lumen_ext", *args], capture_output=True, text=True, timeout=60
    )


def test_no_command_prints_help_and_is_a_usage_error(capsys):
    assert main([]) == 2
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert name in out


def test_unknown_command_is_a_usage_error():
    result = run("valdate")
    assert result.returncode == 2
    assert "invalid choice: 'valdate'" in result.stderr


def test_version():
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"lumen-ext {__version__}"


@pytest.mark.parametrize("name", list(SUBCOMMANDS))
def test_every_subcommand_has_help(name):
    result = run(name, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: lumen-ext {name}")


def test_help_lists_commands_without_importing_them():
    """Listing commands must not import a subcommand module (serve would pull in Panel)."""
    code = (
        "import sys\n"
        "from lumen_ext.cli import build_parser\n"
        "build_parser(['--help'])\n"
        "print(sorted(m for m in sys.modules if m.startswith(('lumen_ext.', 'panel', 'bokeh'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "['lumen_ext.cli']", result.stdout


def _same_name_twice(tmp_path) -> list[str]:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "penguins.yaml").write_text((SPECS_DIR / "penguins.yaml").read_text())
    return [str(tmp_path / "a" / "penguins.yaml"), str(tmp_path / "b" / "penguins.yaml")]


SERVE_USAGE_ERRORS = [
    pytest.param(lambda tmp: [str(SPECS_DIR / "nope.yaml")], "no such spec file: ", id="missing-spec"),
    pytest.param(_same_name_twice, "two specs have the same name", id="same-name"),
    pytest.param(
        lambda tmp: [str(SPECS_DIR / "penguins.yaml"), "--public-url", "dash.example.org"],
        "--public-url must be an absolute http:// or https:// URL",
        id="public-url-without-scheme",
    ),
    pytest.param(
        lambda tmp: [str(SPECS_DIR / "penguins.yaml"), "--reload", "--num-procs", "2"],
        "--reload serves from one process",
        id="reload-with-workers",
    ),
]


@pytest.mark.parametrize(("args", "message"), SERVE_USAGE_ERRORS)
def test_serve_usage_errors_exit_2_before_serving(capsys, tmp_path, args, message):
    """Checked before the allocator's re-execution, Panel's import and the working directory change."""
    assert main(["serve", *args(tmp_path)]) == 2
    assert message in capsys.readouterr().err
