#!/usr/bin/env bash
# Set up lumen-ext on a fresh machine: Python 3.11, root (or sudo), package registries only. Idempotent: a second
# run only checks. `--test` also installs what the test suite needs (Debian chromium and redis-server, test extras).
set -euo pipefail
cd "$(dirname "$0")/.."

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        as_root apt-get update -q >/dev/null
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

if [ "$with_tests" = 1 ]; then
    # The browser tests drive Debian's Chromium (Playwright never downloads a browser here); the shared-cache
    # tests start a real redis-server; the deployment test proxies a real session through nginx.
    apt_install chromium redis-server nginx-light
fi

python=$(command -v python3.11 || command -v python3)
[ -x .venv/bin/python ] || "$python" -m venv .venv
extras="all"
[ "$with_tests" = 1 ] && extras="all,test"
# constraints.txt pins the versions lumen-ext is tested with (Lumen 1.4.0's own stack).
.venv/bin/python -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[$extras]" 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }

# The example dashboards' large synthetic dataset is generated once, never committed.
.venv/bin/lumen-ext data
