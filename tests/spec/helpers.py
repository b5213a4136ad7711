"""Shared helpers for the spec tests: load corpus specs the way Lumen reads them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jinja2
import yaml
from support.paths import CORPUS

SPECS = json.loads((CORPUS / "manifest.json").read_text())["specs"] if CORPUS.is_dir() else []
SPEC_IDS = [s["id"] for s in SPECS]


def load_spec_text(text: str) -> Any:
    """Lumen renders the file with Jinja2 (DebugUndefined: unknown `{{ x }}` stays as text), then parses YAML."""
    rendered = jinja2.Environment(undefined=jinja2.DebugUndefined).from_string(text).render()
    return yaml.load(rendered, Loader=yaml.SafeLoader)


def load_corpus_spec(entry: dict[str, Any]) -> Any:
    return load_spec_text(Path(CORPUS / entry["path"]).read_text(encoding="utf-8"))
