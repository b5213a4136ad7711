"""The `lumen-ext` command line.

Each subcommand lives in its own module exposing ``configure(parser)`` and ``run(args) -> int``. Modules are
imported only when their subcommand is chosen, so `lumen-ext validate` never pays for Panel's import.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lumen_ext import __version__

# name -> (module, one-line help). Order is the order shown in --help.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("lumen_ext.validation.command", "check dashboard specs and report every error"),
    "lock": (
        "lumen_ext.validation.lock.command",
        "record each table's columns and types beside the spec, for validate when the data is away",
    ),
    "schema": ("lumen_ext.spec.command", "print the JSON Schema of lumen-ext specs"),
    "serve": ("lumen_ext.serving.command", "validate a spec, then serve it as a Panel app"),
    "precache": (
        "lumen_ext.serving.precache",
        "compute a dashboard's likely states into the shared cache tier",
    ),
    "explain": (
        "lumen_ext.serving.explain",
        "show each view's stages, where they run (SQL or pandas) and cache keys",
    ),
    "test": (
        "lumen_ext.gate.command",
        "serve specs headless and use every layout, control and download; check their data and budgets",
    ),
    "data": ("lumen_ext.data.command", "generate the synthetic datasets the example specs use"),
    "doctor": ("lumen_ext.serving.doctor", "list lumen-ext's run-time hooks and their state on this machine"),
}


def build_parser(argv: list[str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lumen-ext", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"lumen-ext {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        # Only the chosen subcommand's module is imported; the others just get their help line.
        if name == chosen:
            importlib.import_module(module).configure(sp)
            sp.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    return importlib.import_module(args._module).run(args)


if __name__ == "__main__":
    sys.exit(main())
