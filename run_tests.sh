#!/usr/bin/env bash
# Run the test suite: ./run_tests.sh [pytest options]   (sets up .venv on first use)
set -euo pipefail
source "$(dirname "$0")/src/venv.sh"
cd "$root"
# A test process per core, each test file in one of them (its module fixtures are made once); -n 0 runs in one.
exec "$python" -m pytest --numprocesses "$(nproc)" --dist loadfile "$@"
