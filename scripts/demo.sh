#!/usr/bin/env bash
# Install what the demo needs, then serve the main example dashboard on http://127.0.0.1:5006/earthquakes
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/lumen-ext serve specs/earthquakes.yaml --port 5006 "$@"
