#!/usr/bin/env bash
# Install what the tests need (Python packages into .venv, Debian chromium and redis-server), then run them all.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest "$@"
