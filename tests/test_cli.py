"""The `lumen-ext` entry point: subcommands, help, version and usage errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

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
