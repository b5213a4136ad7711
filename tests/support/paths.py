"""Where things are, for every test area."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "lumen-corpus"
TEST_OUTPUT = REPO / "test-output"
SPECS_DIR = REPO / "specs"
EXAMPLE_SPECS = sorted(SPECS_DIR.glob("*.yaml"))
