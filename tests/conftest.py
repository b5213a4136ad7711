"""Fixtures shared by every test area."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.paths import CORPUS


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the Lumen spec corpus is missing: expected {CORPUS} beside the repository")
    return CORPUS
