"""`lumen-ext schema`: print the JSON Schema of Lumen dashboard specs (plugins included)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write the schema to FILE instead of stdout"
    )
    parser.add_argument(
        "--no-plugins",
        action="store_true",
        help="leave out components registered by other packages (the committed schemas/ file is built this way)",
    )


def run(args: argparse.Namespace) -> int:
    from lumen_ext.spec import schema

    text = json.dumps(schema.build(plugins=not args.no_plugins), indent=1, ensure_ascii=False) + "\n"
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0
