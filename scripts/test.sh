#!/usr/bin/env bash
# Install what the tests need (Python packages into .venv; Debian chromium, redis-server and nginx-light), then run
# them all, one pytest worker per CPU (the browser tests spend most of their time waiting on servers and pages).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
exec .venv/bin/python -m pytest -n auto "$@"
