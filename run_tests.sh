#!/usr/bin/env bash
# Run the test suite: ./run_tests.sh [pytest options]   (sets up .venv on first use)
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
cd "$root"
exec "$python" -m pytest "$@"
